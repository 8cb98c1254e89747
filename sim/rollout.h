/* A scenario's rollout (sim/rollout.c): created from plan.rollout (the body
 * of POST /api/v1/rollouts, the release and a canary of the first
 * canary_count devices added), started, then every plan.tick_s virtual
 * seconds the server's engine is made to tick at the virtual time (POST
 * /api/v1/rollouts/tick) and the rollout read back, until it stops
 * running: paused or aborted by its gates, or completed. The last reading
 * (per-wave funnel, gate, reason) goes into the summary. */
#ifndef SIM_ROLLOUT_H
#define SIM_ROLLOUT_H

#include "run.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct sim_rollout {
    struct sim_net *net;
    const char *token;
    int64_t id;
    char state[16]; /* as the server last said: running, paused, aborted, completed */
    json_t *last;   /* the last GET /api/v1/rollouts/{id} */
    uint64_t ticks;
    double stopped_s; /* virtual seconds from the start until it was seen stopped; < 0: not */
};

/* Creates and starts the rollout of release release_id (version) and
 * starts r's plan and ticks. NB_EIO / NB_EPARSE with diag when the server
 * refuses it. */
NB_MUST_CHECK enum nb_err sim_rollout_start(struct sim_rollout *ro, struct sim_run *r,
                                            const char *token, int64_t release_id,
                                            const char *version, struct nb_diag *diag);

/* Reads the rollout again (for the summary). */
void sim_rollout_refresh(struct sim_rollout *ro);

/* Running no more: paused, aborted or completed (or unreadable). */
bool sim_rollout_stopped(const struct sim_rollout *ro);
bool sim_rollout_completed(const struct sim_rollout *ro);

void sim_rollout_fini(struct sim_rollout *ro);

#endif
