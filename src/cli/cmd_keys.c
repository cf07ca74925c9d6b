/* cmd_keys.c — `switchyard keys create|list|revoke`: SigV4 access keys for the SSM API, through the admin endpoints. */
#include <stdio.h>
#include <string.h>

#include "cli/cred.h"

#define SCOPE_MAX 16 /* longest scope name we accept from --scope */

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
  if (!sy__one_of(name, sy__cred_scopes)) return SY_EINVAL;
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

/* Takes the --scope values, each one or a comma-separated list, once each; --decrypt adds decrypt.
 * At least one of read, write and admin is required: decrypt alone grants nothing. */
static sy_rc keys_scopes(const sy__list *scope, int decrypt, json_t *arr) {
  for (size_t i = 0; i < scope->n; i++) {
    const char *s = scope->v[i];
    for (;;) {
      size_t len = strcspn(s, ",");
      sy_rc rc = scope_add(arr, s, len);
      if (rc == SY_ENOMEM) return rc;
      if (rc) {
        sy__misuse(create_usage, "keys create: --scope must be read, write or admin, not '%s'", scope->v[i]);
        return SY_EINVAL;
      }
      if (!s[len]) break;
      s += len + 1;
    }
  }
  if (decrypt && scope_add(arr, "decrypt", 7)) return SY_ENOMEM;
  if (!has_scope(arr, "read") && !has_scope(arr, "write") && !has_scope(arr, "admin")) {
    sy__misuse(create_usage, "keys create: --scope needs read, write or admin (decrypt alone grants nothing)");
    return SY_EINVAL;
  }
  return SY_OK;
}

/* Prints the new key's id and secret, then export lines for the aws CLI. */
static sy_rc keys_created(const json_t *answer, void *ctx) {
  (void)ctx;
  const char *id = sy__jstr(answer, "access_key_id"), *secret = sy__jstr(answer, "secret_access_key");
  if (!printable(id) || !printable(secret)) {
    sy__err("the server's answer holds no usable access key id and secret");
    return SY_EINTERNAL;
  }
  printf(
      "access key id:     %s\n"
      "secret access key: %s\n"
      "(the secret is shown once)\n"
      "\n",
      id, secret);
  print_export("AWS_ACCESS_KEY_ID", id);
  print_export("AWS_SECRET_ACCESS_KEY", secret);
  return SY_OK;
}

static sy_rc keys_row(sy__table *t, const json_t *e) {
  char id[64], sc[256], created[128], revoked[128];
  sy__json_cell(json_object_get(e, "access_key_id"), 40, id, sizeof id);
  sy__json_cell(json_object_get(e, "scopes"), 60, sc, sizeof sc);
  sy__json_cell(json_object_get(e, "created"), 60, created, sizeof created);
  sy__json_cell(json_object_get(e, "revoked"), 60, revoked, sizeof revoked);
  const char *row[] = {sy__jstr(e, "name"), id, sc, created, revoked};
  return sy__table_row(t, row);
}

static const char *const keys_head[] = {"NAME", "ACCESS_KEY_ID", "SCOPES", "CREATED", "REVOKED"};

static const sy__cred keys_kind = {
    .cmd = "keys",
    .noun = "key",
    .path = "/api/v1/admin/keys",
    .member = "keys",
    .create_usage = create_usage,
    .list_usage = list_usage,
    .revoke_usage = revoke_usage,
    .takes_decrypt = 1,
    .scopes = keys_scopes,
    .show_created = keys_created,
    .ncols = 5,
    .head = keys_head,
    .add_row = keys_row,
};

static int keys_create(sy__cli *cli, int argc, char **argv) { return sy__cred_create(&keys_kind, cli, argc, argv); }
static int keys_list(sy__cli *cli, int argc, char **argv) { return sy__cred_list(&keys_kind, cli, argc, argv); }
static int keys_revoke(sy__cli *cli, int argc, char **argv) { return sy__cred_revoke(&keys_kind, cli, argc, argv); }

static const sy__cmd keys_cmds[] = {
    {"create", "make an access key", keys_create},
    {"list", "list access keys", keys_list},
    {"revoke", "revoke an access key", keys_revoke},
    {0},
};

int sy__cmd_keys(sy__cli *cli, int argc, char **argv) {
  return sy__dispatch(cli, "keys", keys_usage, keys_cmds, argc, argv);
}
