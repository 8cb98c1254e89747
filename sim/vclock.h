/* The virtual clock nobrick-sim shares with nobrick-server (sim/vclock.c):
 * the server's --clock-file, 8 bytes holding a native-endian int64 of Unix
 * seconds, mapped shared here and written with an atomic store whenever
 * virtual time moves, so the server's tokens, instructions, last-seen
 * times and rollout soak times follow the simulated fleet's time
 * (server/clock.h reads it). */
#ifndef SIM_VCLOCK_H
#define SIM_VCLOCK_H

#include <nobrick/err.h>

#include <stdint.h>

struct sim_vclock;

/* Maps the existing clock file at path (the server creates it). NB_EIO or
 * NB_EINVAL (not 8 bytes) with diag. Release with sim_vclock_close. */
NB_MUST_CHECK enum nb_err sim_vclock_open(const char *path, struct sim_vclock **out,
                                          struct nb_diag *diag);
void sim_vclock_close(struct sim_vclock *v); /* NULL: no-op */

/* Sets the server's time to unix_s. */
void sim_vclock_set(struct sim_vclock *v, int64_t unix_s);

#endif
