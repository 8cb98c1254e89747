/* Picks the store backend once, from the scheme of the --db URL, and names
 * the enumerations the store persists (states and roles are stored by name,
 * so a row stays readable and a reordered enum cannot corrupt data). */
#include "store.h"

#include <string.h>

struct backend {
    const char *scheme; /* with its colon */
    enum nb_err (*open)(const char *rest, struct store *out, struct nb_diag *diag);
};

static const struct backend backends[] = {
    {"sqlite:", store_sqlite_open},
};

enum nb_err store_open(const char *url, struct store *out, struct nb_diag *diag)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        size_t n = strlen(backends[i].scheme);
        if (strncmp(url, backends[i].scheme, n) == 0) {
            if (url[n] == '\0')
                return nb_diag_set(diag, NB_EINVAL, "--db %s: no path after the scheme", url);
            return backends[i].open(url + n, out, diag);
        }
    }
    return nb_diag_set(diag, NB_EUNSUPPORTED, "--db %.100s: unknown scheme (expected sqlite:PATH)",
                       url);
}

void store_close(struct store *s)
{
    if (s->ops != NULL)
        s->ops->close(s);
    s->ops = NULL;
    s->ctx = NULL;
}

static const char *const device_states[] = {"pending", "preauthorized", "active", "decommissioned"};
static const char *const roles[] = {"viewer", "operator", "admin", "device"};
static const char *const assign_states[] = {
    "pending",   "notified",  "downloading", "installing",  "rebooting",
    "committed", "succeeded", "failed",      "rolled_back", "cancelled",
};
_Static_assert(sizeof assign_states / sizeof assign_states[0] == STORE_ASSIGN_COUNT,
               "a name for every assignment state");

static const char *const rollout_states[] = {"draft", "running", "paused", "aborted", "completed"};
_Static_assert(sizeof rollout_states / sizeof rollout_states[0] == STORE_ROLLOUT_STATE_COUNT,
               "a name for every rollout state");

static const char *const targets[] = {"device", "group", "rollout"};

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
    return v < n ? names[v] : "?";
}

static enum nb_err parse_name(const char *const *names, size_t n, const char *name, unsigned *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            *out = (unsigned)i;
            return NB_OK;
        }
    }
    return NB_EINVAL;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *store_device_state_name(enum store_device_state st)
{
    return name_of(device_states, COUNT(device_states), (unsigned)st);
}

enum nb_err store_device_state_parse(const char *name, enum store_device_state *out)
{
    unsigned v;
    enum nb_err err = parse_name(device_states, COUNT(device_states), name, &v);
    if (err == NB_OK)
        *out = (enum store_device_state)v;
    return err;
}

const char *store_role_name(enum store_role role)
{
    return name_of(roles, COUNT(roles), (unsigned)role);
}

enum nb_err store_role_parse(const char *name, enum store_role *out)
{
    unsigned v;
    enum nb_err err = parse_name(roles, COUNT(roles), name, &v);
    if (err == NB_OK)
        *out = (enum store_role)v;
    return err;
}

const char *store_assign_state_name(enum store_assign_state st)
{
    return name_of(assign_states, COUNT(assign_states), (unsigned)st);
}

enum nb_err store_assign_state_parse(const char *name, enum store_assign_state *out)
{
    unsigned v;
    enum nb_err err = parse_name(assign_states, COUNT(assign_states), name, &v);
    if (err == NB_OK)
        *out = (enum store_assign_state)v;
    return err;
}

const char *store_rollout_state_name(enum store_rollout_state st)
{
    return name_of(rollout_states, COUNT(rollout_states), (unsigned)st);
}

enum nb_err store_rollout_state_parse(const char *name, enum store_rollout_state *out)
{
    unsigned v;
    enum nb_err err = parse_name(rollout_states, COUNT(rollout_states), name, &v);
    if (err == NB_OK)
        *out = (enum store_rollout_state)v;
    return err;
}

const char *store_target_name(enum store_target t)
{
    return name_of(targets, COUNT(targets), (unsigned)t);
}
