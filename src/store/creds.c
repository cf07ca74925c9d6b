/* creds.c — the rules of the credential operations: creating and revoking bearer tokens and
 * access keys, each stored, audited and put among the batch's credentials (a new sy_auth,
 * so that a cache keyed on its generation misses at once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/param.h"
#include "core/secretbox.h"
#include "store/backend.h"
#include "store/store_int.h"

static const sy_auth *work_auth(sy_store *st) { return st->work_auth ? st->work_auth : st->tree_auth; }

static int key_cmp(const void *a, const void *b) { return strcmp(((const sy_akey *)a)->id, ((const sy_akey *)b)->id); }

/* The credentials with tok (or key) in place of the one of its name, or added. */
static sy_rc auth_with(sy_store *st, const sy_token *tok, const sy_akey *key) {
  const sy_auth *a = work_auth(st);
  sy_auth *n = calloc(1, sizeof *n);
  if (!n) return SY_ENOMEM;
  n->refs = 1;
  n->tokens = calloc((size_t)a->ntokens + 1, sizeof *n->tokens);
  n->keys = calloc((size_t)a->nkeys + 1, sizeof *n->keys);
  sy_rc rc = n->tokens && n->keys ? SY_OK : SY_ENOMEM;
  for (int i = 0; !rc && i <= a->ntokens; i++) {
    const sy_token *src = i < a->ntokens ? &a->tokens[i] : tok;
    if (!src || (src != tok && tok && strcmp(src->name, tok->name) == 0)) continue;
    sy_token *t = &n->tokens[n->ntokens];
    *t = *src;
    t->name = strdup(src->name);
    t->route = strdup(src->route ? src->route : "");
    if (!t->name || !t->route) {
      free(t->name);
      free(t->route);
      rc = SY_ENOMEM;
      break;
    }
    n->ntokens++;
  }
  for (int i = 0; !rc && i <= a->nkeys; i++) {
    const sy_akey *src = i < a->nkeys ? &a->keys[i] : key;
    if (!src || (src != key && key && strcmp(src->name, key->name) == 0)) continue;
    sy_akey *k = &n->keys[n->nkeys];
    *k = *src;
    k->name = strdup(src->name);
    k->sealed = malloc(src->sealed_len ? src->sealed_len : 1);
    if (!k->name || !k->sealed) {
      free(k->name);
      free(k->sealed);
      rc = SY_ENOMEM;
      break;
    }
    memcpy(k->sealed, src->sealed, src->sealed_len);
    n->nkeys++;
  }
  if (rc) {
    sy__auth_unref(n);
    return rc;
  }
  qsort(n->tokens, (size_t)n->ntokens, sizeof *n->tokens, sy__token_cmp);
  qsort(n->keys, (size_t)n->nkeys, sizeof *n->keys, key_cmp);
  n->gen = ++st->auth_gen;
  sy__auth_unref(st->work_auth);
  st->work_auth = n;
  return SY_OK;
}

static void scopes_detail(unsigned scopes, char *detail, size_t sz) {
  static const char *const names[] = {"read", "write", "admin", "decrypt"};
  size_t off = (size_t)snprintf(detail, sz, "scopes=");
  for (int i = 0, first = 1; i < 4 && off < sz; i++)
    if (scopes & (1u << i)) {
      off += (size_t)snprintf(detail + off, sz - off, "%s%s", first ? "" : ",", names[i]);
      first = 0;
    }
}

/* Stores a created or revoked credential (a token or a key), audits it, and puts it among
 * the batch's credentials. */
static sy_rc cred_commit(sy_store *st, sy_op *op, const char *action, const char *detail, const sy_token *t,
                         const sy_akey *k) {
  sy__change c = {.action = action, .name = op->token_name, .detail = detail};
  sy_rc rc = t ? st->be->put_token(st, t) : st->be->put_key(st, k);
  if (!rc) rc = sy__audit_append(st, op, &c);
  if (!rc) rc = auth_with(st, t, k);
  return rc ? sy__storage_failed(op, rc) : SY_OK;
}

/* Refuses a route that is not a parameter name starting with '/' ("route: <why>"); "" and
 * NULL are no route. Its document need not exist: it may be written after the token. */
static sy_rc route_check(sy_op *op) {
  const char *route = op->token_route;
  char why[SY_MSG_MAX - 16];
  if (!route || !*route) return SY_OK;
  if (route[0] != '/') return sy__op_fail(op, SY_EINVAL, "%s", "route: must start with '/'");
  sy_rc rc = sy__name_check(route, strlen(route), why, sizeof why);
  return rc ? sy__op_fail(op, rc, "route: %s", why) : SY_OK;
}

