/* cmd_config.c — `switchyard config export|import`: the whole configuration as one JSON document. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/table.h"

static const char config_usage[] =
    "usage: switchyard config SUBCOMMAND [ARGS...]\n"
    "\n"
    "subcommands:\n"
    "  export [--include-secrets] [-o FILE]   write every parameter as JSON\n"
    "  import FILE [--apply] [--prune]        compare an export with the server, or apply it\n"
    "\n"
    "Needs an admin token.\n";

static const char export_usage[] =
    "usage: switchyard config export [--include-secrets] [-o FILE]\n"
    "\n"
    "Writes the server's export (format switchyard-config/1) to stdout or FILE.\n"
    "FILE is created with mode 0600 since it may hold secrets.\n"
    "\n"
    "options:\n"
    "  --include-secrets   include SecureString values\n"
    "  -o, --output FILE   write to FILE instead of stdout\n";

static const char import_usage[] =
    "usage: switchyard config import FILE [--apply] [--prune] [--json]\n"
    "\n"
    "Sends an export (FILE, or - for stdin; at most 256 MiB, the server's default\n"
    "--import-max-bytes) to the server. By default a dry run: prints what would change\n"
    "as a table NAME ACTION and a summary.\n"
    "\n"
    "options:\n"
    "  --apply   commit every change in one transaction\n"
    "  --prune   also delete parameters the export does not hold\n"
    "  --json    print the server's JSON\n";

/* Writes len bytes to path (created 0600, truncated) or to stdout when path is NULL. */
static sy_rc write_out(const char *path, const char *data, size_t len) {
  sy_rc rc = SY_OK;
  FILE *f = stdout;
  int fd = -1;
  int newline = len == 0 || data[len - 1] != '\n';
  if (path && strcmp(path, "-") != 0) {
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "wb"))) {
      sy__err("cannot write %s: %s", path, strerror(errno));
      rc = SY_EIO;
      goto out;
    }
    fd = -1; /* f owns it now */
  }
  if (fwrite(data, 1, len, f) != len || (newline && fputc('\n', f) == EOF) || fflush(f) != 0) {
    sy__err("cannot write %s: %s", f == stdout ? "stdout" : path, strerror(errno));
    rc = SY_EIO;
  }
out:
  if (fd >= 0) close(fd);
  if (f && f != stdout && fclose(f) != 0 && !rc) {
    sy__err("cannot write %s: %s", path, strerror(errno));
    rc = SY_EIO;
  }
  return rc;
}

static int config_export(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  const char *output = NULL;
  int secrets = 0;
  const sy__opt opts[] = {
      {"--include-secrets", NULL, SY__OPT_FLAG, &secrets},
      {"--output", "-o", SY__OPT_VALUE, &output},
      {0},
  };
  sy__resp r = {0};
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, export_usage, opts, pos, &npos, 0, 0);
  if (p) return sy__parse_exit(p);
  sy__url_init(&u, "/api/v1/config/runtime");
  if (secrets) sy__url_query(&u, "include_secrets", "true");
  rc = sy__url_done(&u);
  if (rc) goto out;
  rc = sy__http_raw_max(cli, "GET", u.buf, NULL, 0, SY__MAX_CONFIG_RESPONSE, &r);
  if (rc) goto out;
  if (!json_is_object(r.json)) {
    sy__err("the server's export is not a JSON object");
    rc = SY_EINTERNAL;
    goto out;
  }
  /* The export is written exactly as the server sent it: it is the document import takes. */
  rc = write_out(output, r.body, r.len);
  if (rc) goto out;
  if (output && strcmp(output, "-") != 0)
    fprintf(stderr, "exported %zu parameters to %s\n", json_array_size(json_object_get(r.json, "params")), output);
out:
  sy__resp_free(&r);
  return sy__exit_of(rc);
}

static sy_rc change_row(sy__table *t, const json_t *e) {
  const char *row[] = {sy__jstr(e, "name"), sy__jstr(e, "action")};
  return sy__table_row(t, row);
}

static int config_import(sy__cli *cli, int argc, char **argv) {
  sy_rc rc = SY_OK;
  const char *pos[SY__MAX_POS];
  size_t npos = 0;
  int apply = 0, prune = 0;
  const sy__opt opts[] = {
      {"--apply", NULL, SY__OPT_FLAG, &apply},
      {"--prune", NULL, SY__OPT_FLAG, &prune},
      {0},
  };
  static const char *const head[] = {"NAME", "ACTION"};
  char *doc = NULL;
  size_t len = 0;
  sy__resp r = {0};
  sy__url u;

  sy__parse p = sy__args(cli, argc, argv, import_usage, opts, pos, &npos, 1, 1);
  if (p) return sy__parse_exit(p);
  /* a file over the limit is refused before it is read; stdin is cut at it */
  struct stat sb;
  if (strcmp(pos[0], "-") != 0 && stat(pos[0], &sb) == 0 && S_ISREG(sb.st_mode) &&
      (uintmax_t)sb.st_size > SY__MAX_IMPORT) {
    sy__err(
        "%s is %jd bytes; config import takes at most %zu bytes (256 MiB, the server's default "
        "--import-max-bytes)",
        pos[0], (intmax_t)sb.st_size, SY__MAX_IMPORT);
    rc = SY_ETOOLARGE;
    goto out;
  }
  rc = sy__read_bounded(pos[0], SY__MAX_IMPORT, &doc, &len);
  if (rc == SY_ETOOLARGE)
    sy__err("config import takes at most %zu bytes (256 MiB, the server's default --import-max-bytes)", SY__MAX_IMPORT);
  if (rc) goto out;
  sy__url_init(&u, "/api/v1/config/runtime");
  if (apply) sy__url_query(&u, "apply", "true");
  if (prune) sy__url_query(&u, "prune", "true");
  rc = sy__url_done(&u);
  if (rc) goto out;
  rc = sy__http_raw_max(cli, "POST", u.buf, doc, len, SY__MAX_CONFIG_RESPONSE, &r);
  if (rc) goto out;
  if (!json_is_object(r.json)) {
    sy__err("the server's answer is not a JSON object");
    rc = SY_EINTERNAL;
    goto out;
  }
  if (cli->json) {
    rc = sy__print_json(r.json);
    goto out;
  }

  json_t *changes = json_object_get(r.json, "changes");
  int dry = !json_is_false(json_object_get(r.json, "dry_run"));
  if (dry && json_array_size(changes)) {
    rc = sy__table_print_rows(2, head, changes, change_row, stdout);
    if (rc) goto out;
  }
  json_t *s = json_object_get(r.json, "summary");
  printf("%s: %lld create, %lld update, %lld unchanged, %lld delete%s\n", dry ? "dry run" : "applied",
         (long long)sy__jint(s, "create"), (long long)sy__jint(s, "update"), (long long)sy__jint(s, "unchanged"),
         (long long)sy__jint(s, "delete"), dry ? " (use --apply to commit)" : "");
out:
  if (rc == SY_ENOMEM) sy__err("out of memory");
  sy__resp_free(&r);
  free(doc);
  return sy__exit_of(rc);
}

static const sy__cmd config_cmds[] = {
    {"export", "write the configuration", config_export},
    {"import", "compare or apply an export", config_import},
    {0},
};

int sy__cmd_config(sy__cli *cli, int argc, char **argv) {
  return sy__dispatch(cli, "config", config_usage, config_cmds, argc, argv);
}
