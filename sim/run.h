/* The simulator's event loop (sim/run.c): every device's agent core is
 * stepped from one thread; its HTTP requests go out through the multi
 * handle (net.h), its waits into a heap ordered by wake-up time, its
 * health checks and reboots are answered at once from the device's
 * declared behaviour. In virtual time, when no device is ready and the
 * network has room (fewer than run.connections requests in flight or
 * queued), the clock jumps to the next wake-up, no further than
 * run.inflight_step_ms past the oldest request in flight: poll intervals
 * and back-offs cost no wall time, a request a bounded slice of virtual
 * time. */
#ifndef SIM_RUN_H
#define SIM_RUN_H

#include "fleet.h"
#include "inflight.h"
#include "net.h"
#include "vclock.h"

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
    struct sim_inflight sent; /* send times of the requests in flight */
    uint64_t *sent_at_ms;     /* per device: when its request in flight was sent */
    uint64_t start_wall_ms;
    uint64_t boot_wall_ms; /* wall ms (since the start) when the fleet powered on */
    /* the deployment being followed */
    char target[NB_BOOTCTL_VERSION_MAX + 1]; /* "" before the plan starts */
    uint64_t deploy_at_ms;
    /* the server's clock (NULL: it keeps real time) and the plan's ticks:
     * virtual time stops at tick_at_ms, where on_tick runs (and moves it) */
    struct sim_vclock *vclock;
    uint64_t tick_at_ms; /* UINT64_MAX: none */
    void (*on_tick)(void *ctx, struct sim_run *r);
    void *tick_ctx;
    char plan_note[64]; /* for the progress line, e.g. "rollout running, wave 2" */
    /* counters */
    uint32_t enrolled;        /* devices with at least one check-in answered */
    uint32_t settled;         /* devices whose outcome the server has seen (or bricked, stopped) */
    uint32_t stopped;         /* cores that ended (DONE without a power cut) */
    uint32_t reached;         /* devices told of the update */
    uint32_t settled_reached; /* ... and settled */
    uint32_t withdrawn;       /* ... whose update the server took back before they installed it */
    uint64_t frames;          /* frames verified and written from frame answers */
    uint64_t frame_requests;  /* Range requests for a run of frames */
    uint64_t
        frame_refetches; /* ... starting inside the previous one (a lost answer, a refused frame) */
    uint64_t dropped, cuts_armed;
    uint64_t offline_refusals; /* requests an unreachable device could not make */
    uint64_t checkins_ok, checkins_refused, checkins_failed; /* 200; 429 or 503; transport */
    bool quiet;
    bool tty; /* stderr is a terminal: one line, rewritten */
    uint64_t last_progress_ms, next_progress_virtual_ms;
};

NB_MUST_CHECK enum nb_err sim_run_init(struct sim_run *r, struct sim_fleet *f, struct sim_net *net);
void sim_run_fini(struct sim_run *r);

/* Powers every device on (bootloader, then its core), but those offline
 * (a moving fleet's, move.h). */
void sim_run_boot_all(struct sim_run *r);
/* Powers d on and makes it ready (bricked: settled). */
void sim_run_boot(struct sim_run *r, struct sim_device *d);

/* Starts the plan now: devices' updates to version are followed, and the
 * online patterns apply from here. */
void sim_run_start_plan(struct sim_run *r, const char *version);

/* Moves virtual time to now_ms (never back: an earlier time leaves it
 * where it is), and the server's clock with it. */
void sim_run_set_now(struct sim_run *r, uint64_t now_ms);

/* Runs until until(r) is true (checked between events) or the scenario's
 * virtual or wall-clock limit. true when until(r) held. */
bool sim_run_until(struct sim_run *r, bool (*until)(const struct sim_run *r));

/* The clock the devices see (virtual or wall), in milliseconds. */
uint64_t sim_run_now_ms(const struct sim_run *r);
/* Real milliseconds since the run started. */
uint64_t sim_run_wall_ms(const struct sim_run *r);

#endif
