/* The health-check runner (agent/health.c): every executable regular file of
 * a directory, in name order, each in its own process group with a timeout.
 * A check passes when it exits 0 in time; a non-zero exit, a signal or the
 * timeout (the group is then killed) fails it, and the first failure stops
 * the run. Checks see NOBRICK_SLOT, NOBRICK_VERSION and NOBRICK_STATE of the
 * running image; their output goes to the agent's stderr. */
#ifndef AGENT_HEALTH_H
#define AGENT_HEALTH_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stdint.h>

#define AGENT_HEALTH_MAX_CHECKS 256

struct agent_health_env {
    const char *slot, *version, *state;
};

struct agent_health_result {
    bool ok;
    unsigned n_run;  /* checks started */
    char check[256]; /* the failing check's file name */
    char why[128];   /* "exited with status 1", "timed out after 5 s", ... */
};

/* Runs the checks of dir (a missing or empty directory passes with
 * n_run 0). NB_EIO (diag names the path) when the directory cannot be read
 * or a check cannot be started; a failing check is not an error: out->ok
 * false says it. */
NB_MUST_CHECK enum nb_err agent_health_run(const char *dir, uint32_t timeout_s,
                                           const struct agent_health_env *env,
                                           struct agent_health_result *out, struct nb_diag *diag);

#endif
