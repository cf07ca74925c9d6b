/* cred.c — the create, list and revoke commands that API tokens and access keys share; sy__cred says what differs. */
#include "cli/cred.h"

#include <stdio.h>

const char *const sy__cred_scopes[] = {"read", "write", "admin", "decrypt", NULL};

int sy__cred_create(const sy__cred *k, sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__list scope = {0};
  int decrypt = 0;
  const char *route = NULL;
  sy__opt opts[4] = {{"--scope", NULL, SY__OPT_LIST, &scope}};
  size_t nopts = 1;
  json_t *body = NULL, *arr = NULL;
  sy__url u;
  int ex = SY__EXIT_USAGE;

  if (k->takes_decrypt) opts[nopts++] = (sy__opt){"--decrypt", NULL, SY__OPT_FLAG, &decrypt};
  if (k->takes_route) opts[nopts++] = (sy__opt){"--route", NULL, SY__OPT_VALUE, &route};
  sy__parse p = sy__args(cli, argc, argv, k->create_usage, opts, pos, &npos, 1, 1);
  if (p) {
    ex = sy__parse_exit(p);
    goto done;
  }
  if (scope.n == 0) {
    sy__misuse(k->create_usage, "%s create: --scope is required", k->cmd);
    goto done;
  }
  arr = json_array();
  rc = arr ? k->scopes(&scope, decrypt, arr) : SY_ENOMEM;
  if (rc == SY_EINVAL) goto done; /* a misuse, printed */
  if (rc) {
    sy__err("out of memory");
    goto out;
  }
  /* the server checks the route and refuses it naming the field */
  body = json_pack("{s:s,s:O,s:s*}", "name", pos[0], "scopes", arr, "route", route);
  if (!body) {
    sy__err(route ? "%s name and route must be UTF-8 text" : "%s name must be UTF-8 text", k->noun);
    rc = SY_EINVAL;
    goto out;
  }
  sy__url_init(&u, k->path);
  rc = sy__call(cli, "POST", &u, body, k->show_created, NULL);
out:
  ex = sy__exit_of(rc);
done:
  json_decref(arr);
  json_decref(body);
  sy__args_free(opts);
  return ex;
}

/* Tabulates the list answer's array of credentials; ctx is the sy__cred. */
static sy_rc show_list(const json_t *answer, void *ctx) {
  const sy__cred *k = ctx;
  return sy__table_print_rows(k->ncols, k->head, json_object_get(answer, k->member), k->add_row, stdout);
}

int sy__cred_list(const sy__cred *k, sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, k->list_usage, NULL, pos, &npos, 0, 0);
  if (p) return sy__parse_exit(p);
  sy__url_init(&u, k->path);
  return sy__exit_of(sy__call(cli, "GET", &u, NULL, show_list, (void *)k));
}

/* "revoked NAME", the name as the server gives it back; ctx is the name asked for. */
static sy_rc show_revoked(const json_t *answer, void *ctx) {
  const char *name = sy__jstr(answer, "revoked");
  printf("revoked %s\n", *name ? name : (const char *)ctx);
  return SY_OK;
}

int sy__cred_revoke(const sy__cred *k, sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, k->revoke_usage, NULL, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  sy__url_init(&u, k->path);
  sy__url_segment(&u, pos[0]);
  return sy__exit_of(sy__call(cli, "DELETE", &u, NULL, show_revoked, (void *)pos[0]));
}
