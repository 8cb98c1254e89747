/* The error table's two lookups (name and sentence) and the parser
 * diagnostic. Both lookups are generated from NB_ERR_TABLE, so a code cannot
 * have a name without a sentence. */
#include <nobrick/err.h>

#include <stdarg.h>
#include <stdio.h>

const char *nb_strerror(enum nb_err err)
{
    switch (err) {
#define NB_ERR_TEXT(e, v, name, text)                                                              \
    case e:                                                                                        \
        return text;
        NB_ERR_TABLE(NB_ERR_TEXT)
#undef NB_ERR_TEXT
    }
    return "unknown error";
}

const char *nb_errname(enum nb_err err)
{
    switch (err) {
#define NB_ERR_NAME(e, v, name, text)                                                              \
    case e:                                                                                        \
        return name;
        NB_ERR_TABLE(NB_ERR_NAME)
#undef NB_ERR_NAME
    }
    return "E_UNKNOWN";
}

enum nb_err nb_diag_set(struct nb_diag *diag, enum nb_err err, const char *fmt, ...)
{
    if (diag == NULL || diag->msg[0] != '\0')
        return err;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
    va_end(ap);
    return err;
}

void nb_diag_clear(struct nb_diag *diag)
{
    if (diag != NULL)
        diag->msg[0] = '\0';
}
