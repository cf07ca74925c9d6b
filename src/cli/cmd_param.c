/* cmd_param.c — `switchyard param ...`: parameter reads and writes over the HTTP API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/table.h"

static const char *const types[] = {"String", "StringList", "SecureString", "Provider", "Route", NULL};
static const char *const tiers[] = {"Standard", "Advanced", NULL};

#define VALUE_CELL 40 /* code points of a value shown in a table */

static const char param_usage[] =
    "usage: switchyard param SUBCOMMAND [ARGS...]\n"
    "\n"
    "subcommands:\n"
    "  put NAME VALUE     create or overwrite a parameter\n"
    "  get NAME           print a parameter's value\n"
    "  ls [PATH]          list parameters under PATH\n"
    "  history NAME       list every version of a parameter\n"
    "  rm NAME            delete a parameter\n"
    "  label NAME LABEL...    attach labels to a version\n"
    "  unlabel NAME LABEL...  remove labels\n"
    "  tag NAME K=V...    add or change tags\n"
    "  untag NAME K...    remove tags\n"
    "  rollback NAME --to-version N   write version N's value as a new version\n"
    "\n"
    "run 'switchyard param SUBCOMMAND --help' for its options.\n";

static const char put_usage[] =
    "usage: switchyard param put NAME VALUE [options]\n"
    "\n"
    "VALUE is the literal value, file://PATH for the bytes of a file, or - for stdin\n"
    "(at most 1 MiB is read; the server enforces the tier's limit).\n"
    "\n"
    "options:\n"
    "  --type String|StringList|SecureString|Provider|Route   required by the server on create;\n"
    "                        defaults to String unless --overwrite is given\n"
    "  --overwrite           replace an existing parameter with a new version\n"
    "  --description D\n"
    "  --allowed-pattern P   regular expression the value must match\n"
    "  --tier Standard|Advanced\n"
    "  --tag K=V ...         tags (create only); repeat --tag or list several pairs\n"
    "  --if-version N        fail with VersionConflict unless the latest version is N\n"
    "                        (0: the parameter must not exist)\n"
    "  --reason R            recorded in the audit log\n"
    "  --json                print the server's answer as JSON\n";

static const char get_usage[] =
    "usage: switchyard param get NAME [--version N | --label L] [--decrypt] [--raw] [--json]\n"
    "\n"
    "Prints the value followed by a newline (--raw: exactly the value's bytes);\n"
    "--json prints the whole parameter object.\n"
    "\n"
    "options:\n"
    "  --version N   a specific version\n"
    "  --label L     the version carrying label L\n"
    "  --decrypt     return SecureString values in clear (needs the decrypt scope)\n"
    "  --raw         no trailing newline\n"
    "  --json        the full parameter object\n";

static const char ls_usage[] =
    "usage: switchyard param ls [PATH] [--recursive] [--page-size N] [--json]\n"
    "\n"
    "Lists the parameters directly under PATH (default /), or all below it with\n"
    "--recursive, as a table NAME TYPE VERSION LAST_MODIFIED. Follows every page.\n"
    "\n"
    "options:\n"
    "  --recursive     the whole subtree\n"
    "  --page-size N   parameters per request, 1..1000 (default 1000)\n"
    "  --json          {\"params\": [...every page...], \"next\": null}\n";

static const char history_usage[] =
    "usage: switchyard param history NAME [--decrypt] [--json]\n"
    "\n"
    "Lists every version, oldest first: VERSION TYPE LAST_MODIFIED USER LABELS VALUE REASON\n"
    "(REASON is the --reason the version was written with, \"-\" if none; values cut to 40\n"
    "characters and reasons to 60; --json has them whole).\n"
    "\n"
    "options:\n"
    "  --decrypt   show SecureString values (needs the decrypt scope)\n"
    "  --json      {\"name\", \"versions\": [...every page...], \"next\": null}\n";

static const char rm_usage[] =
    "usage: switchyard param rm NAME [--reason R] [--json]\n"
    "\n"
    "Deletes the parameter and all its versions.\n";

static const char label_usage[] =
    "usage: switchyard param label NAME LABEL... [--version N] [--json]\n"
    "\n"
    "Attaches the labels to version N (default: the latest). A label moves from any\n"
    "other version. Exits 1 if the server refuses any label.\n";

