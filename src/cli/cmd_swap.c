/* cmd_swap.c — `switchyard swap`: runbook 000's provider swap drill (backup, put, verify, tag) and its rollback, over
 * the native params API. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/http.h"

static const char swap_usage[] =
    "usage: switchyard swap --env ENV --provider P [--confirm] [--parameter NAME] [--backup-dir DIR]\n"
    "                       [--reason R] [--json]\n"
    "       switchyard swap --rollback FILE [--parameter NAME | --env ENV] [--reason R] [--json]\n"
    "\n"
    "Runbook 000's provider swap drill as one command. The strategy parameter (default\n"
    "/photoeditor/ENV/provider/strategy) is read, its value backed up to a file, set to P,\n"
    "read back to verify, and tagged LastSwapDate=<UTC time> and SwappedBy=<the token's name>.\n"
    "Without --confirm nothing is written: it prints what it would do and exits 2.\n"
    "\n"
    "The backup file, DIR/provider-swap-backup-<epoch seconds>.txt, starts as the runbook's does:\n"
    "  Backup value: gemini\n"
    "  Parameter: /photoeditor/staging/provider/strategy\n"
    "  Version: 3\n"
    "  Time: 2026-12-02T15:04:05Z\n"
    "and the command that undoes the swap is printed: switchyard swap --rollback FILE.\n"
    "A missing parameter is created (type String) and backed up as \"Backup value: \" with\n"
    "Version: 0. Swapping to the value it already has writes nothing and exits 0.\n"
    "\n"
    "options:\n"
    "  --env ENV          the environment: staging, prod, ... (one path segment)\n"
    "  --provider P       the new value: gemini, seedream, stub, ... (1 to 64 of a-zA-Z0-9._-)\n"
    "  --confirm          do it; without it, only say what would be done\n"
    "  --parameter NAME   the strategy parameter, instead of /photoeditor/ENV/provider/strategy\n"
    "  --backup-dir DIR   where the backup file goes (default: the current directory)\n"
    "  --reason R         recorded in the audit log (default \"swap to P\", \"rollback from FILE\")\n"
    "  --rollback FILE    put back the value a backup file holds, verify it and tag it; a file\n"
    "                     without a Parameter line (the runbook's own) needs --parameter or --env\n"
    "  --json             print what was done as JSON\n"
    "\n"
    "exit status: 0 swapped (or nothing to do), 1 error or verification failed, 2 misuse or\n"
    "no --confirm\n";

#define NAME_MAX_LEN 1100              /* a parameter name (1011) and room to spare */
#define BACKUP_MAX (64u * 1024u)       /* a backup file */
#define BACKUP_PREFIX "Backup value: " /* runbook 000's first line */
#define SEGMENT_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define TIME_LEN 32

/* The strategy parameter as it is before a write: its value (owned), version (0 when it does
 * not exist) and type. */
typedef struct current {
  int exists;
  char *value;
  int64_t version;
  char type[32];
} current;

static void current_free(current *c) {
  free(c->value);
  memset(c, 0, sizeof *c);
}

/* What the drill did, to print at the end. */
typedef struct outcome {
  const char *name;
  const char *old;     /* the value before ("" when the parameter did not exist) */
  const char *value;   /* the value written */
  int64_t old_version; /* 0 when it did not exist */
  int64_t version;     /* the version written, or the current one when nothing was written */
  int changed;         /* 0: it already had the value */
  const char *backup;  /* the backup file (swap), or the file read (rollback) */
  const char *swapped_by;
  const char *time;
} outcome;

