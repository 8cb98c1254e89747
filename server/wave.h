/* Wave membership of a rollout (wave.c): deterministic and sticky. Each
 * device gets a position in [0, 1) from SHA-256(salt ":" device id), kept
 * as the first 32 bits of the digest; a rollout's plan is a list of steps
 * with cumulative shares, so wave k holds the devices whose position is
 * below step k's share (5 % sits inside 25 % inside 50 %), topped up with
 * the next positions to reach a step's minimum or absolute count. Wave 0 is
 * the explicit canary list. The same salt and devices give the same waves
 * in any order, across retries and re-creation, and a device whose position
 * is under a share stays in that wave however many devices join. */
#ifndef NOBRICK_SERVER_WAVE_H
#define NOBRICK_SERVER_WAVE_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAVE_STEPS_MAX 12 /* steps after the canary */
#define WAVE_PPM 1000000u /* share of all: 100 % */

/* One step of a plan: cumulative, over the devices not in the canary list.
 * share_ppm: parts per million of them (by position); count: at least this
 * many (by position order); min_count: at least this many when the share
 * gives fewer. The wave is the largest of the three and of the step
 * before, at most all. */
struct wave_step {
    uint32_t share_ppm;
    uint32_t count;
    uint32_t min_count;
};

struct wave_member {
    char id[STORE_ID_MAX + 1];
    bool canary;   /* in: on the canary list */
    bool skip;     /* the caller's: placed like the others, but not to be reached */
    uint32_t pos;  /* out: the position, as a 32-bit fraction */
    unsigned wave; /* out: 0 for the canary, 1..n_steps */
};

/* The default plan: 1 % with at least 10 devices, 5 %, 25 %, 50 %, 100 %.
 * Writes up to cap steps; returns how many. */
size_t wave_default_plan(struct wave_step *steps, size_t cap);

/* The position of device_id in a rollout salted with salt. */
NB_MUST_CHECK enum nb_err wave_position(const char *salt, const char *device_id, uint32_t *out);

/* Cumulative sizes of the steps for the n devices m[], sorted by position
 * (canary excluded): sizes[k] = how many are in steps 0..k. */
void wave_sizes(const struct wave_step *steps, size_t n_steps, const struct wave_member *m,
                size_t n, size_t *sizes);

/* Sets pos and wave of m[0..n-1] and sorts m: canary first, then by
 * position (ties by id). The last step holds every remaining device only
 * if its share is 100 %; devices past the last step get wave n_steps + 1.
 * NB_EINVAL for a plan of more than WAVE_STEPS_MAX steps. */
NB_MUST_CHECK enum nb_err wave_assign(const char *salt, const struct wave_step *steps,
                                      size_t n_steps, struct wave_member *m, size_t n);

#endif