static const char unlabel_usage[] =
    "usage: switchyard param unlabel NAME LABEL... [--json]\n"
    "\n"
    "Removes the labels from whichever version carries them. Labels that were not\n"
    "attached are reported on stderr.\n";

static const char tag_usage[] =
    "usage: switchyard param tag NAME K=V... [--json]\n"
    "\n"
    "Adds or changes tags and prints all tags of the parameter.\n";

static const char untag_usage[] =
    "usage: switchyard param untag NAME KEY... [--json]\n"
    "\n"
    "Removes tags and prints the tags left.\n";

static const char rollback_usage[] =
    "usage: switchyard param rollback NAME --to-version N [--reason R] [--json]\n"
    "\n"
    "Writes version N's value as a new version.\n";

/* Reads VALUE: file://PATH reads the file, "-" reads stdin, anything else is the value
 * itself. *owned receives the heap buffer to free (NULL for a literal). */
static sy_rc read_value(const char *arg, const char **val, size_t *len, char **owned) {
  sy_rc rc = SY_OK;
  *owned = NULL;
  if (strncmp(arg, "file://", 7) == 0 || strcmp(arg, "-") == 0) {
    const char *path = arg[0] == '-' ? "-" : arg + 7;
    if (!*path) {
      sy__err("file:// needs a path");
      return SY_EINVAL;
    }
    rc = sy__read_bounded(path, SY__MAX_FILE, owned, len);
    if (rc) return rc;
    *val = *owned;
    return SY_OK;
  }
  *val = arg;
  *len = strlen(arg);
  return SY_OK;
}

/* Builds "/api/v1/params/NAME[suffix]" into u; prints and fails on a bad name. */
static sy_rc param_url(sy__url *u, const char *name, const char *suffix) {
  sy__url_init(u, "");
  sy__url_param(u, name);
  if (suffix) sy__url_add(u, suffix);
  return sy__url_done(u);
}

/* Adds the K=V strings of list to obj as string members. SY_EINVAL (printed) on a pair without '='. */
static sy_rc tags_object(const sy__list *list, json_t *obj) {
  for (size_t i = 0; i < list->n; i++) {
    const char *kv = list->v[i], *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
      sy__err("tag '%s' is not KEY=VALUE", kv);
      return SY_EINVAL;
    }
    char key[1024];
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof key) {
      sy__err("tag key too long");
      return SY_EINVAL;
    }
    memcpy(key, kv, klen);
    key[klen] = 0;
    json_t *v = json_string(eq + 1);
    if (!v || json_object_set_new(obj, key, v)) {
      sy__err("tag '%s' is not valid UTF-8", kv);
      return SY_EINVAL;
    }
  }
  return SY_OK;
}

/* Prints a string array member as "a, b". */
static void print_list(FILE *f, const json_t *arr) {
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) fprintf(f, "%s%s", i ? ", " : "", json_is_string(e) ? json_string_value(e) : "?");
}

/* Prints the tags object of a tag or untag answer as a KEY VALUE table (or "no tags"). */
static sy_rc show_tags(const json_t *answer, void *ctx) {
  sy_rc rc = SY_OK;
  sy__table *t = NULL;
  static const char *const head[] = {"KEY", "VALUE"};
  json_t *tags = json_object_get(answer, "tags");
  const char *k;
  json_t *v;
  (void)ctx;
  if (!json_is_object(tags) || json_object_size(tags) == 0) {
    puts("no tags");
    return SY_OK;
  }
  rc = sy__table_new(2, head, &t);
  if (rc) goto out;
  json_object_foreach(tags, k, v) {
    char cell[512];
    sy__json_cell(v, 200, cell, sizeof cell);
    const char *row[] = {k, cell};
    rc = sy__table_row(t, row);
    if (rc) goto out;
  }
  rc = sy__table_print(t, stdout);
out:
  sy__table_free(t);
  return rc;
}

/* ---- put ------------------------------------------------------------------------------- */

