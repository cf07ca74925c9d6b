/* console.h — the web console: its built files, loaded once at start and served from memory under /console. */
#ifndef SY_SERVER_CONSOLE_H
#define SY_SERVER_CONSOLE_H

#include <stddef.h>

#include "server/http.h"

/* At most this many files, each at most this large: the whole console stays in memory. */
#define SY_CONSOLE_FILES_MAX 64
#define SY_CONSOLE_FILE_MAX ((size_t)8 << 20)

typedef struct sy_console sy_console;

/* Finds the console's directory and loads every regular file in it whose name is made of
 * [A-Za-z0-9._-] (others are skipped): dir when given (--console), else SWITCHYARD_CONSOLE_DIR
 * when set, else the first of EXEDIR/console, EXEDIR/../share/switchyard/console and the
 * install prefix's share/switchyard/console that holds an index.html. *out is the console,
 * which the caller frees with sy__console_free; on failure it is NULL and msg says why:
 * SY_ENOTFOUND when no directory holds an index.html, SY_ETOOLARGE past a limit, SY_EIO or
 * SY_ENOMEM. *used receives the directory tried (usedsz bytes; "" when none was). */
sy_rc sy__console_load(const char *dir, sy_console **out, char *used, size_t usedsz, char *msg, size_t msgsz);
void sy__console_free(sy_console *c); /* NULL is fine */

/* GET or HEAD /console, /console/ (index.html) and /console/NAME; rest is what follows
 * "/console" in the path. Needs no credentials. Every reply carries the console's security
 * headers. A server without a console (srv->console NULL) answers 404 ConsoleNotBuilt. */
enum MHD_Result sy__console_serve(sy_req *r, const char *rest);

#endif
