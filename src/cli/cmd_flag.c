/* cmd_flag.c — `switchyard flag ...` and `switchyard rollout FLAG ...`: feature flags over the HTTP API (a rollout
 * plan's forms of `switchyard rollout` are cmd_rollout.c's). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/table.h"
#include "core/param.h"

#define KEY_MAX 2048 /* bytes of a flag key the CLI will send */

static const char flag_usage[] =
    "usage: switchyard flag SUBCOMMAND [ARGS...]\n"
    "\n"
    "A flag's KEY is its path, with or without the leading '/': a/b and /a/b are the same flag.\n"
    "\n"
    "subcommands:\n"
    "  create KEY       create a flag\n"
    "  put KEY          write a new version of a flag's document\n"
    "  get KEY          print a flag: state, document, schema\n"
    "  ls [PREFIX]      list flags under PREFIX\n"
    "  eval KEY         evaluate a flag for a context\n"
    "  explain KEY      show how an evaluation decides: bucket, each rule and why, the result\n"
    "\n"
    "See also 'switchyard rollout --help': percentage, kill switch and status of a flag.\n"
    "run 'switchyard flag SUBCOMMAND --help' for its options.\n";

static const char create_usage[] =
    "usage: switchyard flag create KEY [--document JSON|@FILE] [--schema JSON|@FILE] [--reason R] [--json]\n"
    "\n"
    "Creates the flag KEY. The document is a JSON object (\"@FILE\" reads it from a file, \"@-\"\n"
    "from stdin); without --document the flag starts switched on at 0 percent, serving no one:\n"
    "  {\"enabled\": true, \"rollout_percentage\": 0}\n"
    "so that 'switchyard rollout KEY --percentage N' rolls it out.\n"
    "\n"
    "options:\n"
    "  --document JSON|@FILE   the flag document: enabled, rollout_percentage, variants, rules, config\n"
    "  --schema JSON|@FILE     the config fields' types and ranges, e.g.\n"
    "                          {\"max_buffer_timeout\": {\"type\": \"number\", \"min\": 2, \"max\": 10}}\n"
    "  --reason R              recorded in the audit log\n"
    "  --json                  print the server's answer as JSON\n";

static const char put_usage[] =
    "usage: switchyard flag put KEY --document JSON|@FILE [--schema JSON|@FILE] [--if-version N]\n"
    "                           [--reason R] [--json]\n"
    "\n"
    "Writes a new version of the flag's document (the schema is kept unless --schema is given).\n"
    "\n"
    "options:\n"
    "  --document JSON|@FILE   the whole new document (\"@-\" reads stdin)\n"
    "  --schema JSON|@FILE     a new schema\n"
    "  --if-version N          fail with a conflict unless the flag's latest version is N\n"
    "  --reason R              recorded in the audit log\n"
    "  --json                  print the server's answer as JSON\n";

static const char get_usage[] =
    "usage: switchyard flag get KEY [--json]\n"
    "\n"
    "Prints the flag's version, value type, kill switch, rollout percentage, who changed it\n"
    "last, its document and its schema. --json prints the server's object.\n";

static const char ls_usage[] =
    "usage: switchyard flag ls [PREFIX] [--json]\n"
    "\n"
    "Lists the flags whose path starts with PREFIX (default: all) as a table\n"
    "KEY TYPE ENABLED ROLLOUT VERSION. Follows every page.\n"
    "--json prints {\"flags\": [...every page...], \"next\": null}.\n";

static const char eval_usage[] =
    "usage: switchyard flag eval KEY [--context JSON|@FILE] [--subject ID] [--json]\n"
    "\n"
    "Evaluates the flag as a client would and prints the value (as JSON), the variant, the\n"
    "reason (STATIC, TARGETING_MATCH, SPLIT, DISABLED, DEFAULT or ERROR) and the version.\n"
    "An evaluation error (reason ERROR) is printed with its code; the value is then the\n"
    "default variant's and the exit status is still 0.\n"
    "\n"
    "options:\n"
    "  --context JSON|@FILE   the evaluation context, a JSON object of attributes\n"
    "  --subject ID           the subject being bucketed: sets the context's targetingKey\n"
    "  --json                 print the server's answer as JSON\n";

static const char explain_usage[] =
    "usage: switchyard flag explain KEY [--context JSON|@FILE] [--subject ID] [--json]\n"
    "\n"
    "Evaluates the flag and explains it: the subject's bucket (0..9999) against the rollout,\n"
    "each rule in order with whether it matched and why, any override, and the result.\n"
    "\n"
    "options:\n"
    "  --context JSON|@FILE   the evaluation context, a JSON object of attributes\n"
    "  --subject ID           sets the context's targetingKey\n"
    "  --json                 print the server's explanation as JSON\n";

