/* The one reader of "name = value" configuration files (conffile.h), shared
 * by nobrick-agent, nobrick-server and the nobrick CLI: it splits and trims
 * lines and names the line of every error; what the names mean is each
 * program's own table. Works on a private, NUL-terminated copy of the text
 * so that it can cut names and values in place. */
#include <nobrick/alloc.h>
#include <nobrick/conffile.h>
#include <nobrick/crypto.h>
#include <nobrick/fileio.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static bool blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

/* [b, e) without the blanks around it, NUL-terminated in place (*e must be
 * writable). */
static char *trim(char *b, char *e)
{
    while (b < e && blank(*b))
        b++;
    while (e > b && blank(e[-1]))
        e--;
    *e = '\0';
    return b;
}

/* One line [b, e): a blank line, a comment or a setting. */
static enum nb_err parse_line(const struct nb_conffile *cf, char *b, char *e, struct nb_diag *why)
{
    /* A NUL would cut a value short without a word: "token = a\0b". */
    if (memchr(b, '\0', (size_t)(e - b)) != NULL)
        return nb_diag_set(why, NB_EPARSE, "NUL byte");
    char *s = trim(b, e);
    if (*s == '\0' || *s == '#')
        return NB_OK;
    char *end = s + strlen(s), *eq = strchr(s, '=');
    if (eq == NULL)
        return nb_diag_set(why, NB_EPARSE, "not 'name = value'");
    const char *name = trim(s, eq), *value = trim(eq + 1, end);
    if (*name == '\0')
        return nb_diag_set(why, NB_EPARSE, "unknown %s ''", cf->noun);
    return cf->fn(cf->ctx, name, value, why);
}

/* text[0..len) with text[len] writable; stops at the first error. */
static enum nb_err parse_text(const struct nb_conffile *cf, const char *origin, char *text,
                              size_t len, struct nb_diag *diag)
{
    char *p = text, *end = text + len;
    for (unsigned line = 1; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl != NULL ? nl : end;
        struct nb_diag why = {{0}};
        enum nb_err err = parse_line(cf, p, e, &why);
        if (err != NB_OK) {
            const char *msg = why.msg[0] != '\0' ? why.msg : nb_strerror(err);
            return origin != NULL ? nb_diag_set(diag, err, "%s:%u: %s", origin, line, msg)
                                  : nb_diag_set(diag, err, "line %u: %s", line, msg);
        }
        p = nl != NULL ? nl + 1 : end;
    }
    return NB_OK;
}

enum nb_err nb_conffile_parse(const struct nb_conffile *cf, const char *origin, const char *text,
                              size_t len, struct nb_diag *diag)
{
    char *copy = len < SIZE_MAX ? nb_malloc(len + 1) : NULL;
    if (copy == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    if (len > 0)
        memcpy(copy, text, len);
    enum nb_err err = parse_text(cf, origin, copy, len, diag);
    nb_wipe(copy, len + 1);
    nb_free(copy);
    return err;
}

enum nb_err nb_conffile_read(const struct nb_conffile *cf, const char *path, size_t max,
                             struct nb_diag *diag)
{
    uint8_t *text = NULL;
    size_t len = 0;
    enum nb_err err = nb_file_read(path, max, &text, &len, diag);
    if (err != NB_OK)
        return err;
    /* nb_file_read NUL-terminates: text[len] is ours to write. */
    err = parse_text(cf, path, (char *)text, len, diag);
    nb_wipe(text, len);
    nb_free(text);
    return err;
}
