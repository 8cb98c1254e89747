/* The simulated fleet (sim/fleet.c): one factory flash provisioned from the
 * factory bundle (provision.h), cloned into every device (flash_mem.h: the
 * clones share its sectors); per device its keys (derived from the
 * scenario's seed, so a fleet replays), hardware class and revision, clock
 * offset, random state and an agent core (lib/agent) lent the shared
 * buffers. A power-on runs the bootloader policy (nb_boot_run) on the
 * device's flash, then starts a fresh core on what booted: the same code
 * as nobrick-boot and nobrick-agent. */
#ifndef SIM_FLEET_H
#define SIM_FLEET_H

#include "scenario.h"

#include <nobrick/agent.h>
#include <nobrick/boot.h>
#include <nobrick/codec.h>
#include <nobrick/flash_mem.h>
#include <nobrick/layout.h>
#include <nobrick/root.h>

#include <stdbool.h>
#include <stdint.h>

#define SIM_ALWAYS_ONLINE 0xFF /* sim_device.online: no pattern */

/* What became of a device's update (the summary's states). */
enum sim_outcome {
    SIM_PENDING,     /* nothing final yet */
    SIM_UPDATED,     /* committed the deployed release */
    SIM_FAILED,      /* the deployment failed for good */
    SIM_ROLLED_BACK, /* the trial was rejected or the bootloader fell back */
    SIM_BRICKED,     /* the bootloader found nothing bootable */
};

struct sim_clock {
    bool wall;           /* wall-clock mode: now_ms is real time since the start */
    uint64_t now_ms;     /* virtual monotonic milliseconds */
    int64_t unix_base_s; /* != 0: the wall clock is virtual, this + now_ms / 1000 (vclock.h) */
};

struct sim_device {
    uint32_t index;
    uint16_t hw, rev;       /* into the scenario's classes and their revisions */
    int64_t clock_offset_s; /* this device's wall clock minus the real one */
    uint64_t rng;           /* xorshift64 state */
    uint8_t ed_seed[32], x_priv[32], x_pub[32];
    char id[65], pub_hex[65];
    struct sim_clock *clock;
    struct nb_flash_mem *mem;
    struct nb_flash flash;
    struct nb_bootctl_flash bcf;
    struct nb_dualrec journal, trust;
    struct nb_agent *agent; /* NULL while powered off or bricked */
    uint8_t *table;
    enum nb_bootctl_slot_id running;
    /* the driver's bookkeeping (main.c) */
    enum sim_outcome outcome;
    uint32_t checkins, outcome_checkins; /* check-ins in total, and when the outcome came */
    bool cut_done;                       /* a power cut was armed for this install */
    bool in_flight;
    bool checkin_pending;     /* the request in flight is a check-in */
    bool settled;             /* counted in the run's settled devices */
    bool reached;             /* an update was announced to it (deployment reached it) */
    bool frame_pending;       /* the request in flight fetches a run of frames */
    bool withdrawn;           /* the server took its update back before it installed */
    uint64_t last_frame_last; /* the last byte the previous frame request asked for */
    uint64_t updated_at_ms;
    /* behaviour (behaviour.h, online.h) */
    uint8_t online;         /* index into the scenario's online patterns; SIM_ALWAYS_ONLINE */
    bool window_online;     /* intermittent: reachable during the current poll window */
    uint64_t window_end_ms; /* intermittent: when the next window starts */
    bool down;              /* its image crashed or hung: powered on again at its wake-up */
    uint16_t crash_loop;    /* boots in a row that did not reach the agent */
    void *driver;           /* the run (run.h) */
    /* a fleet that moves (move.h): the root its trust store holds (the
     * core walks it; NULL: the fleet's shared root), whether it is off
     * until the switch, the server of its request in flight and of its
     * last answer */
    struct nb_root *root;
    bool offline;
    uint8_t server_pending, server;
};

struct sim_fleet {
    const struct sim_scenario *sc;
    struct sim_clock clock;
    struct nb_layout layout;
    struct nb_flash_mem_store *store;
    struct nb_flash_mem *factory;
    char factory_version[NB_BOOTCTL_VERSION_MAX + 1];
    struct nb_root root; /* every device trusts the same root: one copy */
    struct sim_device *dev;
    uint32_t n;
    /* shared by every core (used only inside a call, one core at a time) */
    uint8_t *scratch, *window, *envelope, *trust_text;
    size_t table_cap;
    struct nb_codec codec;
    bool verbose;
    nb_agent_event_fn event; /* the driver's, called with the device as ctx */
    /* each release's version, once known (the server's answer to the upload) */
    char release_version[SIM_MAX_RELEASES][NB_BOOTCTL_VERSION_MAX + 1];
    /* counters */
    uint64_t reboots, power_cuts, health_failures, boot_crashes, boot_hangs;
    struct sim_move *move; /* move.c: NULL unless the fleet moves */
};

/* Provisions the factory flash and the fleet's n devices. diag says what
 * failed. Release with sim_fleet_free, also after a failure. */
NB_MUST_CHECK enum nb_err sim_fleet_new(const struct sim_scenario *sc, struct sim_fleet *f,
                                        struct nb_diag *diag);
void sim_fleet_free(struct sim_fleet *f);

/* Powers d on: power restored, its written sectors shared, the bootloader
 * policy run, a fresh agent core started on what booted. false when
 * nothing booted (the device is bricked: outcome SIM_BRICKED). */
bool sim_device_power_on(struct sim_fleet *f, struct sim_device *d);
/* Stops d's core (before a reboot or at the end). */
void sim_device_power_off(struct sim_device *d);

/* Uniform in [0, 1) from d's random state. */
double sim_device_random(struct sim_device *d);

/* What d would boot now, without changing it (a copy of its flash is
 * booted): NB_OK with the version, or the bootloader's error (bricked). */
NB_MUST_CHECK enum nb_err sim_device_probe(struct sim_fleet *f, struct sim_device *d,
                                           char version[NB_BOOTCTL_VERSION_MAX + 1]);

/* The scenario's release whose version is version (its behaviour), or NULL
 * (the factory image and unknown ones: healthy). */
const struct sim_release *sim_fleet_release(const struct sim_fleet *f, const char *version);

/* The server group of d: the scenario's group, or "<group>-<n>" with
 * fleet.group_size (device i in group i / group_size); and how many groups
 * the fleet spans. */
void sim_device_group(const struct sim_fleet *f, const struct sim_device *d,
                      char out[SIM_NAME_MAX + 1]);
void sim_fleet_group_name(const struct sim_fleet *f, uint32_t n, char out[SIM_NAME_MAX + 1]);
uint32_t sim_fleet_groups(const struct sim_fleet *f);

/* The device's hardware class and revision names. */
const char *sim_device_class(const struct sim_fleet *f, const struct sim_device *d);
const char *sim_device_revision(const struct sim_fleet *f, const struct sim_device *d);

#endif
