/* Aligned text tables for the CLI's human output: rows are kept (cells
 * copied) until printed, because a column is as wide as its widest cell.
 * Also the shared cell formats: UTC ISO 8601 times and binary sizes. */
#include "table.h"

#include <nobrick/alloc.h>

#include <inttypes.h>
#include <string.h>
#include <time.h>

struct cli_table {
    size_t n_cols, n_rows, cap;
    const char *const *headers;
    char **cells; /* n_rows * n_cols owned strings */
    size_t width[CLI_TABLE_MAX_COLS];
};

struct cli_table *cli_table_new(size_t n_cols, const char *const *headers)
{
    if (n_cols == 0 || n_cols > CLI_TABLE_MAX_COLS)
        return NULL;
    struct cli_table *t = nb_calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->n_cols = n_cols;
    t->headers = headers;
    for (size_t i = 0; i < n_cols; i++)
        t->width[i] = strlen(headers[i]);
    return t;
}

void cli_table_free(struct cli_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        nb_free(t->cells[i]);
    nb_free(t->cells);
    nb_free(t);
}

static enum nb_err grow(struct cli_table *t)
{
    if (t->n_rows < t->cap)
        return NB_OK;
    if (t->n_rows >= CLI_TABLE_MAX_ROWS)
        return NB_ELENGTH;
    size_t cap = t->cap == 0 ? 16 : t->cap * 2;
    char **cells = nb_realloc(t->cells, cap * t->n_cols * sizeof *cells);
    if (cells == NULL)
        return NB_ENOMEM;
    t->cells = cells;
    t->cap = cap;
    return NB_OK;
}

enum nb_err cli_table_add(struct cli_table *t, const char *const *cells)
{
    enum nb_err err = grow(t);
    if (err != NB_OK)
        return err;
    char **row = t->cells + t->n_rows * t->n_cols;
    for (size_t i = 0; i < t->n_cols; i++) {
        const char *c = cells[i] != NULL && cells[i][0] != '\0' ? cells[i] : "-";
        row[i] = nb_strdup(c);
        if (row[i] == NULL) {
            while (i > 0)
                nb_free(row[--i]);
            return NB_ENOMEM;
        }
        size_t w = strlen(c);
        if (w > t->width[i])
            t->width[i] = w;
    }
    t->n_rows++;
    return NB_OK;
}

size_t cli_table_rows(const struct cli_table *t)
{
    return t->n_rows;
}

static void print_row(const struct cli_table *t, const char *const *row, FILE *f)
{
    for (size_t i = 0; i < t->n_cols; i++) {
        if (i + 1 == t->n_cols)
            fprintf(f, "%s\n", row[i]); /* the last column is not padded */
        else
            fprintf(f, "%-*s  ", (int)t->width[i], row[i]);
    }
}

void cli_table_print(const struct cli_table *t, FILE *f)
{
    print_row(t, t->headers, f);
    for (size_t r = 0; r < t->n_rows; r++)
        print_row(t, (const char *const *)(t->cells + r * t->n_cols), f);
}

void cli_table_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        (void)snprintf(out, 32, "-");
}

void cli_table_size(uint64_t n, char out[32])
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (n < 1024) {
        (void)snprintf(out, 32, "%" PRIu64 " B", n);
        return;
    }
    double v = (double)n / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    (void)snprintf(out, 32, "%.1f %s", v, units[u]);
}
