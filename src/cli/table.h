/* table.h — aligned text tables for the CLI's human-readable output. */
#ifndef SY_CLI_TABLE_H
#define SY_CLI_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "core/rc.h"

/* A table of ncols columns. Cells are copied in, with control characters replaced so a
 * value cannot break the layout or the terminal. Widths count UTF-8 code points. */
typedef struct sy__table sy__table;

/* Makes a table with the given headers (copied). *out is freed with sy__table_free. */
sy_rc sy__table_new(size_t ncols, const char *const *headers, sy__table **out);
/* Appends a row of ncols cells (copied; NULL reads as "-"). */
sy_rc sy__table_row(sy__table *t, const char *const *cells);
/* Prints the header and rows, columns two spaces apart, the last one unpadded. */
sy_rc sy__table_print(const sy__table *t, FILE *f);
void sy__table_free(sy__table *t);

/* Adds to t the row for e, one element (borrowed) of the array being tabulated. */
typedef sy_rc (*sy__row_fn)(sy__table *t, const json_t *e);

/* Prints to f a table of ncols columns under headers with one row per element of arr, made by
 * row_of; a non-array makes no rows. Returns the first failure, unprinted (SY_ENOMEM, SY_EIO). */
sy_rc sy__table_print_rows(size_t ncols, const char *const *headers, const json_t *arr, sy__row_fn row_of, FILE *f);

/* Writes a JSON scalar, array or object as a cell into out (cap bytes, always NUL-terminated,
 * cut to at most maxcp code points with "…"): strings as is, numbers in decimal, null as "-",
 * arrays comma-joined, objects as k=v pairs. */
void sy__json_cell(const json_t *v, size_t maxcp, char *out, size_t cap);

#define SY__REASON_CELL 60                              /* code points of a reason shown in a table */
#define SY__REASON_CELL_BYTES (SY__REASON_CELL * 4 + 4) /* room for them as UTF-8, and "…" */
/* The "reason" member of a history version or an audit record e as a cell: cut to
 * SY__REASON_CELL code points, "-" when absent or empty. */
void sy__reason_cell(const json_t *e, char *out, size_t cap);

#endif