/* "NAME: version N (TIER)"; ctx is the name asked for, shown if the answer has none. */
static sy_rc show_put(const json_t *answer, void *ctx) {
  const char *name = sy__jstr(answer, "name");
  printf("%s: version %lld (%s)\n", *name ? name : (const char *)ctx, (long long)sy__jint(answer, "version"),
         sy__jstr(answer, "tier"));
  return SY_OK;
}

static int param_put(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *type = NULL, *desc = NULL, *pattern = NULL, *tier = NULL, *if_version = NULL, *reason = NULL, *val = NULL;
  int overwrite = 0;
  sy__list tags = {0};
  const sy__opt opts[] = {
      {"--type", NULL, SY__OPT_VALUE, &type},
      {"--overwrite", NULL, SY__OPT_FLAG, &overwrite},
      {"--description", NULL, SY__OPT_VALUE, &desc},
      {"--allowed-pattern", NULL, SY__OPT_VALUE, &pattern},
      {"--tier", NULL, SY__OPT_VALUE, &tier},
      {"--tag", NULL, SY__OPT_LIST, &tags},
      {"--if-version", NULL, SY__OPT_VALUE, &if_version},
      {"--reason", NULL, SY__OPT_VALUE, &reason},
      {0},
  };
  char *owned = NULL;
  size_t len = 0;
  int64_t ifv = 0;
  json_t *body = NULL;
  sy__url u;
  int ex;

  sy__parse p = sy__args(cli, argc, argv, put_usage, opts, pos, &npos, 2, 2);
  if (p) {
    ex = sy__parse_exit(p);
    goto done;
  }
  ex = SY__EXIT_USAGE;
  if (type && !sy__one_of(type, types)) {
    sy__misuse(put_usage, "put: --type must be String, StringList, SecureString, Provider or Route");
    goto done;
  }
  if (tier && !sy__one_of(tier, tiers)) {
    sy__misuse(put_usage, "put: --tier must be Standard or Advanced");
    goto done;
  }
  if (if_version && sy__parse_i64(if_version, 0, INT64_MAX, &ifv)) {
    sy__misuse(put_usage, "put: --if-version needs a whole number >= 0");
    goto done;
  }
  for (size_t i = 0; i < tags.n; i++)
    if (!strchr(tags.v[i], '=') || tags.v[i][0] == '=') {
      sy__misuse(put_usage, "put: tag '%s' is not KEY=VALUE", tags.v[i]);
      goto done;
    }

  rc = param_url(&u, pos[0], NULL);
  if (rc) goto out;
  rc = read_value(pos[1], &val, &len, &owned);
  if (rc) goto out;
  if (!type && !overwrite) type = "String";

  body = json_object();
  if (!body) goto nomem;
  json_t *jv = json_stringn(val, len);
  if (!jv) {
    sy__err("the value is not valid UTF-8 text");
    rc = SY_EINVAL;
    goto out;
  }
  if (json_object_set_new(body, "value", jv)) goto nomem;
  if (type && json_object_set_new(body, "type", json_string(type))) goto nomem;
  if (overwrite && json_object_set_new(body, "overwrite", json_true())) goto nomem;
  if (desc && json_object_set_new(body, "description", json_string(desc))) goto bad_utf8;
  if (pattern && json_object_set_new(body, "allowed_pattern", json_string(pattern))) goto bad_utf8;
  if (tier && json_object_set_new(body, "tier", json_string(tier))) goto nomem;
  if (if_version && json_object_set_new(body, "if_version", json_integer(ifv))) goto nomem;
  if (reason && json_object_set_new(body, "reason", json_string(reason))) goto bad_utf8;
  if (tags.n) {
    json_t *t = json_object();
    if (!t || json_object_set_new(body, "tags", t)) goto nomem;
    rc = tags_object(&tags, t);
    if (rc) goto out;
  }

  rc = sy__call(cli, "PUT", &u, body, show_put, (void *)pos[0]);
  goto out;
bad_utf8:
  sy__err("an option is not valid UTF-8 text");
  rc = SY_EINVAL;
  goto out;
nomem:
  sy__err("out of memory");
  rc = SY_ENOMEM;
out:
  ex = sy__exit_of(rc);
done:
  json_decref(body);
  free(owned);
  sy__args_free(opts);
  return ex;
}

/* ---- get ------------------------------------------------------------------------------- */

