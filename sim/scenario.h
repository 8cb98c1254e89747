/* A nobrick-sim scenario (sim/scenario.c): a JSON file (docs/simulator.md)
 * naming the server, the fleet (count, hardware classes and revisions,
 * flash geometry, poll settings), the factory and update releases with
 * how their images behave, the faults to inject, the plan (which release
 * to deploy to which group), how long to run and what must hold at the
 * end. Parsed strictly with jansson: unknown fields are refused. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_NAME_MAX 63
#define SIM_PATH_MAX 1023
#define SIM_MAX_CLASSES 8
#define SIM_MAX_REVISIONS 8
#define SIM_MAX_RELEASES 4
#define SIM_MAX_ONLINE 4          /* online patterns of a fleet */
#define SIM_ROLLOUT_SPEC_MAX 8192 /* the plan's rollout spec, as JSON text */
#define SIM_MAX_CHAIN 4           /* roots published in one move */
/* run.inflight_step_ms at most: a login's challenge and answer, two
 * requests, stay well inside the server's 60 s challenge lifetime */
#define SIM_INFLIGHT_STEP_MAX_MS 10000

struct sim_hw_class {
    char name[SIM_NAME_MAX + 1];
    char revisions[SIM_MAX_REVISIONS][SIM_NAME_MAX + 1];
    size_t n_revisions; /* >= 1 ("r1" when none are named) */
    uint32_t weight;    /* share of the fleet, relative to the others */
};

/* Something an image does on some devices: on every boot of the listed
 * hardware revisions, else with probability p per boot (or health check). */
struct sim_misbehaviour {
    double p;
    char revisions[SIM_MAX_REVISIONS][SIM_NAME_MAX + 1];
    size_t n_revisions;
};

/* How a release's image behaves once booted (sim/behaviour.c). */
struct sim_release {
    char bundle[SIM_PATH_MAX + 1];  /* resolved against the scenario's directory */
    struct sim_misbehaviour health; /* its health check fails */
    struct sim_misbehaviour crash;  /* it crashes at boot: the agent never runs */
    struct sim_misbehaviour hang;   /* it hangs at boot until the watchdog resets it */
};

/* When a share of the fleet can reach the server (sim/online.c), from the
 * plan's start: with probability online_p per poll interval (intermittent),
 * or never from offline_from_s for offline_for_s virtual seconds. */
struct sim_online {
    double share;
    double online_p;         /* intermittent; 0 with an offline period */
    uint64_t offline_from_s; /* offline period, from the plan's start */
    uint64_t offline_for_s;  /* 0: intermittent */
};

/* Moving the fleet to a new server (sim/move.c): the chain published on
 * the old server, the new server's management access, the switch of the
 * old address to a stranger. */
struct sim_move_plan {
    bool enabled;
    char server[SIM_PATH_MAX + 1]; /* the new server, as the chain's last root lists it */
    char token[SIM_NAME_MAX * 2 + 1];
    char chain[SIM_MAX_CHAIN][SIM_PATH_MAX + 1]; /* root files, v2 first */
    size_t n_chain;
    double offline;  /* share of the fleet powered off until after the switch */
    double walk_cut; /* probability a device's power is cut during its walk */
    char switch_command[SIM_PATH_MAX + 1]; /* run by /bin/sh: old server off, stranger on */
    bool stranger;                         /* a stranger serves the old address after the switch */
    char stranger_token[SIM_NAME_MAX * 2 + 1];
    size_t stranger_release;             /* the release it deploys to the fleet */
    char devices_file[SIM_PATH_MAX + 1]; /* "": none; else one JSON line per device */
};

struct sim_scenario {
    char dir[SIM_PATH_MAX + 1]; /* the scenario file's directory */
    char server[SIM_PATH_MAX + 1];
    char token[SIM_NAME_MAX * 2 + 1];
    uint64_t seed;
    char root[SIM_PATH_MAX + 1];
    char factory[SIM_PATH_MAX + 1];
    /* fleet */
    uint32_t count;
    char group[SIM_NAME_MAX + 1];
    uint32_t group_size; /* devices per server group, "<group>-<n>" (0: one group) */
    struct sim_hw_class classes[SIM_MAX_CLASSES];
    size_t n_classes;
    uint64_t slot_size;
    uint32_t meta_size, erase_size, write_size;
    uint32_t poll_interval_s, poll_jitter_s;
    uint32_t clock_offset_max_s; /* each device's wall clock is off by up to this */
    uint32_t boot_s;             /* virtual seconds a reboot takes */
    uint32_t watchdog_s;         /* virtual seconds a hung image runs before the reset */
    struct sim_online online[SIM_MAX_ONLINE]; /* the rest of the fleet: always online */
    size_t n_online;
    /* faults */
    double power_cut;       /* probability a device's power is cut during an install */
    uint32_t cut_window;    /* the cut hits one of the first cut_window flash operations */
    bool tear;              /* the cut operation is torn */
    double drop_response;   /* probability a response is lost (the connection dropped) */
    double truncate;        /* probability a download answer is cut mid-body (faults.h) */
    double corrupt;         /* probability a frame answer has a byte flipped */
    double slow_link;       /* share of the fleet on slow links */
    uint64_t slow_link_bps; /* their receive speed, bytes per second */
    /* releases and the plan */
    struct sim_release releases[SIM_MAX_RELEASES];
    size_t n_releases;
    size_t deploy;  /* index of the release the plan deploys */
    bool no_deploy; /* plan.deploy -1: nothing deployed, the fleet polls (load runs) */
    /* a rollout in place of a group deployment: the POST /api/v1/rollouts
     * body without release_id (text; "" : none), the first canary_count
     * devices as its canary list, an engine tick every tick_s virtual s */
    char rollout_spec[SIM_ROLLOUT_SPEC_MAX];
    uint32_t canary_count;
    uint32_t tick_s;
    /* run */
    bool wall_clock;        /* false: virtual time */
    uint64_t max_virtual_s; /* give up after this much simulated time */
    uint32_t max_wall_s;    /* ... or this much real time */
    uint32_t connections;   /* concurrent HTTP connections */
    uint32_t ramp_s;        /* devices power on spread over this many seconds */
    /* virtual ms the clock may run past the oldest request in flight (0:
     * it stands still while anything is in flight) */
    uint32_t inflight_step_ms;
    /* expect */
    uint32_t expect_bricked_max;
    double expect_updated_min; /* fraction of the fleet */
    struct sim_move_plan move;
};

/* Loads path into *out. NB_EPARSE (diag: the field) for a bad scenario,
 * NB_EIO when the file cannot be read. */
NB_MUST_CHECK enum nb_err sim_scenario_load(const char *path, struct sim_scenario *out,
                                            struct nb_diag *diag);

/* src (NULL: "") copied into dst; false when it does not fit. */
bool sim_scenario_str(char *dst, size_t cap, const char *src);
/* path resolved against the scenario's directory (absolute: as it is)
 * into dst; false when it does not fit or is empty. */
bool sim_scenario_path(const struct sim_scenario *s, char *dst, size_t cap, const char *path);

#endif
