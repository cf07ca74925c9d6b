/* cli.h — what the `switchyard` client's files share: global options, exit codes, argument parsing, bounded reads. */
#ifndef SY_CLI_CLI_H
#define SY_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "core/rc.h"

/* Process exit codes. */
enum {
  SY__EXIT_OK = 0,    /* success */
  SY__EXIT_ERR = 1,   /* server error, network, I/O */
  SY__EXIT_USAGE = 2, /* unknown command or option, missing argument */
};

#define SY__MAX_FILE (1024u * 1024u)           /* values and imports read from files or stdin */
#define SY__MAX_RESPONSE (64u * 1024u * 1024u) /* any one HTTP response body */
/* `config import` files: the server's default limit on an import body (--import-max-bytes) */
#define SY__MAX_IMPORT ((size_t)256 * 1024 * 1024)
/* what `config export` and `config import` accept back: an export of a store one import can
 * restore, or the list of changes of one (never longer than the import itself) */
#define SY__MAX_CONFIG_RESPONSE (2 * SY__MAX_IMPORT)
#define SY__MAX_POS 256 /* positional arguments of one command */

/* Global options. Strings are borrowed from argv or the environment and live for the whole run. */
typedef struct sy__cli {
  const char *server; /* --server, else NULL: SWITCHYARD_URL, else SY__DEFAULT_URL */
  const char *token;  /* SWITCHYARD_TOKEN, or NULL */
  int json;           /* --json: print the server's JSON */
} sy__cli;

/* A command or subcommand: its name, a one-line summary, and its entry point, which
 * gets argv with argv[0] being the command's own name and returns an exit code. */
typedef struct sy__cmd {
  const char *name;
  const char *summary;
  int (*run)(sy__cli *cli, int argc, char **argv);
} sy__cmd;

/* Runs the subcommand argv[1] of a group (param, flag, audit, config, token, keys) from cmds
 * (terminated by a zero entry). With no subcommand, or an unknown one, prints the group's usage
 * to stderr and returns SY__EXIT_USAGE; with -h/--help prints it to stdout and returns SY__EXIT_OK. */
int sy__dispatch(sy__cli *cli, const char *group, const char *usage, const sy__cmd *cmds, int argc, char **argv);

/* ---- option parsing -------------------------------------------------------------------- */

typedef enum sy__opt_kind {
  SY__OPT_FLAG,  /* --x: *(int *)dest = 1 */
  SY__OPT_VALUE, /* --x V or --x=V: *(const char **)dest = V (last one wins) */
  SY__OPT_LIST,  /* --x V, repeatable, and `--x A B C` while the positionals are full: sy__list */
} sy__opt_kind;

/* Values of a list option, borrowed from argv. */
typedef struct sy__list {
  const char **v;
  size_t n;
} sy__list;

typedef struct sy__opt {
  const char *name;  /* "--type" */
  const char *alias; /* "-o", or NULL */
  sy__opt_kind kind;
  void *dest;
} sy__opt;

typedef enum sy__parse {
  SY__PARSED = 0,
  SY__PARSE_HELP,   /* -h/--help: usage went to stdout */
  SY__PARSE_MISUSE, /* the problem and the usage went to stderr */
} sy__parse;

/* Parses argv[1..] (argv[0] is the command's name) against opts (terminated by a zero entry),
 * plus the global --json, --server URL and -h/--help. Positional arguments land in pos (which
 * has SY__MAX_POS entries), borrowed from argv; "--" ends options and "-" is positional.
 * Requires min_pos..max_pos positionals (max_pos is capped at SY__MAX_POS). List options and pos point into argv; list
 * storage is allocated here and freed by sy__args_free. */
sy__parse sy__args(sy__cli *cli, int argc, char **argv, const char *usage, const sy__opt *opts, const char **pos,
                   size_t *npos, size_t min_pos, size_t max_pos);
/* Frees the storage of the list options in opts. */
void sy__args_free(const sy__opt *opts);
/* The exit code for a parse result that is not SY__PARSED. */
int sy__parse_exit(sy__parse p);

/* Prints "switchyard: <msg>" and the usage to stderr; returns SY__EXIT_USAGE. */
int sy__misuse(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "switchyard: <msg>" to stderr. */
void sy__err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The exit code for a status: SY__EXIT_OK or SY__EXIT_ERR (misuse is decided before any status exists). */
int sy__exit_of(sy_rc rc);

/* Parses a whole decimal integer in [min, max]. SY_EINVAL on anything else. */
sy_rc sy__parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Returns 1 if s is one of the NULL-terminated choices. */
int sy__one_of(const char *s, const char *const *choices);

/* Reads a whole file (path "-" reads stdin) of at most max bytes into a NUL-terminated heap
 * buffer the caller frees. Prints the reason and returns SY_EIO/SY_ETOOLARGE/SY_ENOMEM on failure. */
sy_rc sy__read_bounded(const char *path, size_t max, char **out, size_t *out_len);

/* ---- the command groups, each in its own cmd_*.c; argv[0] is the group's name ---------- */

int sy__cmd_param(sy__cli *cli, int argc, char **argv);
int sy__cmd_watch(sy__cli *cli, int argc, char **argv);
int sy__cmd_audit(sy__cli *cli, int argc, char **argv);
int sy__cmd_config(sy__cli *cli, int argc, char **argv);
int sy__cmd_token(sy__cli *cli, int argc, char **argv);
int sy__cmd_keys(sy__cli *cli, int argc, char **argv);
int sy__cmd_flag(sy__cli *cli, int argc, char **argv);
/* `switchyard rollout ...`; argv[0] is "rollout". A flag's rollout (FLAG --percentage N, --enable,
 * --disable, --status), or, through sy__rollout_plans, a rollout plan's commands. */
int sy__cmd_rollout(sy__cli *cli, int argc, char **argv);
/* `switchyard rollout plan SUBCOMMAND ...` (when the first operand is "plan") and `switchyard rollout
 * PLAN --rollback [--gradual]` (cmd_rollout.c). Returns 1 when argv is one of them, having run it and
 * set *ex to its exit code; 0 when argv is a flag's rollout, for sy__cmd_rollout to run. */
int sy__rollout_plans(sy__cli *cli, int argc, char **argv, int *ex);
int sy__cmd_provider(sy__cli *cli, int argc, char **argv);
/* `switchyard swap ...`: runbook 000's drill, one command; argv[0] is "swap". */
int sy__cmd_swap(sy__cli *cli, int argc, char **argv);
/* 1 if name is a provider name: 1 to 64 characters of a-zA-Z0-9._- (cmd_provider.c). */
int sy__provider_name_ok(const char *name);

/* `switchyard serve ...`: replaces the process with switchyard-server from the CLI's own
 * directory, passing argv[1..] on; the server's options and help are its own. Returns only
 * when that fails (exit code 1, the reason printed). */
int sy__cmd_serve(int argc, char **argv);
/* Runs switchyard-server migrate with argv[1..]: brings the store's schema up to date. */
int sy__cmd_migrate(int argc, char **argv);

#endif
