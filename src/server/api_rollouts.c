/* api_rollouts.c — /api/v1/rollouts: create, read, replace and delete rollout plans, and a
 * person's commands on them (docs/ROLLOUTS.md, "API"). The plan is a document like any other
 * (kind Rollout); its state is written by the controller (control/controller.c), which
 * also answers the status. */
#include "server/api_rollouts.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/controller.h"
#include "core/rollout.h"

/* Creates and replacements check "one plan per target" and write in one critical section,
 * so that two at once cannot both pass the check. */
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;

static enum MHD_Result not_found(sy_req *r, const char *name) {
  return sy__reply_error(r, 404, "RolloutNotFound", "no rollout plan named %.64s", name);
}

typedef struct holder {
  char name[SY_ROLLOUT_NAME_MAX + 1];
  const char *target_id;
  const char *except;
} holder;

/* The plan (other than except) that holds target_id: one whose state is active, or that has
 * not started yet. */
static int find_holder(void *ctx, const sy_param *p) {
  holder *h = ctx;
  const sy_ver *v = p->latest;
  if (!v || v->kind != SY_KIND_ROLLOUT || !v->compiled) return 0;
  const sy_rollout *pl = v->compiled->obj;
  if (!strcmp(pl->name, h->except) || strcmp(pl->target_id, h->target_id)) return 0;
  snprintf(h->name, sizeof h->name, "%s", pl->name);
  return 1;
}

/* Checks, on the current snapshot, what a plan needs to be written: its target exists and no
 * other plan that has not ended holds it. 0, or the reply queued and -1. */
static int check_target(sy_req *r, const sy_rollout *p) {
  const sy_snap *s = sy__snap_enter(r->srv->store);
  char name[SY_NAME_MAX + 2];
  snprintf(name, sizeof name, "%s%s", p->is_flag ? "/" : "", p->is_flag ? p->flag : p->route);
  const sy_param *tp = sy__snap_get(s, name, strlen(name));
  sy_kind want = p->is_flag ? SY_KIND_FLAG : SY_KIND_ROUTE;
  int missing = !tp || !tp->latest || tp->latest->kind != want;
  holder h = {.target_id = p->target_id, .except = p->name};
  sy__snap_list(s, SY_ROLLOUTS_PREFIX, 0, NULL, find_holder, &h);
  int held = 0; /* a plan that ended (its state says so) no longer holds the target */
  if (h.name[0]) {
    char sn[SY_NAME_MAX + 2];
    snprintf(sn, sizeof sn, "%s%s", SY_ROLLOUT_STATE_PREFIX, h.name);
    const sy_param *sp = sy__snap_get(s, sn, strlen(sn));
    const sy_rollout_state *st = sp && sp->latest && sp->latest->kind == SY_KIND_ROLLOUT_STATE && sp->latest->compiled
                                     ? sp->latest->compiled->obj
                                     : NULL;
    held = !st || sy__phase_active(st->phase);
  }
  sy__snap_leave(r->srv->store);
  if (missing) {
    sy__reply_error(r, 400, "ValidationException", "target.%s: no %s named %.200s", p->is_flag ? "flag" : "route",
                    p->is_flag ? "flag" : "route", p->is_flag ? p->flag : p->route);
    return -1;
  }
  if (held) {
    sy__reply_error(r, 409, "TargetInUse", "plan %s already drives %s %.200s%s%s; abort it or wait for it to end",
                    h.name, p->is_flag ? "flag" : "route", p->is_flag ? p->flag : p->route,
                    p->is_flag ? "" : " for provider ", p->is_flag ? "" : p->provider);
    return -1;
  }
  return 0;
}

