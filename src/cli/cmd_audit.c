/* cmd_audit.c — `switchyard audit`: list audit records, and verify the whole hash chain locally. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/table.h"
#include "core/audit.h"

#define VERIFY_PAGE 1000

static const char audit_usage[] =
    "usage: switchyard audit [--limit N] [--name NAME] [--json]\n"
    "       switchyard audit verify [--json]\n"
    "\n"
    "Lists audit records, newest first: SEQ TIME ACTOR ACTION NAME OLD→NEW REASON\n"
    "(the --reason of the change, \"-\" if none, cut to 60 characters; --json has it whole).\n"
    "'audit verify' fetches every record and recomputes the hash chain locally.\n"
    "Needs an admin token.\n"
    "\n"
    "options:\n"
    "  --limit N     at most N records, 1..1000 (server default 100)\n"
    "  --name NAME   only records about NAME\n"
    "  --json        print the server's JSON\n";

static const char verify_usage[] =
    "usage: switchyard audit verify [--json]\n"
    "\n"
    "Pages through every audit record (oldest first), recomputes each record's hash,\n"
    "and checks that each prev_hash is the hash of the record before. Prints\n"
    "\"audit chain ok: N records\" and exits 0, or names the first broken record and\n"
    "exits 1.\n";

/* "3" or "-" for a version member that is absent, null or 0. */
static void version_text(const json_t *rec, const char *key, char *out, size_t cap) {
  int64_t v = sy__jint(rec, key);
  if (v)
    snprintf(out, cap, "%" PRId64, v);
  else
    snprintf(out, cap, "-");
}

/* Starts the URL of one page of audit records; NULL arguments are left out of the query. */
static void audit_url(sy__url *u, const char *order, const char *after, const char *limit, const char *name) {
  sy__url_init(u, "/api/v1/admin/audit");
  sy__url_query(u, "order", order);
  sy__url_query(u, "after", after);
  sy__url_query(u, "limit", limit);
  sy__url_query(u, "name", name);
}

/* The answer's "records" array (borrowed) in *out; SY_EINTERNAL, printed, if there is none. */
static sy_rc audit_records(const json_t *answer, json_t **out) {
  *out = json_object_get(answer, "records");
  if (json_is_array(*out)) return SY_OK;
  sy__err("the server's answer has no \"records\" array");
  return SY_EINTERNAL;
}

static sy_rc record_row(sy__table *t, const json_t *e) {
  char seq[24], oldv[24], newv[24], change[64], reason[SY__REASON_CELL_BYTES];
  snprintf(seq, sizeof seq, "%" PRId64, sy__jint(e, "seq"));
  version_text(e, "old_version", oldv, sizeof oldv);
  version_text(e, "new_version", newv, sizeof newv);
  snprintf(change, sizeof change, "%s→%s", oldv, newv);
  sy__reason_cell(e, reason, sizeof reason);
  const char *row[] = {
      seq, sy__jstr(e, "time"), sy__jstr(e, "actor"), sy__jstr(e, "action"), sy__jstr(e, "name"), change, reason};
  return sy__table_row(t, row);
}

/* Tabulates the records of a list answer. */
static sy_rc show_records(const json_t *answer, void *ctx) {
  static const char *const head[] = {"SEQ", "TIME", "ACTOR", "ACTION", "NAME", "OLD→NEW", "REASON"};
  json_t *recs;
  (void)ctx;
  sy_rc rc = audit_records(answer, &recs);
  return rc ? rc : sy__table_print_rows(7, head, recs, record_row, stdout);
}

static int audit_list(sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *limit = NULL, *name = NULL;
  const sy__opt opts[] = {
      {"--limit", "-n", SY__OPT_VALUE, &limit},
      {"--name", NULL, SY__OPT_VALUE, &name},
      {0},
  };
  sy__url u;
  int64_t n = 0;

  sy__parse p = sy__args(cli, argc, argv, audit_usage, opts, pos, &npos, 0, 0);
  if (p) return sy__parse_exit(p);
  if (limit && sy__parse_i64(limit, 1, 1000, &n))
    return sy__misuse(audit_usage, "audit: --limit needs a number in 1..1000");
  audit_url(&u, NULL, NULL, limit, name);
  return sy__exit_of(sy__call(cli, "GET", &u, NULL, show_records, NULL));
}