static const char rollout_usage[] =
    "usage: switchyard rollout FLAG --percentage N [--enable|--disable] [--reason R] [--json]\n"
    "       switchyard rollout FLAG --enable|--disable [--reason R] [--json]\n"
    "       switchyard rollout FLAG --status [--json]\n"
    "\n"
    "The rollout of a feature flag, one command per step of a gradual rollout:\n"
    "  switchyard rollout FLAG --percentage 10      canary\n"
    "  switchyard rollout FLAG --status             enabled, percentage, what was served\n"
    "  switchyard rollout FLAG --percentage 50\n"
    "  switchyard rollout FLAG --percentage 100\n"
    "  switchyard rollout FLAG --disable            kill switch: everyone gets the default\n"
    "  switchyard rollout FLAG --enable             back to the percentage it had\n"
    "\n"
    "FLAG is the flag's key or path (a/b or /a/b), or --parameter-name PATH. Each write prints\n"
    "what changed, e.g. \"rollout_percentage: 10 -> 50 (version 4)\". The commands are idempotent:\n"
    "asking for what the flag already has writes nothing, says so, and exits 0. A percentage\n"
    "does not touch the kill switch, nor the kill switch the percentage.\n"
    "\n"
    "options:\n"
    "  --percentage N          0..100, at most two decimals (12.5): the share of subjects served\n"
    "  --disable               switch the flag off for everyone (the kill switch)\n"
    "  --enable                switch it back on\n"
    "  --status                print enabled, percentage, version, evaluations and the share\n"
    "                          served enabled over the last minute and the last hour\n"
    "  --parameter-name PATH   the flag, as runbooks written for manage_rollout.py name it\n"
    "  --reason R              recorded in the audit log\n"
    "  --json                  print the server's answer as JSON\n"
    "\n"
    "A rollout plan takes those steps by itself, gated on live metrics (docs/ROLLOUTS.md):\n"
    "  switchyard rollout plan create|ls|status|promote|pause|resume|abort|start|delete ...\n"
    "  switchyard rollout PLAN --rollback [--gradual] [--reason R] [--json]\n"
    "see 'switchyard rollout plan --help'. A flag named \"plan\" is 'switchyard rollout /plan'.\n";

/* ---- shared pieces --------------------------------------------------------------------- */

/* Copies s into out (cap bytes) with bytes that could garble the terminal replaced by '?'. */
static void shown(const char *s, char *out, size_t cap) {
  size_t n = strlen(s);
  if (n > cap - 4) n = cap - 4;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  snprintf(out + n, cap - n, "%s", strlen(s) > n ? "..." : "");
}

/* The key of a flag given as "a/b" or "/a/b": a pointer into arg past the leading '/'. */
static const char *key_of(const char *arg) { return arg[0] == '/' ? arg + 1 : arg; }

/* Builds "/api/v1/flags/KEY[suffix]" into u. The key is the flag's path without its leading
 * '/', checked with core's name rules, the server's own. Prints and fails on a bad key. */
static sy_rc flag_url(sy__url *u, const char *arg, const char *suffix) {
  char path[KEY_MAX + 2], msg[256], show[128];
  const char *key = key_of(arg);
  int n = snprintf(path, sizeof path, "/%s", key);
  sy_rc rc = SY_OK;
  shown(arg, show, sizeof show);
  if (!*key) {
    sy__err("%s: invalid flag key '%s': it is empty", sy__rc_code(SY_EINVAL), show);
    return SY_EINVAL;
  }
  if (n < 0 || (size_t)n >= sizeof path) {
    sy__err("%s: invalid flag key '%s': longer than %d bytes", sy__rc_code(SY_EINVAL), show, KEY_MAX);
    return SY_EINVAL;
  }
  rc = sy__name_check(path, (size_t)n, msg, sizeof msg);
  if (rc) {
    sy__err("%s: invalid flag key '%s': %s", sy__rc_code(rc), show, msg);
    return rc;
  }
  sy__url_init(u, "/api/v1/flags");
  sy__url_add(u, path);
  if (suffix) sy__url_add(u, suffix);
  return sy__url_done(u);
}

/* Reads the JSON object an option carries: the text itself, or "@PATH" for a file's ("@-":
 * stdin), at most SY__MAX_FILE bytes. On success *out is a new reference and the result is
 * SY__EXIT_OK. Text that is not a JSON object is misuse (the reason and the usage printed,
 * SY__EXIT_USAGE); a file that cannot be read is SY__EXIT_ERR (the reason printed). */