/* Reads and compiles the plan in body.plan for plan name. NULL with the reply queued. */
static sy_rollout *plan_from(sy_req *r, json_t *body, const char *name, char **text) {
  *text = NULL;
  const json_t *plan = json_object_get(body, "plan");
  if (!json_is_object(plan)) {
    sy__reply_error(r, 400, "ValidationException", "plan: required, the plan document (an object)");
    return NULL;
  }
  *text = json_dumps(plan, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!*text) {
    sy__reply_error(r, 500, "InternalError", "out of memory");
    return NULL;
  }
  if (strlen(*text) > SY_ROLLOUT_DOC_MAX) {
    sy__reply_error(r, 413, "ValidationException", "plan: %zu bytes; the limit is %d", strlen(*text),
                    SY_ROLLOUT_DOC_MAX);
    free(*text);
    *text = NULL;
    return NULL;
  }
  char key[SY_NAME_MAX + 2], msg[SY_MSG_MAX];
  snprintf(key, sizeof key, "%s%s", &SY_ROLLOUTS_PREFIX[1], name);
  sy_rollout *p = NULL;
  if (sy__rollout_compile(key, *text, strlen(*text), &p, msg, sizeof msg)) {
    sy__reply_error(r, 400, "ValidationException", "plan.%s", msg);
    free(*text);
    *text = NULL;
    return NULL;
  }
  return p;
}

/* Writes the plan document (if_version: -1 any, 0 must not exist) and answers its status. */
static enum MHD_Result write_plan(sy_req *r, const char *name, const char *text, int64_t if_version, int status) {
  char doc[SY_NAME_MAX + 2];
  snprintf(doc, sizeof doc, "%s%s", SY_ROLLOUTS_PREFIX, name);
  sy_op op = {.kind = SY_OP_PUT,
              .actor = r->actor,
              .reason = if_version == 0 ? "rollout plan created" : "rollout plan replaced"};
  op.put = (sy_put){.name = doc,
                    .name_len = strlen(doc),
                    .value = text,
                    .value_len = strlen(text),
                    .kind = SY_KIND_ROLLOUT,
                    .overwrite = 1,
                    .if_version = if_version};
  sy_rc rc = sy__store_submit_wait(r->srv->store, &op);
  if (!rc) rc = op.rc;
  char msg[SY_MSG_MAX];
  snprintf(msg, sizeof msg, "%s", op.msg);
  sy__op_clear(&op);
  if (rc == SY_ECONFLICT && if_version == 0)
    return sy__reply_error(r, 409, "Conflict", "a rollout plan named %.64s exists; PUT replaces it", name);
  if (rc) return sy__reply_rc(r, rc, msg);
  json_t *st = sy__controller_status(r->srv->controller, name); /* judged now: it starts now */
  if (!st) return sy__reply_error(r, 500, "InternalError", "the plan was written but cannot be read back");
  return sy__reply_json(r, status, st);
}

static enum MHD_Result create(sy_req *r) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "") || sy__parse_body(r)) return MHD_YES;
  static const char *const keys[] = {"name", "plan", "reason", NULL};
  const char *k;
  json_t *v;
  json_object_foreach(r->json, k, v) {
    int ok = 0;
    for (int i = 0; keys[i] && !ok; i++) ok = !strcmp(keys[i], k);
    if (!ok) return sy__reply_error(r, 400, "ValidationException", "unknown field \"%.64s\"; one of name, plan", k);
  }
  const json_t *nm = json_object_get(r->json, "name");
  if (!json_is_string(nm) || !sy__rollout_name_ok(json_string_value(nm)))
    return sy__reply_error(r, 400, "ValidationException", "name: required, 1 to %d of A-Z a-z 0-9 _ . -",
                           SY_ROLLOUT_NAME_MAX);
  const char *name = json_string_value(nm);
  char *text;
  sy_rollout *p = plan_from(r, r->json, name, &text);
  if (!p) return MHD_YES;
  pthread_mutex_lock(&write_mu);
  enum MHD_Result res = MHD_YES;
  if (!check_target(r, p)) res = write_plan(r, name, text, 0, 201);
  pthread_mutex_unlock(&write_mu);
  sy__rollout_free(p);
  free(text);
  return res;
}

