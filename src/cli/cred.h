/* cred.h — create, list and revoke a credential (API token or access key) through its admin endpoints. */
#ifndef SY_CLI_CRED_H
#define SY_CLI_CRED_H

#include <jansson.h>
#include <stddef.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/table.h"

/* The scopes a credential may carry. decrypt is not in docs/API.md's scope list, but the
 * server grants it and checks it for ?decrypt=true. */
extern const char *const sy__cred_scopes[];

/* What one kind of credential does differently; the commands below do the rest. */
typedef struct sy__cred {
  const char *cmd;    /* "token": names the command group in messages */
  const char *noun;   /* "token": in "<noun> name must be UTF-8 text" */
  const char *path;   /* the admin collection, "/api/v1/admin/tokens"; revoke appends "/NAME" */
  const char *member; /* the list answer's array, "tokens" */
  const char *create_usage, *list_usage, *revoke_usage;
  int takes_decrypt; /* create accepts --decrypt, passed on to scopes */
  int takes_route;   /* create accepts --route ROUTE, sent as "route" (a token's default gateway route) */
  /* Fills arr (an empty array, owned by the caller) from the --scope values (at least one).
   * SY_EINVAL once the misuse is printed; SY_ENOMEM unprinted. */
  sy_rc (*scopes)(const sy__list *scope, int decrypt, json_t *arr);
  sy__show_fn show_created; /* prints the create answer; ctx is NULL */
  size_t ncols;             /* the list table: columns, headers, one row per credential */
  const char *const *head;
  sy__row_fn add_row;
} sy__cred;

/* `<cmd> create NAME --scope S... [--route R]`: POSTs {"name", "scopes"[, "route"]} to k->path.
 * Returns an exit code. */
int sy__cred_create(const sy__cred *k, sy__cli *cli, int argc, char **argv);
/* `<cmd> list`: GETs k->path and tabulates its k->member array. Returns an exit code. */
int sy__cred_list(const sy__cred *k, sy__cli *cli, int argc, char **argv);
/* `<cmd> revoke NAME`: DELETEs k->path/NAME and prints "revoked NAME". Returns an exit code. */
int sy__cred_revoke(const sy__cred *k, sy__cli *cli, int argc, char **argv);

#endif