/* "2026-12-02T15:04:05Z" for t. */
static void utc_text(time_t t, char *out, size_t cap) {
  struct tm tm;
  if (!gmtime_r(&t, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) snprintf(out, cap, "unknown");
}

/* Copies s into out for messages: at most 80 bytes, control bytes as '?'. */
static void shown(const char *s, char *out, size_t cap) {
  size_t n = strlen(s), i;
  if (cap < 4) return;
  if (n > 80) n = 80;
  if (n > cap - 4) n = cap - 4;
  for (i = 0; i < n; i++) out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
  if (n < strlen(s))
    snprintf(out + i, cap - i, "...");
  else
    out[i] = 0;
}

/* 1 if env is one path segment: a-zA-Z0-9._-, not "." or "..". */
static int env_ok(const char *env) {
  size_t n = strlen(env);
  return n >= 1 && n <= 256 && strspn(env, SEGMENT_CHARS) == n && strcmp(env, ".") && strcmp(env, "..");
}

/* Reads the parameter name's current state into *c without a 404 on stderr when it does not
 * exist: it lists the name's parent directory and looks for it there. Failures are printed. */
static sy_rc read_current(const sy__cli *cli, const char *name, current *c) {
  sy_rc rc = SY_OK;
  char parent[NAME_MAX_LEN], alt[NAME_MAX_LEN];
  const char *slash = strrchr(name, '/');
  json_t *all = json_array(), *e;
  sy__url u;
  size_t i;
  memset(c, 0, sizeof *c);
  if (!all) {
    sy__err("out of memory");
    return SY_ENOMEM;
  }
  /* the name is checked first, so a bad one is refused as such and not as a bad path */
  if (strchr(name, ':')) {
    sy__err("the strategy parameter is a name without a selector (':'): %s", name);
    rc = SY_EINVAL;
    goto out;
  }
  sy__url_init(&u, "");
  sy__url_param(&u, name);
  rc = sy__url_done(&u);
  if (rc) goto out;
  if (slash && slash != name)
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - name), name);
  else
    snprintf(parent, sizeof parent, "/");
  /* a single-level name is one parameter with or without its leading slash */
  snprintf(alt, sizeof alt, "%s%s", name[0] == '/' ? "" : "/", name);
  sy__url_init(&u, "/api/v1/params");
  sy__url_query(&u, "path", parent);
  sy__url_query(&u, "limit", "1000");
  rc = sy__fetch_pages(cli, &u, "params", all);
  if (rc) goto out;
  json_array_foreach(all, i, e) {
    const char *n = sy__jstr(e, "name");
    if (strcmp(n, name) && strcmp(n, alt) && !(n[0] == '/' && strcmp(n + 1, name) == 0)) continue;
    const json_t *v = json_object_get(e, "value");
    c->exists = 1;
    c->version = sy__jint(e, "version");
    snprintf(c->type, sizeof c->type, "%s", sy__jstr(e, "type"));
    if (strcmp(c->type, "String") != 0 || !json_is_string(v)) {
      sy__err("%s is a %s parameter; the swap drill reads and writes a String", name, *c->type ? c->type : "?");
      rc = SY_EINVAL;
      goto out;
    }
    c->value = strdup(json_string_value(v));
    if (!c->value) {
      sy__err("out of memory");
      rc = SY_ENOMEM;
    }
    goto out;
  }
  c->value = strdup("");
  if (!c->value) {
    sy__err("out of memory");
    rc = SY_ENOMEM;
  }
out:
  json_decref(all);
  return rc;
}

/* Writes the backup file DIR/provider-swap-backup-<t>.txt (-2, -3, ... if that name is taken)
 * and puts its path into path. Never overwrites a file. Failures are printed. */
static sy_rc write_backup(const char *dir, time_t t, const char *name, const current *c, const char *when, char *path,
                          size_t cap) {
  FILE *f = NULL;
  int fd = -1;
  for (int k = 1; k <= 100 && fd < 0; k++) {
    int n = k == 1 ? snprintf(path, cap, "%s/provider-swap-backup-%lld.txt", dir, (long long)t)
                   : snprintf(path, cap, "%s/provider-swap-backup-%lld-%d.txt", dir, (long long)t, k);
    if (n < 0 || (size_t)n >= cap) {
      sy__err("backup directory path too long");
      return SY_EINVAL;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) {
      sy__err("cannot create the backup file %s: %s", path, strerror(errno));
      return SY_EIO;
    }
  }
  if (fd < 0) {
    sy__err("cannot create a backup file in %s: every name for this second is taken", dir);
    return SY_EIO;
  }
  f = fdopen(fd, "w");
  if (!f) {
    close(fd);
    goto fail;
  }
  fprintf(f, "%s%s\nParameter: %s\nVersion: %lld\nTime: %s\n", BACKUP_PREFIX, c->value, name, (long long)c->version,
          when);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
    fclose(f);
    goto fail;
  }
  if (fclose(f) != 0) goto fail;
  return SY_OK;
