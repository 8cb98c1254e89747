/* The server's one clock (clock.c): real Unix time, or, for the fleet
 * simulator and tests only, the Unix time another process keeps in a small
 * file (--clock-file): 8 bytes, a native-endian int64 of Unix seconds,
 * mapped shared and read atomically, so every srv_now() of every thread
 * follows the simulator's virtual time. docs/simulator.md "Time". */
#ifndef NOBRICK_SERVER_CLOCK_H
#define NOBRICK_SERVER_CLOCK_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stdint.h>

#define SRV_CLOCK_FILE_LEN 8

/* Follows the clock file at path from now on; a missing or empty file is
 * created holding the real time. Call once at start-up, before any thread
 * starts. NB_EINVAL (diag says why) when the file is not 8 bytes or holds
 * no positive time; NB_EIO when it cannot be opened or mapped. */
NB_MUST_CHECK enum nb_err srv_clock_open(const char *path, struct nb_diag *diag);
/* Stops following the file (at exit); srv_now() is real time again. */
void srv_clock_close(void);
/* true while srv_now() follows a clock file. */
bool srv_clock_virtual(void);

#endif
