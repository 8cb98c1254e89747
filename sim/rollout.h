/* A scenario's rollout (sim/rollout.c): created from plan.rollout (the body
 * of POST /api/v1/rollouts, the release and a canary of the first
 * canary_count devices added), started, then every plan.tick_s virtual
 * seconds the server's engine is made to tick at the virtual time (POST
 * /api/v1/rollouts/tick) and the rollout read back, until it stops
 * running: paused or aborted by its gates, or completed. When the engine
 * answered an abort with an automatic rollback (the spec's auto_rollback:
 * a rollout rollback-of-ID whose spec.rollback_of is the rollout's id),
 * the ticks go on until the rollback stopped too and its devices
 * finished. The last readings (per-wave funnel, gate, reason) go into the
 * summary. */
#ifndef SIM_ROLLOUT_H
#define SIM_ROLLOUT_H

#include "run.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* One rollout as the server last showed it. */
struct sim_rollout_view {
    int64_t id;     /* 0: none */
    char state[16]; /* running, paused, aborted, completed; "" before the first reading */
    json_t *last;   /* the last GET /api/v1/rollouts/{id} */
    double started_s, stopped_s; /* virtual seconds from the plan's start; < 0: not (yet) */
};

struct sim_rollout {
    struct sim_net *net;
    const char *token;
    struct sim_rollout_view main;     /* the scenario's */
    struct sim_rollout_view rollback; /* the engine's rollback of it (id 0: none) */
    bool rollback_sought;             /* looked for once main stopped */
    int64_t rollback_open;            /* the rollback's devices not finished, at the last reading */
    uint64_t ticks;
};

/* Creates and starts the rollout of release release_id (version) and
 * starts r's plan and ticks. NB_EIO / NB_EPARSE with diag when the server
 * refuses it. */
NB_MUST_CHECK enum nb_err sim_rollout_start(struct sim_rollout *ro, struct sim_run *r,
                                            const char *token, int64_t release_id,
                                            const char *version, struct nb_diag *diag);

/* Reads the rollout and its rollback again (for the summary). */
void sim_rollout_refresh(struct sim_rollout *ro);

/* The scenario's rollout runs no more: paused, aborted or completed (or
 * unreadable). */
bool sim_rollout_stopped(const struct sim_rollout *ro);
bool sim_rollout_completed(const struct sim_rollout *ro);
/* Stopped, and its rollback, if the engine started one, stopped with every
 * device it reached finished (for a completed rollback: every device). */
bool sim_rollout_done(const struct sim_rollout *ro);

/* Adds to the summary s: "rollback" (its last reading; null without),
 * timing.rollout_stopped_s, timing.rollback_started_s and
 * timing.rollback_stopped_s (virtual seconds from the plan's start; null:
 * not). */
void sim_rollout_summary(const struct sim_rollout *ro, json_t *s);

void sim_rollout_fini(struct sim_rollout *ro);

#endif