/* 1 if the name's last segment is "history": a plain GET of it means the history route. */
static int names_history(const char *name) {
  size_t n = strlen(name);
  return n >= 8 && strcmp(name + n - 8, "/history") == 0;
}

/* The latest version of name, from the last entry of its history. */
static sy_rc latest_version(const sy__cli *cli, const char *name, int64_t *out) {
  sy_rc rc = SY_OK;
  sy__url u;
  json_t *all = json_array();
  if (!all) {
    sy__err("out of memory");
    return SY_ENOMEM;
  }
  rc = param_url(&u, name, "/history");
  if (rc) goto out;
  sy__url_query(&u, "limit", "1000");
  rc = sy__fetch_pages(cli, &u, "versions", all);
  if (rc) goto out;
  *out = sy__jint(json_array_get(all, json_array_size(all) - 1), "version");
  if (*out < 1) {
    sy__err("the server's history of %s holds no versions", name);
    rc = SY_EINTERNAL;
  }
out:
  json_decref(all);
  return rc;
}

/* What get prints besides the answer: the name asked for, and --raw. */
typedef struct value_out {
  const char *name;
  int raw;
} value_out;

/* Prints the answer's value and, unless raw, a newline; ctx is a value_out. */
static sy_rc show_value(const json_t *answer, void *ctx) {
  const value_out *o = ctx;
  json_t *jv = json_object_get(answer, "value");
  if (!json_is_string(jv)) {
    sy__err("%s has no value in the answer%s", o->name,
            strcmp(sy__jstr(answer, "type"), "SecureString") == 0 ? " (SecureString: add --decrypt)" : "");
    return SY_EINVAL;
  }
  fwrite(json_string_value(jv), 1, json_string_length(jv), stdout);
  if (!o->raw) fputc('\n', stdout);
  return SY_OK;
}