fail:
  sy__err("cannot write the backup file %s: %s", path, strerror(errno));
  unlink(path);
  return SY_EIO;
}

/* Puts value into name as a String (overwrite; if_version: the version read, so a write made
 * in between is refused), reads it back and checks it. On success *version is the version
 * written and user the writer the server recorded. Failures are printed. */
static sy_rc put_and_verify(const sy__cli *cli, const char *name, const current *c, const char *value,
                            const char *reason, int64_t *version, char *user, size_t ucap) {
  sy_rc rc = SY_OK;
  sy__resp r = {0};
  json_t *body = NULL;
  sy__url u;
  char a[128], b[128];
  sy__url_init(&u, "");
  sy__url_param(&u, name);
  body = json_pack("{s:s,s:s,s:b,s:I}", "value", value, "type", "String", "overwrite", 1, "if_version",
                   (json_int_t)c->version);
  if (!body || json_object_set_new(body, "reason", json_string(reason))) {
    sy__err("the value and --reason must be UTF-8 text");
    rc = SY_EINVAL;
    goto out;
  }
  rc = sy__http_url(cli, "PUT", &u, body, &r);
  if (rc) goto out;
  *version = sy__jint(r.json, "version");
  sy__resp_free(&r);
  rc = sy__http_url(cli, "GET", &u, NULL, &r);
  if (rc) {
    sy__err("could not verify %s after writing version %lld", name, (long long)*version);
    goto out;
  }
  const json_t *v = json_object_get(r.json, "value");
  if (!json_is_string(v) || strcmp(json_string_value(v), value) != 0) {
    shown(json_is_string(v) ? json_string_value(v) : "(no value)", a, sizeof a);
    shown(value, b, sizeof b);
    sy__err("verification failed: %s reads '%s' (version %lld), not '%s' (version %lld written)", name, a,
            (long long)sy__jint(r.json, "version"), b, (long long)*version);
    rc = SY_ECONFLICT;
    goto out;
  }
  /* the writer, as the server recorded it: the token's name, unless another write came first */
  if (sy__jint(r.json, "version") == *version) snprintf(user, ucap, "%s", sy__jstr(r.json, "last_modified_user"));
out:
  json_decref(body);
  sy__resp_free(&r);
  return rc;
}

/* Tags name LastSwapDate=when and SwappedBy=by. Failures are printed. */
static sy_rc tag_swap(const sy__cli *cli, const char *name, const char *when, const char *by) {
  sy_rc rc = SY_OK;
  sy__resp r = {0};
  json_t *body = NULL;
  sy__url u;
  sy__url_init(&u, "");
  sy__url_param(&u, name);
  sy__url_add(&u, "/tags");
  body = json_pack("{s:{s:s,s:s}}", "tags", "LastSwapDate", when, "SwappedBy", by);
  if (!body) {
    sy__err("the tags must be UTF-8 text");
    rc = SY_EINVAL;
    goto out;
  }
  rc = sy__http_url(cli, "PUT", &u, body, &r);
  if (rc) sy__err("%s was written but not tagged", name);
out:
  json_decref(body);
  sy__resp_free(&r);
  return rc;
}

/* Who SwappedBy names: the writer the server recorded, else $USER, else "switchyard". */
static const char *swapped_by(const char *recorded) {
  const char *u = getenv("USER");
  if (*recorded) return recorded;
  return u && *u ? u : "switchyard";
}