static const sy_ver *plan_ver(const sy_snap *s, const char *name) {
  char doc[SY_NAME_MAX + 2];
  snprintf(doc, sizeof doc, "%s%s", SY_ROLLOUTS_PREFIX, name);
  const sy_param *p = sy__snap_get(s, doc, strlen(doc));
  return p && p->latest && p->latest->kind == SY_KIND_ROLLOUT && p->latest->compiled ? p->latest : NULL;
}

static enum MHD_Result replace(sy_req *r, const char *name) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "") || sy__parse_body(r)) return MHD_YES;
  char *text;
  sy_rollout *p = plan_from(r, r->json, name, &text);
  if (!p) return MHD_YES;
  pthread_mutex_lock(&write_mu);
  enum MHD_Result res = MHD_YES;
  const sy_snap *s = sy__snap_enter(r->srv->store);
  const sy_ver *v = plan_ver(s, name);
  int64_t version = v ? v->version : 0;
  int moved = v && strcmp(((const sy_rollout *)v->compiled->obj)->target_id, p->target_id);
  sy__snap_leave(r->srv->store);
  if (!version)
    res = not_found(r, name);
  else if (moved)
    res = sy__reply_error(r, 409, "Conflict", "plan %.64s: its target cannot change; create another plan", name);
  else if (!check_target(r, p))
    res = write_plan(r, name, text, version, 200);
  pthread_mutex_unlock(&write_mu);
  sy__rollout_free(p);
  free(text);
  return res;
}

static sy_rc delete_doc(sy_req *r, const char *doc, char *msg, size_t msgsz) {
  sy_op op = {.kind = SY_OP_DELETE, .actor = r->actor, .reason = "rollout plan deleted"};
  op.put.name = doc;
  op.put.name_len = strlen(doc);
  sy_rc rc = sy__store_submit_wait(r->srv->store, &op);
  if (!rc) rc = op.rc;
  snprintf(msg, msgsz, "%s", op.msg);
  sy__op_clear(&op);
  return rc;
}

static enum MHD_Result remove_plan(sy_req *r, const char *name) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "")) return MHD_YES;
  json_t *st = sy__controller_status(r->srv->controller, name);
  if (!st) return not_found(r, name);
  char phase[32];
  snprintf(phase, sizeof phase, "%s",
           json_string_value(json_object_get(st, "phase")) ? json_string_value(json_object_get(st, "phase")) : "");
  int active = (!strcmp(phase, "running") || !strcmp(phase, "paused") || !strcmp(phase, "rolling_back") ||
                !strcmp(phase, "awaiting_approval"));
  int holds = json_is_number(json_object_get(st, "percent")) && json_number_value(json_object_get(st, "percent")) > 0;
  json_decref(st);
  if (active && holds)
    return sy__reply_error(r, 409, "Conflict",
                           "plan %.64s is %s and holds its target above 0%%; abort it or roll it back first", name,
                           phase);
  char doc[SY_NAME_MAX + 2], msg[SY_MSG_MAX];
  snprintf(doc, sizeof doc, "%s%s", SY_ROLLOUT_STATE_PREFIX, name);
  sy_rc rc = delete_doc(r, doc, msg, sizeof msg);
  if (rc && rc != SY_ENOTFOUND) return sy__reply_rc(r, rc, msg);
  snprintf(doc, sizeof doc, "%s%s", SY_ROLLOUTS_PREFIX, name);
  rc = delete_doc(r, doc, msg, sizeof msg);
  if (rc == SY_ENOTFOUND) return not_found(r, name);
  if (rc) return sy__reply_rc(r, rc, msg);
  return sy__reply_json(r, 200, json_pack("{ss sb}", "name", name, "deleted", 1));
}

