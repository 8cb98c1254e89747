/* The gate between a rollout's waves (gate.c): a pure function from one
 * wave's counters, the counters of the waves before it, the time the wave
 * has soaked and a policy to a decision (advance, hold, pause, abort) and a
 * sentence an operator can read ("wave 2 paused: 4 of 61 finished devices
 * failed (6.6% >= 5.0%): 4 health check failed"). No store, no clock: the
 * engine (rollout.c) counts, this decides, and tests cover every input.
 *
 * Definitions. A device of the wave is *not seen* while it has not checked
 * in since the wave opened; *reachable* devices are the others. *Finished*
 * devices succeeded (committed and checked in again on the new version) or
 * failed (install failed, health check failed / rolled back, timed out, or
 * silently back on the old version). Quarantined devices are left out of
 * the counters altogether (the caller does not count them).
 *
 * Rules, first match wins:
 *   1. abort   wave failures >= max(abort_min_count, abort_permille of finished),
 *              once enough have finished (abort_permille 0: never)
 *   2. pause   wave failures >= max(fail_min_count, fail_permille of finished),
 *              once min(fail_min_finished, reachable) devices have finished
 *   3. pause   the same over all waves so far (cumulative), with cum_* figures
 *   4. advance the wave is empty
 *   5. hold    the soak time has not passed
 *   6. hold    no device of the wave has been seen, unless unseen_wait_s
 *              is set, the wave has waited that long and the waves before
 *              it have healthy devices: then advance (GATE_R_UNSEEN_WAITED;
 *              its devices stay assigned and update when they return)
 *   7. advance succeeded >= success_permille of reachable
 *   8. hold    some reachable devices are still in progress
 *   9. pause   every reachable device finished, too few succeeded */
#ifndef NOBRICK_SERVER_GATE_H
#define NOBRICK_SERVER_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GATE_REASON_MAX 240

enum gate_decision { GATE_HOLD, GATE_ADVANCE, GATE_PAUSE, GATE_ABORT };

/* Why a device counts as failed. */
enum gate_failure {
    GATE_FAIL_INSTALL,  /* reported failed (download, verification, install) */
    GATE_FAIL_HEALTH,   /* failed its health check: rolled back */
    GATE_FAIL_TIMEOUT,  /* no progress within the per-device timeout */
    GATE_FAIL_FALLBACK, /* committed, then checked in on the old version */
    GATE_FAIL_COUNT
};

/* Which rule decided (the numbers of the list above). */
enum gate_rule {
    GATE_R_ABORT = 1,
    GATE_R_WAVE_FAILURES,
    GATE_R_CUM_FAILURES,
    GATE_R_EMPTY,
    GATE_R_SOAKING,
    GATE_R_UNSEEN,
    GATE_R_HEALTHY,
    GATE_R_WAITING,
    GATE_R_TOO_FEW,
    GATE_R_UNSEEN_WAITED, /* rule 6's exception */
};

/* Devices of one wave (or of several waves added up). */
struct gate_counts {
    uint32_t not_seen;    /* not checked in since the wave opened */
    uint32_t in_progress; /* seen, not finished */
    uint32_t succeeded;
    uint32_t failed[GATE_FAIL_COUNT];
};

struct gate_policy {
    uint32_t soak_s;             /* the wave soaks at least this long */
    uint32_t success_permille;   /* 950: advance at 95 % of reachable devices healthy */
    uint32_t fail_min_count;     /* 3 */
    uint32_t fail_permille;      /* 50: pause at max(3, 5 %) failures ... */
    uint32_t fail_min_finished;  /* 10: ... once 10 (or every reachable device) finished */
    uint32_t cum_fail_min_count; /* the cumulative gate: 5 */
    uint32_t cum_fail_permille;  /* 50 */
    uint32_t abort_min_count;    /* 10 */
    uint32_t abort_permille;     /* 0: never abort by itself */
    uint32_t unseen_wait_s;      /* 0: a wave nobody was seen in holds until one is */
};

struct gate_input {
    unsigned wave;             /* its number, for the sentence */
    struct gate_counts cur;    /* this wave */
    struct gate_counts before; /* the waves before it, added up */
    uint64_t soaked_s;         /* seconds since the wave opened */
};

struct gate_result {
    enum gate_decision decision;
    enum gate_rule rule;
    char reason[GATE_REASON_MAX];
};

/* The defaults above, with a soak of 86400 s. */
void gate_policy_defaults(struct gate_policy *p);

/* Decides for one wave; always writes out (the function cannot fail). */
void gate_evaluate(const struct gate_policy *p, const struct gate_input *in,
                   struct gate_result *out);

/* Helpers the engine and the status view share. */
uint32_t gate_failed(const struct gate_counts *c);
uint32_t gate_finished(const struct gate_counts *c);
uint32_t gate_reachable(const struct gate_counts *c);
uint32_t gate_total(const struct gate_counts *c);
/* The failure threshold for `finished` devices: max(min_count,
 * ceil(permille * finished / 1000)). */
uint32_t gate_threshold(uint32_t min_count, uint32_t permille, uint32_t finished);

const char *gate_decision_name(enum gate_decision d); /* "advance", "hold", ... */
const char *gate_failure_name(enum gate_failure f);   /* "health check failed", ... */

#endif