static int param_get(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *version = NULL, *label = NULL;
  int decrypt = 0, raw = 0;
  const sy__opt opts[] = {
      {"--version", NULL, SY__OPT_VALUE, &version},
      {"--label", NULL, SY__OPT_VALUE, &label},
      {"--decrypt", NULL, SY__OPT_FLAG, &decrypt},
      {"--raw", NULL, SY__OPT_FLAG, &raw},
      {0},
  };
  sy__url u;
  int64_t v = 0;

  sy__parse p = sy__args(cli, argc, argv, get_usage, opts, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  if (version && label) return sy__misuse(get_usage, "get: --version and --label exclude each other");
  if (version && sy__parse_i64(version, 1, INT64_MAX, &v))
    return sy__misuse(get_usage, "get: --version needs a whole number >= 1");

  if (names_history(pos[0])) {
    /* ".../history" must be addressed with a selector: NAME:VERSION or NAME:LABEL. */
    char sel[SY__URL_MAX];
    if (!version && !label) {
      rc = latest_version(cli, pos[0], &v);
      if (rc) goto out;
    }
    if (label)
      snprintf(sel, sizeof sel, "%s:%s", pos[0], label);
    else
      snprintf(sel, sizeof sel, "%s:%lld", pos[0], (long long)v);
    rc = param_url(&u, sel, NULL);
  } else {
    rc = param_url(&u, pos[0], NULL);
    sy__url_query(&u, "version", version);
    sy__url_query(&u, "label", label);
  }
  if (rc) goto out;
  if (decrypt) sy__url_query(&u, "decrypt", "true");
  value_out o = {pos[0], raw};
  rc = sy__call(cli, "GET", &u, NULL, show_value, &o);
out:
  return sy__exit_of(rc);
}

/* ---- ls and history: follow every page ------------------------------------------------- */

/* Fetches every page of u's array member key, then prints them: under --json as one answer
 * {["name": name,] key: [...], "next": null} (name may be NULL), else as a table of ncols
 * columns under head, a row_of row per element. Failures are printed. */
static sy_rc print_pages(const sy__cli *cli, const sy__url *u, const char *key, const char *name, size_t ncols,
                         const char *const *head, sy__row_fn row_of) {
  sy_rc rc = SY_OK;
  json_t *all = json_array(), *wrap = NULL;
  if (!all) {
    rc = SY_ENOMEM;
    goto out;
  }
  rc = sy__fetch_pages(cli, u, key, all);
  if (rc) goto out;
  if (cli->json) {
    wrap = name ? json_pack("{s:s,s:O,s:n}", "name", name, key, all, "next") : json_pack("{s:O,s:n}", key, all, "next");
    rc = wrap ? sy__print_json(wrap) : SY_ENOMEM;
    goto out;
  }
  rc = sy__table_print_rows(ncols, head, all, row_of, stdout);
out:
  if (rc == SY_ENOMEM) sy__err("out of memory");
  json_decref(wrap);
  json_decref(all);
  return rc;
}

static sy_rc param_row(sy__table *t, const json_t *e) {
  char ver[24];
  snprintf(ver, sizeof ver, "%lld", (long long)sy__jint(e, "version"));
  const char *row[] = {sy__jstr(e, "name"), sy__jstr(e, "type"), ver, sy__jstr(e, "last_modified")};
  return sy__table_row(t, row);
}

static int param_ls(sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *page = NULL;
  int recursive = 0;
  const sy__opt opts[] = {
      {"--recursive", "-r", SY__OPT_FLAG, &recursive},
      {"--page-size", NULL, SY__OPT_VALUE, &page},
      {0},
  };
  static const char *const head[] = {"NAME", "TYPE", "VERSION", "LAST_MODIFIED"};
  sy__url u;
  int64_t limit = 1000;

  sy__parse p = sy__args(cli, argc, argv, ls_usage, opts, pos, &npos, 0, 1);
  if (p) return sy__parse_exit(p);
  if (page && sy__parse_i64(page, 1, 1000, &limit))
    return sy__misuse(ls_usage, "ls: --page-size needs a number in 1..1000");

  char lim[24];
  snprintf(lim, sizeof lim, "%lld", (long long)limit);
  sy__url_init(&u, "/api/v1/params");
  sy__url_query(&u, "path", npos ? pos[0] : "/");
  if (recursive) sy__url_query(&u, "recursive", "true");
  sy__url_query(&u, "limit", lim);
  return sy__exit_of(print_pages(cli, &u, "params", NULL, 4, head, param_row));
}

static sy_rc version_row(sy__table *t, const json_t *e) {
  char ver[24], labels[256], value[256], reason[SY__REASON_CELL_BYTES];
  snprintf(ver, sizeof ver, "%lld", (long long)sy__jint(e, "version"));
  sy__json_cell(json_object_get(e, "labels"), 60, labels, sizeof labels);
  json_t *jv = json_object_get(e, "value");
  if (jv)
    sy__json_cell(jv, VALUE_CELL, value, sizeof value);
  else
    snprintf(value, sizeof value, "%s", "(hidden)");
  sy__reason_cell(e, reason, sizeof reason);
  const char *row[] = {
      ver, sy__jstr(e, "type"), sy__jstr(e, "last_modified"), sy__jstr(e, "last_modified_user"), labels, value, reason};
  return sy__table_row(t, row);
}

static int param_history(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  int decrypt = 0;
  const sy__opt opts[] = {{"--decrypt", NULL, SY__OPT_FLAG, &decrypt}, {0}};
  static const char *const head[] = {"VERSION", "TYPE", "LAST_MODIFIED", "USER", "LABELS", "VALUE", "REASON"};
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, history_usage, opts, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  rc = param_url(&u, pos[0], "/history");
  if (rc) return sy__exit_of(rc);
  sy__url_query(&u, "limit", "1000");
  if (decrypt) sy__url_query(&u, "decrypt", "true");
  return sy__exit_of(print_pages(cli, &u, "versions", pos[0], 7, head, version_row));
}

/* ---- rm -------------------------------------------------------------------------------- */

/* "deleted NAME", the name as the server gives it back; ctx is the name asked for. */
static sy_rc show_deleted(const json_t *answer, void *ctx) {
  const char *name = sy__jstr(answer, "deleted");
  printf("deleted %s\n", *name ? name : (const char *)ctx);
  return SY_OK;
}

static int param_rm(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *reason = NULL;
  const sy__opt opts[] = {{"--reason", NULL, SY__OPT_VALUE, &reason}, {0}};
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, rm_usage, opts, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  rc = param_url(&u, pos[0], NULL);
  if (rc) return sy__exit_of(rc);
  sy__url_query(&u, "reason", reason);
  return sy__exit_of(sy__call(cli, "DELETE", &u, NULL, show_deleted, (void *)pos[0]));
}

/* ---- labels ---------------------------------------------------------------------------- */

/* A JSON array of the strings v[0..n); NULL if out of memory or not UTF-8. */
static json_t *string_array(const char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++) {
    if (json_array_append_new(a, json_string(v[i]))) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

/* Sends METHOD /api/v1/params/NAME/labels with {"labels": [labels...]} and, when v > 0,
 * "version": v. On success the answer is left in *r for the caller to free. */
static sy_rc labels_send(const sy__cli *cli, const char *method, const char *name, const char *const *labels, size_t n,
                         int64_t v, sy__resp *r) {
  sy_rc rc = SY_OK;
  json_t *body = NULL;
  sy__url u;
  rc = param_url(&u, name, "/labels");
  if (rc) goto out;
  body = json_pack("{s:o}", "labels", string_array(labels, n));
  if (!body || (v > 0 && json_object_set_new(body, "version", json_integer(v)))) {
    sy__err("labels must be UTF-8 text");
    rc = SY_EINVAL;
    goto out;
  }
  rc = sy__http_url(cli, method, &u, body, r);
out:
  json_decref(body);
  return rc;
}

/* Prints "switchyard: <what>: a, b" to stderr when the answer's invalid_labels is not empty; returns 1 then. */
static int report_labels(const json_t *answer, const char *what) {
  const json_t *invalid = json_object_get(answer, "invalid_labels");
  if (!json_array_size(invalid)) return 0;
  fprintf(stderr, "switchyard: %s: ", what);
  print_list(stderr, invalid);
  fputc('\n', stderr);
  return 1;
}

static int param_label(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *version = NULL;
  const sy__opt opts[] = {{"--version", NULL, SY__OPT_VALUE, &version}, {0}};
  sy__resp r = {0};
  int64_t v = 0;

  sy__parse p = sy__args(cli, argc, argv, label_usage, opts, pos, &npos, 2, SY__MAX_POS);
  if (p) return sy__parse_exit(p);
  if (version && sy__parse_i64(version, 1, INT64_MAX, &v))
    return sy__misuse(label_usage, "label: --version needs a whole number >= 1");
  rc = labels_send(cli, "POST", pos[0], pos + 1, npos - 1, v, &r);
  if (rc) goto out;
  if (cli->json) {
    rc = sy__print_json(r.json);
    if (rc) goto out;
  } else {
    /* Name only the labels the server took: those asked for and not refused. */
    json_t *invalid = json_object_get(r.json, "invalid_labels");
    int shown = 0;
    for (size_t i = 1; i < npos; i++) {
      int refused = 0;
      size_t k;
      json_t *bad;
      json_array_foreach(invalid, k, bad) refused |= json_is_string(bad) && strcmp(json_string_value(bad), pos[i]) == 0;
      if (refused) continue;
      if (!shown++) printf("%s: version %lld labeled ", pos[0], (long long)sy__jint(r.json, "version"));
      printf("%s%s", shown > 1 ? ", " : "", pos[i]);
    }
    if (shown) fputc('\n', stdout);
  }
  if (report_labels(r.json, "invalid labels")) rc = SY_EINVAL;
out:
  sy__resp_free(&r);
  return sy__exit_of(rc);
}

static int param_unlabel(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__resp r = {0};

  sy__parse p = sy__args(cli, argc, argv, unlabel_usage, NULL, pos, &npos, 2, SY__MAX_POS);
  if (p) return sy__parse_exit(p);
  rc = labels_send(cli, "DELETE", pos[0], pos + 1, npos - 1, 0, &r);
  if (rc) goto out;
  if (cli->json) {
    rc = sy__print_json(r.json);
  } else {
    json_t *removed = json_object_get(r.json, "removed");
    printf("%s: removed ", pos[0]);
    if (json_array_size(removed))
      print_list(stdout, removed);
    else
      fputs("nothing", stdout);
    fputc('\n', stdout);
  }
  report_labels(r.json, "warning: labels not attached");
out:
  sy__resp_free(&r);
  return sy__exit_of(rc);
}

/* ---- tags ------------------------------------------------------------------------------ */

static int param_tag(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  json_t *body = NULL, *tags = NULL;
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, tag_usage, NULL, pos, &npos, 2, SY__MAX_POS);
  if (p) return sy__parse_exit(p);
  for (size_t i = 1; i < npos; i++)
    if (!strchr(pos[i], '=') || pos[i][0] == '=') return sy__misuse(tag_usage, "tag: '%s' is not KEY=VALUE", pos[i]);
  rc = param_url(&u, pos[0], "/tags");
  if (rc) goto out;
  tags = json_object();
  body = json_object();
  if (!tags || !body || json_object_set(body, "tags", tags)) {
    rc = SY_ENOMEM;
    sy__err("out of memory");
    goto out;
  }
  sy__list kv = {pos + 1, npos - 1};
  rc = tags_object(&kv, tags);
  if (rc) goto out;
  rc = sy__call(cli, "PUT", &u, body, show_tags, NULL);
out:
  json_decref(tags);
  json_decref(body);
  return sy__exit_of(rc);
}

static int param_untag(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  json_t *body = NULL;
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, untag_usage, NULL, pos, &npos, 2, SY__MAX_POS);
  if (p) return sy__parse_exit(p);
  rc = param_url(&u, pos[0], "/tags");
  if (rc) goto out;
  body = json_pack("{s:o}", "keys", string_array(pos + 1, npos - 1));
  if (!body) {
    sy__err("tag keys must be UTF-8 text");
    rc = SY_EINVAL;
    goto out;
  }
  rc = sy__call(cli, "DELETE", &u, body, show_tags, NULL);
out:
  json_decref(body);
  return sy__exit_of(rc);
}

