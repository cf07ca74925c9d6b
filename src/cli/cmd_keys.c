/* cmd_keys.c — `switchyard keys create|list|revoke`: SigV4 access keys for the SSM API, through the admin endpoints. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/table.h"

#define SCOPE_MAX 16 /* longest scope name we accept from --scope */

static const char *const scopes[] = {"read", "write", "admin", "decrypt", NULL};

static const char keys_usage[] =
    "usage: switchyard keys SUBCOMMAND [ARGS...]\n"
    "\n"
    "subcommands:\n"
    "  create NAME --scope SCOPE... [--decrypt]  make an access key and print its secret (shown once)\n"
    "  list                                      NAME ACCESS_KEY_ID SCOPES CREATED REVOKED\n"
    "  revoke NAME                               revoke an access key\n"
    "\n"
    "Access keys sign requests to the AWS-SSM-compatible API (SigV4), e.g. with the aws CLI:\n"
    "  aws ssm get-parameter --endpoint-url URL --name /a/b\n"
    "Needs an admin token.\n";

static const char create_usage[] =
    "usage: switchyard keys create NAME --scope read|write|admin [--decrypt] [--json]\n"
    "\n"
    "Makes an access key and prints its id and secret, with export lines for\n"
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the server never shows the secret again.\n"
    "write implies read, admin implies write. Repeat --scope or comma-separate for several\n"
    "(--scope read,write). --decrypt adds the decrypt scope: SecureString values in clear.\n"
    "--json prints the server's answer instead.\n";

static const char list_usage[] =
    "usage: switchyard keys list [--json]\n"
    "\n"
    "Lists access keys: NAME ACCESS_KEY_ID SCOPES CREATED REVOKED. Secrets are never shown.\n";

static const char revoke_usage[] =
    "usage: switchyard keys revoke NAME [--json]\n"
    "\n"
    "Revokes an access key; requests signed with it are refused from then on.\n";

static int exit_of(sy_rc rc) { return rc ? SY__EXIT_ERR : SY__EXIT_OK; }

/* Returns 1 if the array of scope strings arr holds name. */
static int has_scope(const json_t *arr, const char *name) {
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) if (strcmp(json_string_value(e), name) == 0) return 1;
  return 0;
}

/* Appends scope s (len bytes, borrowed) to arr unless already there. SY_EINVAL if it is not one of
 * scopes (nothing printed), SY_ENOMEM on allocation failure. */
static sy_rc scope_add(json_t *arr, const char *s, size_t len) {
  char name[SCOPE_MAX];
  if (len == 0 || len >= sizeof name) return SY_EINVAL;
  memcpy(name, s, len);
  name[len] = 0;
  if (!sy__one_of(name, scopes)) return SY_EINVAL;
  if (has_scope(arr, name)) return SY_OK;
  return json_array_append_new(arr, json_string(name)) ? SY_ENOMEM : SY_OK;
}

/* Returns 1 if the server-made credential v is non-empty printable ASCII, safe to put on a terminal. */
static int printable(const char *v) {
  if (!*v) return 0;
  for (; *v; v++)
    if ((unsigned char)*v < 0x21 || (unsigned char)*v > 0x7e) return 0;
  return 1;
}

/* Prints `export NAME=value` with value single-quoted unless it holds only shell-safe characters. */
static void print_export(const char *name, const char *v) {
  static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=._-:";
  printf("export %s=", name);
  if (strspn(v, safe) == strlen(v)) {
    fputs(v, stdout);
  } else {
    putchar('\'');
    for (; *v; v++) {
      if (*v == '\'')
        fputs("'\\''", stdout);
      else
        putchar(*v);
    }
    putchar('\'');
  }
  putchar('\n');
}