static enum MHD_Result command(sy_req *r, const char *name, const char *cmd) {
  if (sy__require(r, SY_SCOPE_WRITE) || sy__query_only(r, "")) return MHD_YES;
  const char *reason = NULL;
  int gradual = 0;
  if (r->body_len) {
    if (sy__parse_body(r)) return MHD_YES;
    const char *k;
    json_t *v;
    json_object_foreach(r->json, k, v) {
      if (strcmp(k, "reason") && strcmp(k, "gradual"))
        return sy__reply_error(r, 400, "ValidationException", "unknown field \"%.64s\"; one of reason, gradual", k);
    }
    if (sy__field_str(r, r->json, "", "reason", &reason, NULL) || sy__field_bool(r, r->json, "", "gradual", &gradual))
      return MHD_YES;
    if (reason && strlen(reason) > 256)
      return sy__reply_error(r, 400, "ValidationException", "reason: at most 256 bytes");
    if (gradual && strcmp(cmd, "rollback"))
      return sy__reply_error(r, 400, "ValidationException", "gradual: only for rollback");
  }
  json_t *st = NULL;
  char msg[SY_MSG_MAX];
  sy_rc rc = sy__controller_command(r->srv->controller, name, cmd, gradual, r->actor ? r->actor : "unknown", reason,
                                    &st, msg, sizeof msg);
  if (rc == SY_ENOTFOUND) return not_found(r, name);
  if (rc == SY_ECONFLICT) return sy__reply_error(r, 409, "Conflict", "%s", msg);
  if (rc == SY_EINVAL) return sy__reply_error(r, 400, "ValidationException", "%s", msg);
  if (rc) return sy__reply_rc(r, rc, msg);
  if (!st) return sy__reply_error(r, 500, "InternalError", "the command was written but the plan cannot be read back");
  return sy__reply_json(r, 200, st);
}

enum MHD_Result sy__api_rollouts(sy_req *r, const char *rest) {
  if (!*rest || !strcmp(rest, "/")) {
    if (!strcmp(r->method, "GET")) {
      if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
      json_t *list = sy__controller_list(r->srv->controller);
      if (!list) return sy__reply_error(r, 500, "InternalError", "out of memory");
      return sy__reply_json(r, 200, json_pack("{so}", "rollouts", list));
    }
    if (!strcmp(r->method, "POST")) return create(r);
    return sy__reply_error(r, 405, "MethodNotAllowed", "/api/v1/rollouts answers GET and POST");
  }
  /* /NAME or /NAME/COMMAND: the name is checked byte by byte, never decoded */
  const char *p = rest + 1, *slash = strchr(p, '/');
  size_t n = slash ? (size_t)(slash - p) : strlen(p);
  char name[SY_ROLLOUT_NAME_MAX + 1];
  if (!n || n > SY_ROLLOUT_NAME_MAX) return sy__reply_error(r, 404, "RolloutNotFound", "no rollout plan named that");
  memcpy(name, p, n);
  name[n] = 0;
  if (!sy__rollout_name_ok(name))
    return sy__reply_error(r, 400, "ValidationException", "a plan's name is 1 to %d of A-Z a-z 0-9 _ . -",
                           SY_ROLLOUT_NAME_MAX);
  if (!slash) {
    if (!strcmp(r->method, "GET")) {
      if (sy__require(r, SY_SCOPE_READ) || sy__query_only(r, "")) return MHD_YES;
      json_t *st = sy__controller_status(r->srv->controller, name);
      return st ? sy__reply_json(r, 200, st) : not_found(r, name);
    }
    if (!strcmp(r->method, "PUT")) return replace(r, name);
    if (!strcmp(r->method, "DELETE")) return remove_plan(r, name);
    return sy__reply_error(r, 405, "MethodNotAllowed", "%.200s answers GET, PUT and DELETE", r->path);
  }
  static const char *const cmds[] = {"promote", "pause", "resume", "abort", "rollback", "start", NULL};
  const char *cmd = slash + 1;
  for (int i = 0; cmds[i]; i++)
    if (!strcmp(cmd, cmds[i])) {
      if (strcmp(r->method, "POST")) return sy__reply_error(r, 405, "MethodNotAllowed", "%.200s answers POST", r->path);
      return command(r, name, cmds[i]);
    }
  return sy__reply_error(r, 404, "NotFound",
                         "no route for %.200s; a plan's commands are promote, pause, resume, abort, rollback, start",
                         r->path);
}
