/* cmd_token.c — `switchyard token create|list|revoke`: API tokens, through the admin endpoints. */
#include <stdio.h>
#include <string.h>

#include "cli/cred.h"

static const char token_usage[] =
    "usage: switchyard token SUBCOMMAND [ARGS...]\n"
    "\n"
    "subcommands:\n"
    "  create NAME --scope SCOPE... [--route ROUTE]\n"
    "                                         make a token and print it (shown once)\n"
    "  list                                   NAME SCOPES ROUTE CREATED REVOKED\n"
    "  revoke NAME                            revoke a token\n"
    "\n"
    "Needs an admin token.\n";

static const char create_usage[] =
    "usage: switchyard token create NAME --scope read|write|admin|evaluate [--scope decrypt]\n"
    "                                    [--route ROUTE] [--json]\n"
    "\n"
    "Prints the new token alone on stdout; the server never shows it again.\n"
    "write implies read, admin implies write; decrypt lets the token read SecureString\n"
    "values in clear; evaluate lets it evaluate flags (OFREP) and nothing else, for an\n"
    "application to ship. Repeat --scope for several.\n"
    "--route names the gateway route (a route document, /a/b; it need not exist yet) the\n"
    "token's requests take when they send no X-Switchyard-Route header.\n";

static const char list_usage[] = "usage: switchyard token list [--json]\n";

static const char revoke_usage[] = "usage: switchyard token revoke NAME [--json]\n";

/* Takes the --scope values as given, each one of sy__cred_scopes or evaluate (a token that
 * may evaluate flags and do nothing else, for applications to ship). */
static sy_rc token_scopes(const sy__list *scope, int decrypt, json_t *arr) {
  (void)decrypt;
  for (size_t i = 0; i < scope->n; i++)
    if (!sy__one_of(scope->v[i], sy__cred_scopes) && strcmp(scope->v[i], "evaluate")) {
      sy__misuse(create_usage, "token create: --scope must be read, write, admin, decrypt or evaluate");
      return SY_EINVAL;
    }
  for (size_t i = 0; i < scope->n; i++)
    if (json_array_append_new(arr, json_string(scope->v[i]))) return SY_ENOMEM;
  return SY_OK;
}

/* Prints the new token alone. */
static sy_rc token_created(const json_t *answer, void *ctx) {
  (void)ctx;
  const char *tok = sy__jstr(answer, "token");
  if (!*tok) {
    sy__err("the server's answer holds no token");
    return SY_EINTERNAL;
  }
  puts(tok);
  return SY_OK;
}

static sy_rc token_row(sy__table *t, const json_t *e) {
  char sc[256], route[256], created[128], revoked[128];
  sy__json_cell(json_object_get(e, "route"), 60, route, sizeof route); /* "-" when none */
  sy__json_cell(json_object_get(e, "scopes"), 60, sc, sizeof sc);
  sy__json_cell(json_object_get(e, "created"), 60, created, sizeof created);
  json_t *rv = json_object_get(e, "revoked");
  if (json_is_boolean(rv))
    snprintf(revoked, sizeof revoked, "%s", json_is_true(rv) ? "yes" : "no");
  else
    sy__json_cell(rv, 60, revoked, sizeof revoked);
  const char *row[] = {sy__jstr(e, "name"), sc, route, created, revoked};
  return sy__table_row(t, row);
}

static const char *const token_head[] = {"NAME", "SCOPES", "ROUTE", "CREATED", "REVOKED"};

static const sy__cred token_kind = {
    .cmd = "token",
    .noun = "token",
    .path = "/api/v1/admin/tokens",
    .member = "tokens",
    .create_usage = create_usage,
    .list_usage = list_usage,
    .revoke_usage = revoke_usage,
    .scopes = token_scopes,
    .show_created = token_created,
    .takes_route = 1,
    .ncols = 5,
    .head = token_head,
    .add_row = token_row,
};

static int token_create(sy__cli *cli, int argc, char **argv) { return sy__cred_create(&token_kind, cli, argc, argv); }
static int token_list(sy__cli *cli, int argc, char **argv) { return sy__cred_list(&token_kind, cli, argc, argv); }
static int token_revoke(sy__cli *cli, int argc, char **argv) { return sy__cred_revoke(&token_kind, cli, argc, argv); }

static const sy__cmd token_cmds[] = {
    {"create", "make a token", token_create},
    {"list", "list tokens", token_list},
    {"revoke", "revoke a token", token_revoke},
    {0},
};

int sy__cmd_token(sy__cli *cli, int argc, char **argv) {
  return sy__dispatch(cli, "token", token_usage, token_cmds, argc, argv);
}