static int json_option(const char *usage, const char *cmd, const char *opt, const char *arg, json_t **out) {
  char *owned = NULL;
  const char *text = arg;
  size_t len = strlen(arg);
  json_error_t err;
  int ex = SY__EXIT_OK;
  *out = NULL;
  if (arg[0] == '@') {
    if (!arg[1]) return sy__misuse(usage, "%s: %s @FILE needs a path ('@-' reads stdin)", cmd, opt);
    if (sy__read_bounded(arg + 1, SY__MAX_FILE, &owned, &len)) return SY__EXIT_ERR;
    text = owned;
  }
  *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  if (!*out) {
    ex = sy__misuse(usage, "%s: %s%s%s is not valid JSON: %s (line %d, column %d)", cmd, opt, owned ? " " : "",
                    owned ? arg + 1 : "", err.text, err.line, err.column);
  } else if (!json_is_object(*out)) {
    ex = sy__misuse(usage, "%s: %s must be a JSON object", cmd, opt);
    json_decref(*out);
    *out = NULL;
  }
  free(owned);
  return ex;
}

/* Writes a JSON scalar for a human into out: integers and reals in decimal (50, 12.5),
 * true/false, strings as they are, null or absent as "-", anything else as compact JSON. */
static void value_text(const json_t *v, char *out, size_t cap) {
  if (!v || json_is_null(v)) {
    snprintf(out, cap, "-");
  } else if (json_is_integer(v)) {
    snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  } else if (json_is_real(v)) {
    snprintf(out, cap, "%.15g", json_real_value(v));
  } else if (json_is_boolean(v)) {
    snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
  } else if (json_is_string(v)) {
    shown(json_string_value(v), out, cap);
  } else {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    shown(s ? s : "?", out, cap);
    free(s);
  }
}

/* Writes any JSON value as compact JSON into out, cut to fit ("..." marks a cut). */
static void json_text(const json_t *v, char *out, size_t cap) {
  char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)) : NULL;
  shown(s ? s : "-", out, cap);
  free(s);
}

/* Prints "label:" padded to a column, then the value of the member key of obj. */
static void print_field(const char *label, const json_t *obj, const char *key) {
  char v[512];
  value_text(json_object_get(obj, key), v, sizeof v);
  printf("%-20s%s\n", label, v);
}

/* Prints v as indented JSON under a heading, "(none)" when it is absent, null or empty. */
static void print_block(const char *label, const json_t *v) {
  if (!v || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
      (json_is_string(v) && json_string_length(v) == 0)) {
    printf("%-20s(none)\n", label);
    return;
  }
  printf("%s\n", label);
  json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
  fputc('\n', stdout);
}

/* Sets member key of obj to a new reference v; SY_ENOMEM (printed) if that fails. */
static sy_rc set_new(json_t *obj, const char *key, json_t *v) {
  if (v && json_object_set_new(obj, key, v) == 0) return SY_OK;
  sy__err("out of memory");
  return SY_ENOMEM;
}

/* Sets "reason" in body; SY_EINVAL (printed) when it is not UTF-8. */
static sy_rc set_reason(json_t *body, const char *reason) {
  json_t *r;
  if (!reason) return SY_OK;
  r = json_string(reason);
  if (!r || json_object_set_new(body, "reason", r)) {
    sy__err("--reason must be UTF-8 text");
    return SY_EINVAL;
  }
  return SY_OK;
}

/* ---- create and put -------------------------------------------------------------------- */

/* "created KEY: version N" or "KEY: version N"; ctx is the verb ("created" or NULL). */
static sy_rc show_written(const json_t *answer, void *ctx) {
  const char *key = sy__jstr(answer, "key");
  char k[KEY_MAX];
  shown(key, k, sizeof k);
  printf("%s%s%s: version %lld\n", ctx ? (const char *)ctx : "", ctx ? " " : "", k,
         (long long)sy__jint(answer, "version"));
  return SY_OK;
}