/* Prints o under --json as one object. */
static sy_rc print_outcome_json(const outcome *o, int rollback, int dry_run) {
  sy_rc rc;
  char cmd[4200];
  json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:b,s:b}", "parameter", o->name, "previous", o->old, "value", o->value,
                        "previous_version", (json_int_t)o->old_version, "version", (json_int_t)o->version, "changed",
                        o->changed, "dry_run", dry_run);
  if (!j) goto nomem;
  if (o->backup && json_object_set_new(j, rollback ? "rolled_back_from" : "backup", json_string(o->backup))) goto nomem;
  if (o->changed && !dry_run) {
    if (json_object_set_new(j, "tags", json_pack("{s:s,s:s}", "LastSwapDate", o->time, "SwappedBy", o->swapped_by)))
      goto nomem;
    if (!rollback && o->backup && o->old_version > 0) {
      snprintf(cmd, sizeof cmd, "switchyard swap --rollback %s", o->backup);
      if (json_object_set_new(j, "rollback", json_string(cmd))) goto nomem;
    }
  }
  rc = sy__print_json(j);
  json_decref(j);
  return rc;
nomem:
  json_decref(j);
  sy__err("out of memory");
  return SY_ENOMEM;
}

/* ---- the swap -------------------------------------------------------------------------- */

static int swap_to(const sy__cli *cli, const char *name, const char *provider, int confirm, const char *dir,
                   const char *reason) {
  sy_rc rc = SY_OK;
  current c = {0};
  time_t now = time(NULL);
  char when[TIME_LEN], path[4200], user[256] = "", why[256], a[128];
  outcome o = {0};
  int64_t written = 0;
  int ex = SY__EXIT_ERR;

  rc = read_current(cli, name, &c);
  if (rc) goto out;
  if (strpbrk(c.value, "\r\n")) {
    sy__err("%s holds a value with a line break; it cannot be backed up as \"Backup value: <old>\"", name);
    goto out;
  }
  utc_text(now, when, sizeof when);
  o = (outcome){name, c.value, provider, c.version, c.version, 0, NULL, NULL, when};
  shown(c.value, a, sizeof a);
  if (c.exists && strcmp(c.value, provider) == 0) {
    if (cli->json) {
      if (print_outcome_json(&o, 0, !confirm)) goto out;
    } else {
      printf("no change: %s already has %s (version %lld); nothing was written\n", name, provider,
             (long long)c.version);
    }
    ex = SY__EXIT_OK;
    goto out;
  }
  if (!reason) {
    snprintf(why, sizeof why, "swap to %s", provider);
    reason = why;
  }
  if (!confirm) {
    snprintf(path, sizeof path, "%s/provider-swap-backup-%lld.txt", dir, (long long)now);
    if (cli->json) {
      o.changed = 1;
      o.backup = path;
      if (print_outcome_json(&o, 0, 1)) goto out;
    } else {
      printf("Current provider: %s\n", c.exists ? a : "none (the parameter does not exist; it would be created)");
      printf("New provider: %s\n", provider);
      printf("would write %s:\n", path);
      printf("  %s%s\n  Parameter: %s\n  Version: %lld\n  Time: %s\n", BACKUP_PREFIX, a, name, (long long)c.version,
             when);
      printf("would put %s = %s (type String, overwrite, reason \"%s\"), read it back to verify\n", name, provider,
             reason);
      printf("would tag %s: LastSwapDate=<the time of the swap> SwappedBy=<this token's name>\n", name);
    }
    sy__err("swap: nothing was written; run it again with --confirm to swap");
    ex = SY__EXIT_USAGE;
    goto out;
  }

  rc = write_backup(dir, now, name, &c, when, path, sizeof path);
  if (rc) goto out;
  o.backup = path;
  rc = put_and_verify(cli, name, &c, provider, reason, &written, user, sizeof user);
  if (rc && written == 0) {
    unlink(path); /* nothing was written: the backup would only mislead */
    goto out;
  }
  if (rc) {
    sy__err("the backup %s holds the value before the swap", path);
    goto out;
  }
  o.version = written;
  o.changed = 1;
  o.swapped_by = swapped_by(user);
  rc = tag_swap(cli, name, when, o.swapped_by);
  if (rc) goto out;
  if (cli->json) {
    if (print_outcome_json(&o, 0, 0)) goto out;
  } else {
    printf("Current provider: %s\n", c.exists ? a : "none (the parameter did not exist)");
    printf("New provider: %s\n", provider);
    printf("Backup written: %s\n", path);
    printf("Updated provider: %s\n", provider);
    printf("%s: version %lld, tagged LastSwapDate=%s SwappedBy=%s\n", name, (long long)o.version, when, o.swapped_by);
    if (c.exists)
      printf("roll back: switchyard swap --rollback %s\n", path);
    else
      printf("roll back: switchyard param rm %s (it did not exist before)\n", name);
  }
  ex = SY__EXIT_OK;
out:
  current_free(&c);
  return ex;
}

