/* "name = value" configuration files, for host programs
 * (lib/host/conffile.c): one setting a line, blank lines and lines starting
 * with '#' skipped, blanks (space, tab, CR) around names and values
 * trimmed, the first '=' splits. The reader knows no names: each program
 * keeps its own table of them and checks its own values, and the reader
 * puts the file and line in front of every error. */
#ifndef NOBRICK_CONFFILE_H
#define NOBRICK_CONFFILE_H

#include <nobrick/err.h>

#include <stddef.h>

/* Called once per setting, in file order, with name (never empty) and value
 * (may be empty) trimmed and NUL-terminated, valid during the call only.
 * Returns NB_OK, or an error with why in diag ("unknown key 'x'"): the
 * reader stops there and reports "ORIGIN:LINE: why". */
typedef enum nb_err (*nb_conffile_fn)(void *ctx, const char *name, const char *value,
                                      struct nb_diag *diag);

struct nb_conffile {
    nb_conffile_fn fn;
    void *ctx;
    /* What the file calls a name ("key", "option"): a line with nothing
     * before its '=' is reported as "unknown NOUN ''", as each program says
     * of a name it does not know. */
    const char *noun;
};

/* Parses text[0..len) (need not be NUL-terminated), calling cf->fn per
 * setting. NB_EPARSE for a line without '=', an empty name or a NUL byte;
 * else the first error of cf->fn; NB_ENOMEM. diag says "ORIGIN:LINE: why",
 * or "line LINE: why" when origin is NULL. The reader's copy of the text is
 * wiped before it is freed: values may be secrets. */
NB_MUST_CHECK enum nb_err nb_conffile_parse(const struct nb_conffile *cf, const char *origin,
                                            const char *text, size_t len, struct nb_diag *diag);

/* Reads path (at most max bytes, with nb_file_read: NB_ENOENT, NB_ELENGTH,
 * NB_EIO, diag naming the path) and parses it as nb_conffile_parse does,
 * with path as the origin. */
NB_MUST_CHECK enum nb_err nb_conffile_read(const struct nb_conffile *cf, const char *path,
                                           size_t max, struct nb_diag *diag);

#endif
