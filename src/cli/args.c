/* args.c — option parsing, subcommand dispatch, error printing and bounded reads for the CLI. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sy__err(const char *fmt, ...) {
  va_list ap;
  fputs("switchyard: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int sy__misuse(const char *usage, const char *fmt, ...) {
  va_list ap;
  fputs("switchyard: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n\n", stderr);
  fputs(usage, stderr);
  return SY__EXIT_USAGE;
}

int sy__exit_of(sy_rc rc) { return rc ? SY__EXIT_ERR : SY__EXIT_OK; }

int sy__parse_exit(sy__parse p) { return p == SY__PARSE_HELP ? SY__EXIT_OK : SY__EXIT_USAGE; }

sy_rc sy__parse_i64(const char *s, int64_t min, int64_t max, int64_t *out) {
  char *end = NULL;
  long long v;
  if (!s || !*s || *s == ' ' || *s == '+') return SY_EINVAL;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno || *end || v < min || v > max) return SY_EINVAL;
  *out = (int64_t)v;
  return SY_OK;
}

int sy__one_of(const char *s, const char *const *choices) {
  for (size_t i = 0; choices[i]; i++)
    if (strcmp(s, choices[i]) == 0) return 1;
  return 0;
}

int sy__dispatch(sy__cli *cli, const char *group, const char *usage, const sy__cmd *cmds, int argc, char **argv) {
  if (argc < 2) return sy__misuse(usage, "%s: missing subcommand", group);
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
    fputs(usage, stdout);
    return SY__EXIT_OK;
  }
  for (size_t i = 0; cmds[i].name; i++)
    if (strcmp(argv[1], cmds[i].name) == 0) return cmds[i].run(cli, argc - 1, argv + 1);
  return sy__misuse(usage, "%s: unknown subcommand '%s'", group, argv[1]);
}

/* Finds the option spelled arg (up to len bytes) in opts; NULL if none. */
static const sy__opt *opt_find(const sy__opt *opts, const char *arg, size_t len) {
  for (size_t i = 0; opts[i].name; i++) {
    if (strlen(opts[i].name) == len && strncmp(opts[i].name, arg, len) == 0) return &opts[i];
    if (opts[i].alias && strlen(opts[i].alias) == len && strncmp(opts[i].alias, arg, len) == 0) return &opts[i];
  }
  return NULL;
}

/* Appends v to a list option; the list is sized for every argument so it cannot overflow. */
static int list_add(const sy__opt *o, int argc, const char *v) {
  sy__list *l = o->dest;
  if (!l->v) {
    l->v = calloc((size_t)argc + 1, sizeof *l->v);
    if (!l->v) return -1;
  }
  l->v[l->n++] = v;
  return 0;
}

void sy__args_free(const sy__opt *opts) {
  for (size_t i = 0; opts && opts[i].name; i++) {
    if (opts[i].kind != SY__OPT_LIST) continue;
    sy__list *l = opts[i].dest;
    free(l->v);
    l->v = NULL;
    l->n = 0;
  }
}

sy__parse sy__args(sy__cli *cli, int argc, char **argv, const char *usage, const sy__opt *opts, const char **pos,
                   size_t *npos, size_t min_pos, size_t max_pos) {
  static const sy__opt none[] = {{0}};
  const sy__opt *greedy = NULL; /* the list option that may take more values */
  int only_pos = 0;
  if (!opts) opts = none;
  if (max_pos > SY__MAX_POS) max_pos = SY__MAX_POS;
  *npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_pos || a[0] != '-' || a[1] == 0) {
      if (greedy && *npos >= max_pos && strchr(a, '=') && !only_pos) {
        if (list_add(greedy, argc, a)) goto nomem;
        continue;
      }
      greedy = NULL;
      if (*npos >= max_pos) {
        sy__misuse(usage, "%s: unexpected argument '%s'", argv[0], a);
        return SY__PARSE_MISUSE;
      }
      pos[(*npos)++] = a;
      continue;
    }
    greedy = NULL;
    if (strcmp(a, "--") == 0) {
      only_pos = 1;
      continue;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return SY__PARSE_HELP;
    }
    const char *eq = strchr(a, '=');
    size_t len = eq && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
    const char *inline_val = eq && a[1] == '-' ? eq + 1 : NULL;
    if (strcmp(a, "--json") == 0) {
      cli->json = 1;
      continue;
    }
    if (len == 8 && strncmp(a, "--server", 8) == 0) {
      if (!inline_val && i + 1 >= argc) goto missing;
      cli->server = inline_val ? inline_val : argv[++i];
      continue;
    }
    const sy__opt *o = opt_find(opts, a, len);
    if (!o) {
      sy__misuse(usage, "%s: unknown option '%.*s'", argv[0], (int)len, a);
      return SY__PARSE_MISUSE;
    }
    if (o->kind == SY__OPT_FLAG) {
      if (inline_val) {
        sy__misuse(usage, "%s: option %s takes no value", argv[0], o->name);
        return SY__PARSE_MISUSE;
      }
      *(int *)o->dest = 1;
      continue;
    }
    if (!inline_val && i + 1 >= argc) goto missing;
    const char *v = inline_val ? inline_val : argv[++i];
    if (o->kind == SY__OPT_VALUE) {
      *(const char **)o->dest = v;
    } else {
      if (list_add(o, argc, v)) goto nomem;
      greedy = o;
    }
    continue;
  missing:
    sy__misuse(usage, "%s: option %.*s needs a value", argv[0], (int)len, a);
    return SY__PARSE_MISUSE;
  }
  if (*npos < min_pos) {
    sy__misuse(usage, "%s: missing argument", argv[0]);
    return SY__PARSE_MISUSE;
  }
  return SY__PARSED;
nomem:
  sy__err("out of memory");
  return SY__PARSE_MISUSE;
}

sy_rc sy__read_bounded(const char *path, size_t max, char **out, size_t *out_len) {
  sy_rc rc = SY_OK;
  int is_stdin = strcmp(path, "-") == 0;
  FILE *f = is_stdin ? stdin : fopen(path, "rb");
  char *buf = NULL;
  size_t len = 0, cap = 0;
  *out = NULL;
  *out_len = 0;
  if (!f) {
    sy__err("cannot open %s: %s", path, strerror(errno));
    rc = SY_EIO;
    goto out;
  }
  for (;;) {
    if (len == cap) {
      size_t ncap = cap ? cap * 2 : 64 * 1024;
      if (ncap > max + 1) ncap = max + 1; /* one extra byte tells "too large" from "exactly max" */
      if (ncap <= cap) break;
      char *nbuf = realloc(buf, ncap + 1);
      if (!nbuf) {
        rc = SY_ENOMEM;
        sy__err("out of memory reading %s", path);
        goto out;
      }
      buf = nbuf;
      cap = ncap;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    sy__err("cannot read %s: %s", is_stdin ? "stdin" : path, strerror(errno));
    rc = SY_EIO;
    goto out;
  }
  if (len > max) {
    sy__err("%s is larger than %zu bytes", is_stdin ? "stdin" : path, max);
    rc = SY_ETOOLARGE;
    goto out;
  }
  if (!buf) {
    buf = malloc(1);
    if (!buf) {
      rc = SY_ENOMEM;
      goto out;
    }
  }
  buf[len] = 0;
  *out = buf;
  *out_len = len;
  buf = NULL;
out:
  if (f && !is_stdin) fclose(f);
  free(buf);
  return rc;
}