/* ---- the rollback ---------------------------------------------------------------------- */

/* What a backup file holds. Pointers into the file's buffer. */
typedef struct backup {
  const char *value;
  const char *name; /* NULL when the file has no Parameter line */
  int64_t version;  /* -1 when the file has no Version line */
} backup;

/* Parses the backup file text (NUL-terminated, modified in place). The first line must start
 * with "Backup value: "; "Parameter: " and "Version: " lines are read, others ignored. Failures
 * are printed, naming file and line. */
static sy_rc parse_backup(const char *file, char *text, backup *b) {
  char seen[128];
  int line = 0;
  b->value = NULL;
  b->name = NULL;
  b->version = -1;
  for (char *p = text; p && *p;) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    size_t n = strlen(p);
    if (n && p[n - 1] == '\r') p[n - 1] = 0;
    line++;
    if (line == 1) {
      if (strncmp(p, BACKUP_PREFIX, strlen(BACKUP_PREFIX)) != 0) {
        shown(p, seen, sizeof seen);
        sy__err("%s:1: not a swap backup: the first line must start with \"Backup value: \", not \"%s\"", file, seen);
        return SY_EINVAL;
      }
      b->value = p + strlen(BACKUP_PREFIX);
    } else if (strncmp(p, "Parameter: ", 11) == 0) {
      b->name = p + 11;
    } else if (strncmp(p, "Version: ", 9) == 0) {
      if (sy__parse_i64(p + 9, 0, INT64_MAX, &b->version)) {
        shown(p + 9, seen, sizeof seen);
        sy__err("%s:%d: Version must be a whole number >= 0, not \"%s\"", file, line, seen);
        return SY_EINVAL;
      }
    }
    p = nl ? nl + 1 : NULL;
  }
  if (!b->value) {
    sy__err("%s:1: not a swap backup: the file is empty; its first line must be \"Backup value: <old>\"", file);
    return SY_EINVAL;
  }
  return SY_OK;
}