/* ---- rollback -------------------------------------------------------------------------- */

/* What rollback prints besides the answer: the name and the version asked for. */
typedef struct rollback_out {
  const char *name;
  int64_t to;
} rollback_out;

/* "NAME: rolled back to version N as version M"; ctx is a rollback_out. */
static sy_rc show_rollback(const json_t *answer, void *ctx) {
  const rollback_out *o = ctx;
  printf("%s: rolled back to version %lld as version %lld\n", o->name, (long long)o->to,
         (long long)sy__jint(answer, "version"));
  return SY_OK;
}

static int param_rollback(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *to = NULL, *reason = NULL;
  const sy__opt opts[] = {
      {"--to-version", NULL, SY__OPT_VALUE, &to},
      {"--reason", NULL, SY__OPT_VALUE, &reason},
      {0},
  };
  json_t *body = NULL;
  sy__url u;
  int64_t v = 0;

  sy__parse p = sy__args(cli, argc, argv, rollback_usage, opts, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  if (!to) return sy__misuse(rollback_usage, "rollback: --to-version is required");
  if (sy__parse_i64(to, 1, INT64_MAX, &v))
    return sy__misuse(rollback_usage, "rollback: --to-version needs a whole number >= 1");
  rc = param_url(&u, pos[0], "/rollback");
  if (rc) goto out;
  body = json_pack("{s:I}", "to_version", (json_int_t)v);
  if (!body || (reason && json_object_set_new(body, "reason", json_string(reason)))) {
    sy__err("--reason must be UTF-8 text");
    rc = SY_EINVAL;
    goto out;
  }
  rollback_out o = {pos[0], v};
  rc = sy__call(cli, "POST", &u, body, show_rollback, &o);
out:
  json_decref(body);
  return sy__exit_of(rc);
}

static const sy__cmd param_cmds[] = {
    {"put", "create or overwrite", param_put},
    {"get", "print a value", param_get},
    {"ls", "list", param_ls},
    {"history", "versions", param_history},
    {"rm", "delete", param_rm},
    {"label", "attach labels", param_label},
    {"unlabel", "remove labels", param_unlabel},
    {"tag", "add tags", param_tag},
    {"untag", "remove tags", param_untag},
    {"rollback", "restore a version", param_rollback},
    {0},
};

int sy__cmd_param(sy__cli *cli, int argc, char **argv) {
  return sy__dispatch(cli, "param", param_usage, param_cmds, argc, argv);
}
