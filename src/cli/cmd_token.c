/* cmd_token.c — `switchyard token create|list|revoke`: API tokens, through the admin endpoints. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/table.h"

/* decrypt is not in docs/API.md's scope list, but the server grants it and checks it for ?decrypt=true. */
static const char *const scopes[] = {"read", "write", "admin", "decrypt", NULL};

static const char token_usage[] =
    "usage: switchyard token SUBCOMMAND [ARGS...]\n"
    "\n"
    "subcommands:\n"
    "  create NAME --scope SCOPE...           make a token and print it (shown once)\n"
    "  list                                   NAME SCOPES CREATED REVOKED\n"
    "  revoke NAME                            revoke a token\n"
    "\n"
    "Needs an admin token.\n";

static const char create_usage[] =
    "usage: switchyard token create NAME --scope read|write|admin [--scope decrypt] [--json]\n"
    "\n"
    "Prints the new token alone on stdout; the server never shows it again.\n"
    "write implies read, admin implies write; decrypt lets the token read SecureString\n"
    "values in clear. Repeat --scope for several.\n";

static const char list_usage[] = "usage: switchyard token list [--json]\n";

static const char revoke_usage[] = "usage: switchyard token revoke NAME [--json]\n";

static int exit_of(sy_rc rc) { return rc ? SY__EXIT_ERR : SY__EXIT_OK; }

static int token_create(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__list scope = {0};
  const sy__opt opts[] = {{"--scope", NULL, SY__OPT_LIST, &scope}, {0}};
  json_t *body = NULL, *arr = NULL;
  sy__resp r = {0};
  int ex = SY__EXIT_USAGE;

  sy__parse p = sy__args(cli, argc, argv, create_usage, opts, pos, &npos, 1, 1);
  if (p) {
    ex = sy__parse_exit(p);
    goto done;
  }
  if (scope.n == 0) {
    sy__misuse(create_usage, "token create: --scope is required");
    goto done;
  }
  for (size_t i = 0; i < scope.n; i++)
    if (!sy__one_of(scope.v[i], scopes)) {
      sy__misuse(create_usage, "token create: --scope must be read, write, admin or decrypt");
      goto done;
    }
  arr = json_array();
  for (size_t i = 0; arr && i < scope.n; i++)
    if (json_array_append_new(arr, json_string(scope.v[i]))) goto nomem;
  body = json_pack("{s:s,s:O}", "name", pos[0], "scopes", arr);
  if (!body) {
    sy__err("token name must be UTF-8 text");
    rc = SY_EINVAL;
    goto out;
  }
  rc = sy__http_json(cli, "POST", "/api/v1/admin/tokens", body, &r);
  if (rc) goto out;
  if (cli->json) {
    rc = sy__print_json(r.json);
  } else {
    const char *tok = sy__jstr(r.json, "token");
    if (!*tok) {
      sy__err("the server's answer holds no token");
      rc = SY_EINTERNAL;
      goto out;
    }
    puts(tok);
  }
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

static int token_list(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  static const char *const head[] = {"NAME", "SCOPES", "CREATED", "REVOKED"};
  sy__resp r = {0};
  sy__table *t = NULL;

  sy__parse p = sy__args(cli, argc, argv, list_usage, NULL, pos, &npos, 0, 0);
  if (p) return sy__parse_exit(p);
  rc = sy__http_json(cli, "GET", "/api/v1/admin/tokens", NULL, &r);
  if (rc) goto out;
  if (cli->json) {
    rc = sy__print_json(r.json);
    goto out;
  }
  rc = sy__table_new(4, head, &t);
  if (rc) goto out;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(r.json, "tokens"), i, e) {
    char sc[256], created[128], revoked[128];
    sy__json_cell(json_object_get(e, "scopes"), 60, sc, sizeof sc);
    sy__json_cell(json_object_get(e, "created"), 60, created, sizeof created);
    json_t *rv = json_object_get(e, "revoked");
    if (json_is_boolean(rv))
      snprintf(revoked, sizeof revoked, "%s", json_is_true(rv) ? "yes" : "no");
    else
      sy__json_cell(rv, 60, revoked, sizeof revoked);
    const char *row[] = {sy__jstr(e, "name"), sc, created, revoked};
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

static int token_revoke(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__resp r = {0};
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, revoke_usage, NULL, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  sy__url_init(&u, "/api/v1/admin/tokens");
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

static const sy__cmd token_cmds[] = {
    {"create", "make a token", token_create},
    {"list", "list tokens", token_list},
    {"revoke", "revoke a token", token_revoke},
    {0},
};

int sy__cmd_token(sy__cli *cli, int argc, char **argv) {
  return sy__dispatch(cli, "token", token_usage, token_cmds, argc, argv);
}