/* The audit detail of a new token: its scopes, and its route when it has one (never its hash). */
static void token_detail(const sy_token *t, char *detail, size_t sz) {
  scopes_detail(t->scopes, detail, sz);
  size_t off = strlen(detail);
  if (*t->route && off < sz) snprintf(detail + off, sz - off, " route=%s", t->route);
}

sy_rc sy__apply_token(sy_store *st, sy_op *op, int create) {
  const sy_auth *a = work_auth(st);
  const sy_token *cur = NULL;
  char detail[64 + SY_NAME_MAX] = "";
  sy_token t;
  if (create) {
    for (int i = 0; i < a->ntokens; i++)
      if (!strcmp(a->tokens[i].name, op->token_name) || !strcmp(a->tokens[i].hash, op->token_hash))
        return sy__op_fail(op, SY_ETOKEN_EXISTS, "a token named %s already exists", op->token_name);
    if (route_check(op)) return op->rc;
    t = (sy_token){.name = (char *)op->token_name,
                   .route = (char *)(op->token_route ? op->token_route : ""),
                   .scopes = op->scopes,
                   .created_ms = sy__clock_now(st->clock)};
    snprintf(t.hash, sizeof t.hash, "%s", op->token_hash);
    token_detail(&t, detail, sizeof detail);
  } else {
    for (int i = 0; i < a->ntokens && !cur; i++)
      if (!strcmp(a->tokens[i].name, op->token_name) && !a->tokens[i].revoked_ms) cur = &a->tokens[i];
    if (!cur) return sy__op_fail(op, SY_ETOKEN_NOTFOUND, "no active token named %s", op->token_name);
    t = *cur;
    t.revoked_ms = sy__clock_now(st->clock);
  }
  return cred_commit(st, op, create ? "token.create" : "token.revoke", detail, &t, NULL);
}

sy_rc sy__apply_token_route(sy_store *st, sy_op *op) {
  const sy_auth *a = work_auth(st);
  const sy_token *cur = NULL;
  char detail[16 + SY_NAME_MAX];
  for (int i = 0; i < a->ntokens && !cur; i++)
    if (!strcmp(a->tokens[i].name, op->token_name) && !a->tokens[i].revoked_ms) cur = &a->tokens[i];
  if (!cur) return sy__op_fail(op, SY_ETOKEN_NOTFOUND, "no active token named %s", op->token_name);
  if (route_check(op)) return op->rc;
  sy_token t = *cur;
  t.route = (char *)(op->token_route ? op->token_route : "");
  snprintf(detail, sizeof detail, "route=%s", t.route); /* "route=" alone: cleared */
  return cred_commit(st, op, "token.route", detail, &t, NULL);
}

/* Creates or revokes an access key; the secret is sealed, bound to "accesskey:<id>". */
sy_rc sy__apply_key(sy_store *st, sy_op *op, int create) {
  const sy_auth *a = work_auth(st);
  const sy_akey *cur = NULL;
  char detail[64] = "";
  unsigned char blob[SY_SECRETBOX_SEALED_LEN(128)];
  sy_akey k;
  sy_rc rc;
  if (create) {
    for (int i = 0; i < a->nkeys; i++) {
      if (!strcmp(a->keys[i].name, op->token_name))
        return sy__op_fail(op, SY_ETOKEN_EXISTS, "an access key named %s already exists", op->token_name);
      if (!strcmp(a->keys[i].id, op->key_id))
        return sy__op_fail(op, SY_ETOKEN_EXISTS, "access key id %s is already in use", op->key_id);
    }
    char aad[80];
    size_t aad_len = (size_t)snprintf(aad, sizeof aad, "accesskey:%s", op->key_id), n = 0;
    rc =
        sy__secretbox_seal(st->master_key, op->key_secret, strlen(op->key_secret), aad, aad_len, blob, sizeof blob, &n);
    if (rc) {
      sy__cause(st, "seal an access key secret", rc);
      return sy__op_fail(op, rc, "%s", "cannot seal the secret");
    }
    k = (sy_akey){.name = (char *)op->token_name,
                  .sealed = blob,
                  .sealed_len = n,
                  .scopes = op->scopes,
                  .created_ms = sy__clock_now(st->clock)};
    snprintf(k.id, sizeof k.id, "%s", op->key_id);
    scopes_detail(op->scopes, detail, sizeof detail);
  } else {
    for (int i = 0; i < a->nkeys && !cur; i++)
      if (!strcmp(a->keys[i].name, op->token_name) && !a->keys[i].revoked_ms) cur = &a->keys[i];
    if (!cur) return sy__op_fail(op, SY_ETOKEN_NOTFOUND, "no active access key named %s", op->token_name);
    k = *cur;
    k.revoked_ms = sy__clock_now(st->clock);
  }
  return cred_commit(st, op, create ? "key.create" : "key.revoke", detail, NULL, &k);
}