static int flag_create(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *doc_arg = NULL, *schema_arg = NULL, *reason = NULL;
  const sy__opt opts[] = {
      {"--document", NULL, SY__OPT_VALUE, &doc_arg},
      {"--schema", NULL, SY__OPT_VALUE, &schema_arg},
      {"--reason", NULL, SY__OPT_VALUE, &reason},
      {0},
  };
  json_t *doc = NULL, *schema = NULL, *body = NULL;
  sy__url u;
  int ex;

  sy__parse p = sy__args(cli, argc, argv, create_usage, opts, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  if (doc_arg && (ex = json_option(create_usage, "create", "--document", doc_arg, &doc))) goto done;
  if (schema_arg && (ex = json_option(create_usage, "create", "--schema", schema_arg, &schema))) goto done;
  rc = flag_url(&u, pos[0], NULL);
  if (rc) goto out;
  if (!doc) doc = json_pack("{s:b,s:i}", "enabled", 1, "rollout_percentage", 0);
  body = json_pack("{s:s}", "key", key_of(pos[0]));
  if (!doc || !body) {
    sy__err("out of memory");
    rc = SY_ENOMEM;
    goto out;
  }
  rc = set_new(body, "document", json_incref(doc));
  if (!rc && schema) rc = set_new(body, "schema", json_incref(schema));
  if (!rc) rc = set_reason(body, reason);
  if (rc) goto out;
  sy__url_init(&u, "/api/v1/flags");
  rc = sy__call(cli, "POST", &u, body, show_written, "created");
out:
  ex = sy__exit_of(rc);
done:
  json_decref(doc);
  json_decref(schema);
  json_decref(body);
  return ex;
}

static int flag_put(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *doc_arg = NULL, *schema_arg = NULL, *reason = NULL, *if_version = NULL;
  const sy__opt opts[] = {
      {"--document", NULL, SY__OPT_VALUE, &doc_arg},
      {"--schema", NULL, SY__OPT_VALUE, &schema_arg},
      {"--if-version", NULL, SY__OPT_VALUE, &if_version},
      {"--reason", NULL, SY__OPT_VALUE, &reason},
      {0},
  };
  json_t *doc = NULL, *schema = NULL, *body = NULL;
  int64_t ifv = 0;
  sy__url u;
  int ex;

  sy__parse p = sy__args(cli, argc, argv, put_usage, opts, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  if (!doc_arg) return sy__misuse(put_usage, "put: --document is required");
  if (if_version && sy__parse_i64(if_version, 1, INT64_MAX, &ifv))
    return sy__misuse(put_usage, "put: --if-version needs a whole number >= 1");
  if ((ex = json_option(put_usage, "put", "--document", doc_arg, &doc))) goto done;
  if (schema_arg && (ex = json_option(put_usage, "put", "--schema", schema_arg, &schema))) goto done;
  rc = flag_url(&u, pos[0], NULL);
  if (rc) goto out;
  body = json_object();
  if (!body) {
    sy__err("out of memory");
    rc = SY_ENOMEM;
    goto out;
  }
  rc = set_new(body, "document", json_incref(doc));
  if (!rc && schema) rc = set_new(body, "schema", json_incref(schema));
  if (!rc && if_version) rc = set_new(body, "if_version", json_integer(ifv));
  if (!rc) rc = set_reason(body, reason);
  if (rc) goto out;
  rc = sy__call(cli, "PUT", &u, body, show_written, NULL);
out:
  ex = sy__exit_of(rc);
done:
  json_decref(doc);
  json_decref(schema);
  json_decref(body);
  return ex;
}

/* ---- get and ls ------------------------------------------------------------------------ */

static sy_rc show_flag(const json_t *answer, void *ctx) {
  char who[512], when[128];
  (void)ctx;
  print_field("key:", answer, "key");
  print_field("version:", answer, "version");
  print_field("type:", answer, "type");
  print_field("enabled:", answer, "enabled");
  print_field("rollout_percentage:", answer, "rollout_percentage");
  value_text(json_object_get(answer, "last_modified"), when, sizeof when);
  value_text(json_object_get(answer, "last_modified_user"), who, sizeof who);
  printf("%-20s%s by %s\n", "last_modified:", when, who);
  print_block("document:", json_object_get(answer, "document"));
  print_block("schema:", json_object_get(answer, "schema"));
  return SY_OK;
}

static int flag_get(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, get_usage, NULL, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  rc = flag_url(&u, pos[0], NULL);
  if (rc) return sy__exit_of(rc);
  return sy__exit_of(sy__call(cli, "GET", &u, NULL, show_flag, NULL));
}

static sy_rc flag_row(sy__table *t, const json_t *e) {
  char ver[32], enabled[16], pct[32], type[64];
  value_text(json_object_get(e, "version"), ver, sizeof ver);
  value_text(json_object_get(e, "enabled"), enabled, sizeof enabled);
  value_text(json_object_get(e, "rollout_percentage"), pct, sizeof pct);
  value_text(json_object_get(e, "type"), type, sizeof type);
  const char *row[] = {sy__jstr(e, "key"), type, enabled, pct, ver};
  return sy__table_row(t, row);
}

static int flag_ls(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  static const char *const head[] = {"KEY", "TYPE", "ENABLED", "ROLLOUT", "VERSION"};
  char prefix[KEY_MAX + 2];
  json_t *all = NULL, *wrap = NULL;
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, ls_usage, NULL, pos, &npos, 0, 1);
  if (p) return sy__parse_exit(p);
  sy__url_init(&u, "/api/v1/flags");
  if (npos && *key_of(pos[0])) {
    /* the server takes the prefix as a path: "/a/" */
    if (snprintf(prefix, sizeof prefix, "/%s", key_of(pos[0])) >= (int)sizeof prefix)
      return sy__misuse(ls_usage, "ls: PREFIX is longer than %d bytes", KEY_MAX);
    sy__url_query(&u, "prefix", prefix);
  }
  all = json_array();
  if (!all) goto nomem;
  rc = sy__fetch_pages(cli, &u, "flags", all);
  if (rc) goto out;
  if (cli->json) {
    wrap = json_pack("{s:O,s:n}", "flags", all, "next");
    if (!wrap) goto nomem;
    rc = sy__print_json(wrap);
    goto out;
  }
  rc = sy__table_print_rows(5, head, all, flag_row, stdout);
  if (rc == SY_ENOMEM) goto nomem;
  if (rc) sy__err("cannot write to stdout");
  goto out;
nomem:
  sy__err("out of memory");
  rc = SY_ENOMEM;
out:
  json_decref(wrap);
  json_decref(all);
  return sy__exit_of(rc);
}

/* ---- eval and explain ------------------------------------------------------------------ */

/* Builds {"context": {...}} from --context and --subject into *body (a new reference).
 * Returns an exit code: SY__EXIT_OK, or the failure's (printed). */
static int context_body(const char *usage, const char *cmd, const char *ctx_arg, const char *subject, json_t **body) {
  json_t *ctx = NULL;
  int ex = SY__EXIT_OK;
  *body = NULL;
  if (ctx_arg && (ex = json_option(usage, cmd, "--context", ctx_arg, &ctx))) return ex;
  if (!ctx) ctx = json_object();
  if (!ctx) goto nomem;
  if (subject) {
    json_t *s = json_string(subject);
    if (!s) {
      json_decref(ctx);
      return sy__misuse(usage, "%s: --subject must be UTF-8 text", cmd);
    }
    if (json_object_set_new(ctx, "targetingKey", s)) goto nomem;
  }
  *body = json_pack("{s:o}", "context", ctx);
  if (!*body) goto nomem_body;
  return SY__EXIT_OK;
nomem:
  json_decref(ctx);
nomem_body:
  sy__err("out of memory");
  return SY__EXIT_ERR;
}

/* Prints "error:" with the error code and details of an evaluation (error_code and
 * error_details) or of an explanation's result (error and detail), when it has them. */
static void print_eval_error(const char *label, const json_t *r) {
  const char *code = sy__jstr(r, "error_code"), *details = sy__jstr(r, "error_details");
  if (!*code && !*details) {
    code = sy__jstr(r, "error");
    details = *code ? sy__jstr(r, "detail") : "";
  }
  char c[128], d[1024];
  if (!*code && !*details) return;
  shown(*code ? code : "ERROR", c, sizeof c);
  shown(details, d, sizeof d);
  printf("%-20s%s%s%s\n", label, c, *d ? ": " : "", d);
}

static sy_rc show_eval(const json_t *answer, void *ctx) {
  char v[1024];
  (void)ctx;
  json_text(json_object_get(answer, "value"), v, sizeof v);
  printf("%-20s%s\n", "value:", v);
  print_field("variant:", answer, "variant");
  print_field("reason:", answer, "reason");
  print_field("version:", answer, "version");
  print_eval_error("error:", answer);
  return SY_OK;
}

/* Prints the bucket line of an explanation: the subject's bucket and, with a percentage,
 * whether it falls inside the rollout (bucket < percentage * 100, the bucketing contract). */
static void print_bucket(const json_t *answer) {
  const json_t *b = json_object_get(answer, "bucket"), *p = json_object_get(answer, "rollout_percentage");
  char pct[64];
  value_text(p, pct, sizeof pct);
  if (!json_is_integer(b)) {
    printf("%-20snone: the context has no targetingKey (--subject)\n", "bucket:");
  } else if (json_is_number(p)) {
    long long bucket = (long long)json_integer_value(b);
    long long cut = llround(json_number_value(p) * 100.0);
    printf("%-20s%lld of 0..9999: %s the rollout of %s%% (buckets below %lld)\n", "bucket:", bucket,
           bucket < cut ? "inside" : "outside", pct, cut);
  } else {
    printf("%-20s%lld of 0..9999\n", "bucket:", (long long)json_integer_value(b));
  }
  if (json_is_number(p) && !json_is_integer(b)) printf("%-20s%s%%\n", "rollout_percentage:", pct);
}

/* Prints the rules of an explanation in order: "  1. NAME: matched|no match — why". */
static void print_rules(const json_t *rules) {
  size_t i;
  json_t *r;
  if (!json_is_array(rules) || json_array_size(rules) == 0) {
    printf("%-20s(none)\n", "rules:");
    return;
  }
  printf("rules:\n");
  json_array_foreach(rules, i, r) {
    char name[256], why[2048];
    const json_t *m = json_object_get(r, "matched");
    shown(*sy__jstr(r, "name") ? sy__jstr(r, "name") : "(unnamed)", name, sizeof name);
    shown(sy__jstr(r, "why"), why, sizeof why);
    printf("  %zu. %s: %s%s%s%s\n", i + 1, name,
           json_is_true(m)    ? "matched"
           : json_is_false(m) ? "no match"
                              : "not reached",
           *why ? " - " : "", why, json_is_true(json_object_get(r, "decided")) ? " (decides the result)" : "");
  }
}

/* The members of an explanation this file prints by name; any other is printed as JSON. */
static const char *const explained[] = {"key",   "version", "enabled",  "bucket", "rollout_percentage",
                                        "rules", "result",  "override", NULL};

/* Prints the env_override of an explanation: the variable, its value, whether it decided. */
static void print_override(const json_t *ov) {
  char var[256], val[256];
  if (!json_is_object(ov)) return;
  shown(sy__jstr(ov, "variable"), var, sizeof var);
  if (!json_is_string(json_object_get(ov, "value"))) {
    printf("%-20s%s is not set\n", "override:", var);
    return;
  }
  shown(sy__jstr(ov, "value"), val, sizeof val);
  printf("%-20s%s=%s%s\n", "override:", var, val,
         json_is_true(json_object_get(ov, "applied")) ? " (decides the result)" : " (not applied)");
}

static sy_rc show_explain(const json_t *answer, void *ctx) {
  const json_t *res = json_object_get(answer, "result");
  const char *k;
  json_t *v;
  char text[2048];
  (void)ctx;
  if (*sy__jstr(answer, "key")) print_field("flag:", answer, "key");
  if (json_object_get(answer, "version")) print_field("version:", answer, "version");
  if (json_is_false(json_object_get(answer, "enabled")))
    printf("%-20sfalse: the kill switch is off, everyone gets the default\n", "enabled:");
  else if (json_is_true(json_object_get(answer, "enabled")))
    printf("%-20strue\n", "enabled:");
  print_bucket(answer);
  print_rules(json_object_get(answer, "rules"));
  print_override(json_object_get(answer, "override"));
  json_object_foreach((json_t *)answer, k, v) {
    if (sy__one_of(k, explained) || json_is_null(v)) continue;
    char label[128];
    snprintf(label, sizeof label, "%s:", k);
    json_text(v, text, sizeof text);
    printf("%-20s%s\n", label, text);
  }
  if (!json_is_object(res)) {
    printf("%-20s-\n", "result:");
    return SY_OK;
  }
  char value[1024], variant[256], reason[64];
  json_text(json_object_get(res, "value"), value, sizeof value);
  value_text(json_object_get(res, "variant"), variant, sizeof variant);
  value_text(json_object_get(res, "reason"), reason, sizeof reason);
  printf("%-20svalue %s, variant %s, reason %s\n", "result:", value, variant, reason);
  print_eval_error("error:", res);
  return SY_OK;
}

/* eval and explain: POST /api/v1/flags/KEY/<suffix> with the context. */
static int flag_ask(sy__cli *cli, int argc, char **argv, const char *usage, const char *suffix, sy__show_fn show) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *ctx_arg = NULL, *subject = NULL;
  const sy__opt opts[] = {
      {"--context", NULL, SY__OPT_VALUE, &ctx_arg},
      {"--subject", NULL, SY__OPT_VALUE, &subject},
      {0},
  };
  json_t *body = NULL;
  sy__url u;
  int ex;

  sy__parse p = sy__args(cli, argc, argv, usage, opts, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  if ((ex = context_body(usage, argv[0], ctx_arg, subject, &body))) return ex;
  rc = flag_url(&u, pos[0], suffix);
  if (!rc) rc = sy__call(cli, "POST", &u, body, show, NULL);
  json_decref(body);
  return sy__exit_of(rc);
}

static int flag_eval(sy__cli *cli, int argc, char **argv) {
  return flag_ask(cli, argc, argv, eval_usage, "/evaluate", show_eval);
}

static int flag_explain(sy__cli *cli, int argc, char **argv) {
  return flag_ask(cli, argc, argv, explain_usage, "/explain", show_explain);
}

static const sy__cmd flag_cmds[] = {
    {"create", "create a flag", flag_create},
    {"put", "new document version", flag_put},
    {"get", "print a flag", flag_get},
    {"ls", "list flags", flag_ls},
    {"eval", "evaluate", flag_eval},
    {"explain", "explain an evaluation", flag_explain},
    {0},
};

int sy__cmd_flag(sy__cli *cli, int argc, char **argv) {
  return sy__dispatch(cli, "flag", flag_usage, flag_cmds, argc, argv);
}

/* ---- rollout --------------------------------------------------------------------------- */

/* Parses a rollout percentage as a flag document holds it: 0..100 with at most two decimals
 * ("10", "12.5", "0.05"), no sign, no exponent. *hundredths gets it times 100. */
static sy_rc parse_percentage(const char *s, int64_t *hundredths) {
  int64_t whole = 0, frac = 0;
  size_t i = 0, nd = 0, nf = 0;
  for (; s[i] >= '0' && s[i] <= '9'; i++, nd++) {
    if (nd >= 3) return SY_EINVAL;
    whole = whole * 10 + (s[i] - '0');
  }
  if (s[i] == '.') {
    for (i++; s[i] >= '0' && s[i] <= '9'; i++, nf++) {
      if (nf >= 2) return SY_EINVAL;
      frac = frac * 10 + (s[i] - '0');
    }
    if (nf == 0) return SY_EINVAL;
    if (nf == 1) frac *= 10;
  }
  if (s[i] || nd == 0 || whole * 100 + frac > 10000) return SY_EINVAL;
  *hundredths = whole * 100 + frac;
  return SY_OK;
}

/* What a rollout write asked for, to say so when nothing changed. */
typedef struct rollout_ask {
  const char *key;
  const char *pct;     /* the percentage asked for ("12.5"), or NULL */
  const char *switch_; /* "true", "false" or NULL */
} rollout_ask;

/* "rollout_percentage: 10 -> 50 (version 4)" for each member of the answer's "changed"
 * object ([old, new] pairs), the percentage first; "no change: ..." when it is empty. */
static sy_rc show_rollout(const json_t *answer, void *ctx) {
  const rollout_ask *a = ctx;
  const json_t *changed = json_object_get(answer, "changed");
  long long version = (long long)sy__jint(answer, "version");
  static const char *const order[] = {"rollout_percentage", "enabled", NULL};
  const char *k;
  json_t *v;
  char key[KEY_MAX];
  shown(a->key, key, sizeof key);
  if (!json_is_object(changed)) {
    sy__err("the server's answer has no \"changed\" object");
    return SY_EINTERNAL;
  }
  if (json_object_size(changed) == 0) {
    printf("no change: %s already has", key);
    if (a->pct) printf(" rollout_percentage %s", a->pct);
    if (a->switch_) printf("%s enabled %s", a->pct ? "," : "", a->switch_);
    printf(" (version %lld); nothing was written\n", version);
    return SY_OK;
  }
  for (size_t i = 0; order[i]; i++) {
    v = json_object_get(changed, order[i]);
    if (!v) continue;
    char from[64], to[64];
    value_text(json_array_get(v, 0), from, sizeof from);
    value_text(json_array_get(v, 1), to, sizeof to);
    printf("%s: %s -> %s (version %lld)\n", order[i], from, to, version);
  }
  json_object_foreach((json_t *)changed, k, v) {
    if (sy__one_of(k, order)) continue;
    char name[128], from[256], to[256];
    shown(k, name, sizeof name);
    json_text(json_array_get(v, 0), from, sizeof from);
    json_text(json_array_get(v, 1), to, sizeof to);
    printf("%s: %s -> %s (version %lld)\n", name, from, to, version);
  }
  return SY_OK;
}

/* Formats the share of evaluations served enabled (a fraction 0..1) as "48.2%", or "-". */
static void share_text(const json_t *v, char *out, size_t cap) {
  if (json_is_number(v))
    snprintf(out, cap, "%.1f%%", json_number_value(v) * 100.0);
  else
    snprintf(out, cap, "-");
}

static sy_rc show_status(const json_t *answer, void *ctx) {
  const json_t *ev = json_object_get(answer, "evaluations");
  char m[32], h[32], sm[32], sh[32];
  (void)ctx;
  print_field("flag:", answer, "key");
  print_field("enabled:", answer, "enabled");
  print_field("rollout_percentage:", answer, "rollout_percentage");
  print_field("version:", answer, "version");
  value_text(json_object_get(ev, "last_minute"), m, sizeof m);
  value_text(json_object_get(ev, "last_hour"), h, sizeof h);
  share_text(json_object_get(ev, "enabled_share_last_minute"), sm, sizeof sm);
  share_text(json_object_get(ev, "enabled_share_last_hour"), sh, sizeof sh);
  printf("%-20s%s in the last minute, %s in the last hour\n", "evaluations:", m, h);
  printf("%-20s%s in the last minute, %s in the last hour\n", "served enabled:", sm, sh);
  return SY_OK;
}

int sy__cmd_rollout(sy__cli *cli, int argc, char **argv) {
  int ex = SY__EXIT_OK;
  if (sy__rollout_plans(cli, argc, argv, &ex)) return ex; /* `rollout plan ...`, `rollout PLAN --rollback` */
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *pname = NULL, *pct = NULL, *reason = NULL, *flag;
  int status = 0, enable = 0, disable = 0;
  const sy__opt opts[] = {
      {"--parameter-name", NULL, SY__OPT_VALUE, &pname},
      {"--percentage", NULL, SY__OPT_VALUE, &pct},
      {"--status", NULL, SY__OPT_FLAG, &status},
      {"--enable", NULL, SY__OPT_FLAG, &enable},
      {"--disable", NULL, SY__OPT_FLAG, &disable},
      {"--reason", NULL, SY__OPT_VALUE, &reason},
      {0},
  };
  int64_t h = 0;
  json_t *body = NULL;
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, rollout_usage, opts, pos, &npos, 0, 1);
  if (p) return sy__parse_exit(p);
  if (npos && pname) return sy__misuse(rollout_usage, "rollout: name the flag once: FLAG or --parameter-name");
  if (!npos && !pname) return sy__misuse(rollout_usage, "rollout: missing flag: give FLAG or --parameter-name PATH");
  flag = npos ? pos[0] : pname;
  if (!status && !pct && !enable && !disable)
    return sy__misuse(rollout_usage, "rollout: nothing to do: give --percentage N, --enable, --disable or --status");
  if (status && (pct || enable || disable || reason))
    return sy__misuse(rollout_usage,
                      "rollout: --status only reads; it takes no --percentage, --enable, --disable "
                      "or --reason");
  if (enable && disable) return sy__misuse(rollout_usage, "rollout: --enable and --disable exclude each other");
  if (pct && parse_percentage(pct, &h)) {
    char show[64];
    shown(pct, show, sizeof show);
    return sy__misuse(rollout_usage,
                      "rollout: --percentage must be a number from 0 to 100 with at most two decimals, not '%s'", show);
  }

  if (status) {
    rc = flag_url(&u, flag, "/status");
    if (!rc) rc = sy__call(cli, "GET", &u, NULL, show_status, NULL);
    return sy__exit_of(rc);
  }
  rc = flag_url(&u, flag, "/rollout");
  if (rc) goto out;
  body = json_object();
  if (!body) {
    sy__err("out of memory");
    rc = SY_ENOMEM;
    goto out;
  }
  if (pct) rc = set_new(body, "percentage", h % 100 ? json_real((double)h / 100.0) : json_integer(h / 100));
  if (!rc && (enable || disable)) rc = set_new(body, "enabled", json_boolean(enable));
  if (!rc) rc = set_reason(body, reason);
  if (rc) goto out;
  char asked[32];
  if (h % 100)
    snprintf(asked, sizeof asked, "%lld.%02lld", (long long)(h / 100), (long long)(h % 100));
  else
    snprintf(asked, sizeof asked, "%lld", (long long)(h / 100));
  if (h % 10 == 0 && h % 100) asked[strlen(asked) - 1] = 0; /* 12.50 -> 12.5 */
  rollout_ask a = {key_of(flag), pct ? asked : NULL, enable ? "true" : disable ? "false" : NULL};
  rc = sy__call(cli, "POST", &u, body, show_rollout, &a);
out:
  json_decref(body);
  return sy__exit_of(rc);
}
