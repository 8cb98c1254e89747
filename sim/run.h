/* The simulator's event loop (sim/run.c): every device's agent core is
 * stepped from one thread; its HTTP requests go out through the multi
 * handle (net.h), its waits into a heap ordered by wake-up time, its
 * health checks and reboots are answered at once from the device's
 * declared behaviour. In virtual time, when nothing is in flight and no
 * device is ready, the clock jumps to the next wake-up: poll intervals and
 * back-offs cost no wall time. */
#ifndef SIM_RUN_H
#define SIM_RUN_H

#include "fleet.h"
#include "net.h"

#include <stdbool.h>
#include <stdint.h>

struct sim_wake {
    uint64_t at_ms;
    uint32_t dev;
};

struct sim_run {
    struct sim_fleet *fleet;
    const struct sim_scenario *sc;
    struct sim_net *net;
    struct sim_wake *heap; /* waiting devices, soonest first */
    size_t n_heap;
    uint32_t *ready; /* ring of devices to step now */
    size_t ready_head, n_ready;
    uint64_t start_wall_ms;
    /* the deployment being followed */
    char target[NB_BOOTCTL_VERSION_MAX + 1]; /* "" before the plan starts */
    uint64_t deploy_at_ms;
    /* counters */
    uint32_t enrolled; /* devices with at least one check-in answered */
    uint32_t settled;  /* devices whose outcome the server has seen (or bricked, stopped) */
    uint32_t stopped;  /* cores that ended (DONE without a power cut) */
    uint64_t frames, frames_refetched, dropped, cuts_armed;
    bool quiet;
    uint64_t last_progress_ms;
};

NB_MUST_CHECK enum nb_err sim_run_init(struct sim_run *r, struct sim_fleet *f, struct sim_net *net);
void sim_run_fini(struct sim_run *r);

/* Powers every device on (bootloader, then its core), but those offline
 * (a moving fleet's, move.h). */
void sim_run_boot_all(struct sim_run *r);
/* Powers d on and makes it ready (bricked: settled). */
void sim_run_boot(struct sim_run *r, struct sim_device *d);

/* Runs until until(r) is true (checked between events) or the scenario's
 * virtual or wall-clock limit. true when until(r) held. */
bool sim_run_until(struct sim_run *r, bool (*until)(const struct sim_run *r));

/* The clock the devices see (virtual or wall), in milliseconds. */
uint64_t sim_run_now_ms(const struct sim_run *r);
/* Real milliseconds since the run started. */
uint64_t sim_run_wall_ms(const struct sim_run *r);

#endif
