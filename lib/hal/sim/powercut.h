/* The power-cut model shared by the simulated flashes (flash_sim.c on a
 * file, flash_mem.c in memory): a cut armed to hit the N-th program or
 * erase, whether it tears that operation, how long the torn prefix is and
 * how the byte after it is half-changed. One model, so a scenario that
 * fails on one backend replays on the other. Internal to lib/hal/sim. */
#ifndef NOBRICK_HAL_SIM_POWERCUT_H
#define NOBRICK_HAL_SIM_POWERCUT_H

#include <stdbool.h>
#include <stdint.h>

struct nb__powercut {
    bool armed;    /* a cut is pending */
    uint64_t left; /* programs/erases that still complete before the cut */
    bool tear;
    uint64_t seed;
    bool lost; /* power is off: every operation fails */
};

/* splitmix64: a full-period mix, so nearby seeds give unrelated tears. */
uint64_t nb__powercut_mix(uint64_t x);

void nb__powercut_arm(struct nb__powercut *pc, uint64_t n_ops, bool tear, uint64_t seed);
/* Power back on, nothing armed. */
void nb__powercut_restore(struct nb__powercut *pc);

/* Called before each program or erase that passed its checks: true when
 * this is the one the cut hits (power is then lost). */
bool nb__powercut_hit(struct nb__powercut *pc);

/* The torn length of an operation of len bytes, in [0, len): how much of
 * it was applied before the cut. 0 without tear. */
uint64_t nb__powercut_torn_len(const struct nb__powercut *pc, uint64_t len);

/* The byte right after a torn prefix: a program clears only some of the
 * bits it should (a cell cut mid-pulse), an erase sets only some back to 1.
 * target: the byte being programmed, or the old byte being erased. */
uint8_t nb__powercut_half_program(const struct nb__powercut *pc, uint8_t target);
uint8_t nb__powercut_half_erase(const struct nb__powercut *pc, uint8_t old);

#endif