static int keys_create(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__list scope = {0};
  int decrypt = 0;
  const sy__opt opts[] = {{"--scope", NULL, SY__OPT_LIST, &scope}, {"--decrypt", NULL, SY__OPT_FLAG, &decrypt}, {0}};
  json_t *body = NULL, *arr = NULL;
  sy__resp r = {0};
  int ex = SY__EXIT_USAGE;

  sy__parse p = sy__args(cli, argc, argv, create_usage, opts, pos, &npos, 1, 1);
  if (p) {
    ex = sy__parse_exit(p);
    goto done;
  }
  if (scope.n == 0) {
    sy__misuse(create_usage, "keys create: --scope is required");
    goto done;
  }
  arr = json_array();
  if (!arr) goto nomem;
  for (size_t i = 0; i < scope.n; i++) {
    const char *s = scope.v[i];
    for (;;) {
      size_t len = strcspn(s, ",");
      rc = scope_add(arr, s, len);
      if (rc == SY_ENOMEM) goto nomem;
      if (rc) {
        rc = SY_OK;
        sy__misuse(create_usage, "keys create: --scope must be read, write or admin, not '%s'", scope.v[i]);
        goto done;
      }
      if (!s[len]) break;
      s += len + 1;
    }
  }
  if (decrypt && scope_add(arr, "decrypt", 7)) goto nomem;
  if (!has_scope(arr, "read") && !has_scope(arr, "write") && !has_scope(arr, "admin")) {
    sy__misuse(create_usage, "keys create: --scope needs read, write or admin (decrypt alone grants nothing)");
    goto done;
  }
  body = json_pack("{s:s,s:O}", "name", pos[0], "scopes", arr);
  if (!body) {
    sy__err("key name must be UTF-8 text");
    rc = SY_EINVAL;
    goto out;
  }
  rc = sy__http_json(cli, "POST", "/api/v1/admin/keys", body, &r);
  if (rc) goto out;
  if (cli->json) {
    rc = sy__print_json(r.json);
    goto out;
  }
  const char *id = sy__jstr(r.json, "access_key_id"), *secret = sy__jstr(r.json, "secret_access_key");
  if (!printable(id) || !printable(secret)) {
    sy__err("the server's answer holds no usable access key id and secret");
    rc = SY_EINTERNAL;
    goto out;
  }
  printf(
      "access key id:     %s\n"
      "secret access key: %s\n"
      "(the secret is shown once)\n"
      "\n",
      id, secret);
  print_export("AWS_ACCESS_KEY_ID", id);
  print_export("AWS_SECRET_ACCESS_KEY", secret);
  goto out;
nomem:
  sy__err("out of memory");
  rc = SY_ENOMEM;
out:
  ex = exit_of(rc);
done:
  json_decref(arr);
  json_decref(body);
  sy__resp_free(&r);
  sy__args_free(opts);
  return ex;
}

static int keys_list(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  static const char *const head[] = {"NAME", "ACCESS_KEY_ID", "SCOPES", "CREATED", "REVOKED"};
  sy__resp r = {0};
  sy__table *t = NULL;

  sy__parse p = sy__args(cli, argc, argv, list_usage, NULL, pos, &npos, 0, 0);
  if (p) return sy__parse_exit(p);
  rc = sy__http_json(cli, "GET", "/api/v1/admin/keys", NULL, &r);
  if (rc) goto out;
  if (cli->json) {
    rc = sy__print_json(r.json);
    goto out;
  }
  rc = sy__table_new(5, head, &t);
  if (rc) goto out;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(r.json, "keys"), i, e) {
    char id[64], sc[256], created[128], revoked[128];
    sy__json_cell(json_object_get(e, "access_key_id"), 40, id, sizeof id);
    sy__json_cell(json_object_get(e, "scopes"), 60, sc, sizeof sc);
    sy__json_cell(json_object_get(e, "created"), 60, created, sizeof created);
    sy__json_cell(json_object_get(e, "revoked"), 60, revoked, sizeof revoked);
    const char *row[] = {sy__jstr(e, "name"), id, sc, created, revoked};
    rc = sy__table_row(t, row);
    if (rc) goto out;
  }
  rc = sy__table_print(t, stdout);
out:
  if (rc == SY_ENOMEM) sy__err("out of memory");
  sy__table_free(t);
  sy__resp_free(&r);
  return exit_of(rc);
}

static int keys_revoke(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__resp r = {0};
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, revoke_usage, NULL, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  sy__url_init(&u, "/api/v1/admin/keys");
  sy__url_segment(&u, pos[0]);
  rc = sy__url_done(&u);
  if (rc) goto out;
  rc = sy__http_json(cli, "DELETE", u.buf, NULL, &r);
  if (rc) goto out;
  if (cli->json)
    rc = sy__print_json(r.json);
  else
    printf("revoked %s\n", sy__jstr(r.json, "revoked")[0] ? sy__jstr(r.json, "revoked") : pos[0]);
out:
  sy__resp_free(&r);
  return exit_of(rc);
}

static const sy__cmd keys_cmds[] = {
    {"create", "make an access key", keys_create},
    {"list", "list access keys", keys_list},
    {"revoke", "revoke an access key", keys_revoke},
    {0},
};

int sy__cmd_keys(sy__cli *cli, int argc, char **argv) {
  return sy__dispatch(cli, "keys", keys_usage, keys_cmds, argc, argv);
}