static int swap_rollback(const sy__cli *cli, const char *file, const char *name_opt, const char *reason) {
  sy_rc rc = SY_OK;
  char *text = NULL;
  size_t len = 0;
  backup b;
  current c = {0};
  time_t now = time(NULL);
  char when[TIME_LEN], user[256] = "", why[4200], a[128], s1[128], s2[128];
  outcome o = {0};
  int ex = SY__EXIT_ERR;
  const char *name;

  rc = sy__read_bounded(file, BACKUP_MAX, &text, &len);
  if (rc) goto out;
  if (memchr(text, 0, len)) {
    sy__err("%s: not a swap backup: it holds a NUL byte", file);
    goto out;
  }
  rc = parse_backup(file, text, &b);
  if (rc) goto out;
  if (b.name && name_opt && strcmp(b.name, name_opt) != 0) {
    shown(b.name, s1, sizeof s1);
    shown(name_opt, s2, sizeof s2);
    sy__err("%s names the parameter %s, not %s", file, s1, s2);
    ex = SY__EXIT_USAGE;
    goto out;
  }
  name = b.name ? b.name : name_opt;
  if (!name) {
    sy__err("%s has no \"Parameter: \" line: name the parameter with --parameter NAME or --env ENV", file);
    ex = SY__EXIT_USAGE;
    goto out;
  }
  if (!*b.value) {
    if (b.version == 0)
      sy__err(
          "%s: %s did not exist before the swap (Version: 0), so there is no value to restore; "
          "'switchyard param rm %s' removes it",
          file, name, name);
    else
      sy__err("%s:1: the backup value is empty: there is no provider to restore", file);
    goto out;
  }
  rc = read_current(cli, name, &c);
  if (rc) goto out;
  utc_text(now, when, sizeof when);
  o = (outcome){name, c.value, b.value, c.version, c.version, 0, file, NULL, when};
  shown(b.value, a, sizeof a);
  if (c.exists && strcmp(c.value, b.value) == 0) {
    if (cli->json) {
      if (print_outcome_json(&o, 1, 0)) goto out;
    } else {
      printf("no change: %s already has %s (version %lld); nothing was written\n", name, a, (long long)c.version);
    }
    ex = SY__EXIT_OK;
    goto out;
  }
  if (!reason) {
    snprintf(why, sizeof why, "rollback from %s", file);
    reason = why;
  }
  rc = put_and_verify(cli, name, &c, b.value, reason, &o.version, user, sizeof user);
  if (rc) goto out;
  o.changed = 1;
  o.swapped_by = swapped_by(user);
  rc = tag_swap(cli, name, when, o.swapped_by);
  if (rc) goto out;
  if (cli->json) {
    if (print_outcome_json(&o, 1, 0)) goto out;
  } else {
    printf("Rolled back to provider: %s\n", a);
    printf("%s: version %lld, tagged LastSwapDate=%s SwappedBy=%s\n", name, (long long)o.version, when, o.swapped_by);
  }
  ex = SY__EXIT_OK;
out:
  current_free(&c);
  free(text);
  return ex;
}

int sy__cmd_swap(sy__cli *cli, int argc, char **argv) {
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *env = NULL, *provider = NULL, *param = NULL, *dir = NULL, *reason = NULL, *rollback = NULL;
  int confirm = 0;
  const sy__opt opts[] = {
      {"--env", NULL, SY__OPT_VALUE, &env},           {"--provider", NULL, SY__OPT_VALUE, &provider},
      {"--confirm", NULL, SY__OPT_FLAG, &confirm},    {"--parameter", NULL, SY__OPT_VALUE, &param},
      {"--backup-dir", NULL, SY__OPT_VALUE, &dir},    {"--reason", NULL, SY__OPT_VALUE, &reason},
      {"--rollback", NULL, SY__OPT_VALUE, &rollback}, {0},
  };
  char name[NAME_MAX_LEN], seen[128];

  sy__parse p = sy__args(cli, argc, argv, swap_usage, opts, pos, &npos, 0, 0);
  if (p) return sy__parse_exit(p);
  if (env && !env_ok(env)) {
    shown(env, seen, sizeof seen);
    return sy__misuse(swap_usage, "swap: --env must be one path segment of a-zA-Z0-9._-, not '%s'", seen);
  }
  if (param && strlen(param) >= sizeof name) return sy__misuse(swap_usage, "swap: --parameter is too long");
  if (param)
    snprintf(name, sizeof name, "%s", param);
  else if (env)
    snprintf(name, sizeof name, "/photoeditor/%s/provider/strategy", env);

  if (rollback) {
    if (provider || dir)
      return sy__misuse(swap_usage, "swap: --rollback takes the value from the file: no --provider or --backup-dir");
    if (!*rollback) return sy__misuse(swap_usage, "swap: --rollback needs a file");
    return swap_rollback(cli, rollback, param || env ? name : NULL, reason);
  }
  if (!provider) return sy__misuse(swap_usage, "swap: missing --provider P (or --rollback FILE)");
  if (!sy__provider_name_ok(provider)) {
    shown(provider, seen, sizeof seen);
    return sy__misuse(swap_usage, "swap: --provider must be 1 to 64 characters of a-zA-Z0-9._-, not '%s'", seen);
  }
  if (!param && !env) return sy__misuse(swap_usage, "swap: missing --env ENV (or --parameter NAME)");
  if (dir && !*dir) return sy__misuse(swap_usage, "swap: --backup-dir needs a directory");
  return swap_to(cli, name, provider, confirm, dir ? dir : ".", reason);
}
