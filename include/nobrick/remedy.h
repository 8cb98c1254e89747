/* What a person reads when an update fails (lib/agent/remedy.c): for every
 * error code, a sentence saying what happened in their words and what to
 * do next. One table, used by the agent's events on the control socket,
 * `nobrick-agent watch` and the "what to do" lines of the offline verbs.
 * DESIGN.md "Users in the loop": "something went wrong" is never enough. */
#ifndef NOBRICK_REMEDY_H
#define NOBRICK_REMEDY_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stddef.h>

struct nb_remedy {
    enum nb_err code;
    const char *sentence; /* what happened: "the update was refused: it is not signed ..." */
    const char *what_to_do;
    bool support; /* the person should contact support (the configured address) */
};

/* The entry of err. Never NULL: a code without an entry (none in err.h
 * today; a test checks) gets a generic one whose code is NB_EINVAL. */
const struct nb_remedy *nb_remedy_for(enum nb_err err);

/* The table itself, for tests and documentation: *count entries. */
const struct nb_remedy *nb_remedy_table(size_t *count);

#endif