/* A string member that may be absent or null: NULL then, which the hash reads as "". */
static const char *opt_str(const json_t *rec, const char *key) {
  const json_t *v = json_object_get(rec, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Checks one record of the answer against the chain so far (core's walk, the one the server's
 * verify makes); on the first break, c says where and why. */
static void chain_check(sy_audit_chain *c, const json_t *e) {
  sy_audit_rec rec = {
      .seq = sy__jint(e, "seq"),
      .time = opt_str(e, "time"),
      .actor = opt_str(e, "actor"),
      .action = opt_str(e, "action"),
      .name = opt_str(e, "name"),
      .old_version = sy__jint(e, "old_version"),
      .new_version = sy__jint(e, "new_version"),
      .old_digest = opt_str(e, "old_digest"),
      .new_digest = opt_str(e, "new_digest"),
      .reason = opt_str(e, "reason"),
      .detail = opt_str(e, "detail"),
      .prev_hash = opt_str(e, "prev_hash"),
  };
  if (!json_is_integer(json_object_get(e, "seq"))) rec.seq = 0; /* never follows */
  sy__audit_chain_next(c, &rec, opt_str(e, "hash"));
}

static int audit_verify(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__resp r = {0};
  json_t *out_json = NULL;
  sy_audit_chain c;
  int broken = 0;

  sy__parse p = sy__args(cli, argc, argv, verify_usage, NULL, pos, &npos, 0, 0);
  if (p) return sy__parse_exit(p);
  sy__audit_chain_init(&c);

  for (;;) {
    char after[24], limit[24];
    sy__url u;
    json_t *recs;
    snprintf(after, sizeof after, "%" PRId64, c.last_seq);
    snprintf(limit, sizeof limit, "%d", VERIFY_PAGE);
    audit_url(&u, "asc", after, limit, NULL);
    rc = sy__http_url(cli, "GET", &u, NULL, &r);
    if (rc) goto out;
    rc = audit_records(r.json, &recs);
    if (rc) goto out;
    size_t i;
    json_t *e;
    json_array_foreach(recs, i, e) {
      chain_check(&c, e);
      if (c.broken_seq) break;
    }
    if (c.broken_seq) break;
    /* A short page with no "next" is the end; a full page is followed even if the server
     * forgot "next", so a paging bug cannot make a partial check look complete. */
    json_t *next = json_object_get(r.json, "next");
    int has_next = next && !json_is_null(next);
    size_t got = json_array_size(recs);
    sy__resp_free(&r); /* frees recs and next */
    if (got == 0 || (!has_next && got < VERIFY_PAGE)) break;
  }

  broken = c.broken_seq != 0;
  if (cli->json) {
    out_json = broken ? json_pack("{s:b,s:I,s:I,s:s}", "ok", 0, "records", (json_int_t)c.records, "first_broken_seq",
                                  (json_int_t)c.broken_seq, "message", c.why)
                      : json_pack("{s:b,s:I}", "ok", 1, "records", (json_int_t)c.records);
    if (!out_json) {
      sy__err("out of memory");
      rc = SY_ENOMEM;
      goto out;
    }
    rc = sy__print_json(out_json);
    if (rc) goto out;
  } else if (!broken) {
    printf("audit chain ok: %" PRId64 " records\n", c.records);
  }
  if (broken) {
    sy__err("audit chain broken at seq %" PRId64 ": %s", c.broken_seq, c.why);
    rc = SY_EINTERNAL;
  }
out:
  json_decref(out_json);
  sy__resp_free(&r);
  return sy__exit_of(rc);
}

int sy__cmd_audit(sy__cli *cli, int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "verify") == 0) return audit_verify(cli, argc - 1, argv + 1);
  return audit_list(cli, argc, argv);
}
