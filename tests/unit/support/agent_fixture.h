/* Test helpers for the agent core (lib/agent/): one signed bundle (1.2.3,
 * security counter 4, thermo-v3, a 40 KiB image in 4 KiB frames, or with
 * ax_group_setup_batch a 256 KiB one in 64 frames stored as is), a fake
 * server that answers the device API from it, and a rig: a simulated
 * device with a virtual clock and seeded random, the core bound to it, and
 * a loop that drives the core against the fake server. Every helper fails
 * the running cmocka test on an internal error.
 * Test-only code: never linked into shipped programs. */
#ifndef NOBRICK_TEST_AGENT_FIXTURE_H
#define NOBRICK_TEST_AGENT_FIXTURE_H

#include "device_fixture.h"

#include <nobrick/agent.h>
#include <nobrick/bundle.h>
#include <nobrick/journal.h>

#include <stdbool.h>
#include <stdint.h>

#define AX_FS 4096u             /* frame size of the bundle */
#define AX_IMG_LEN (40u * 1024) /* its image */
#define AX_DEPLOYMENT 7         /* the deployment the fake server offers */
#define AX_BATCH_FRAMES 64u     /* frames of the ax_group_setup_batch bundle */

/* What ax_group_setup makes, shared by the tests of one binary. */
struct ax_fleet {
    struct bx_world w;
    struct bx_bundle b; /* 1.2.3, counter 4, thermo-v3, frames of AX_FS */
    struct nb_bundle_header h;
    uint8_t image_sha[NB_SHA256_LEN];
    struct dx_image factory; /* slot A of a new device: 1.0.0 */
    size_t img_len;          /* AX_IMG_LEN, or AX_BATCH_FRAMES * AX_FS */
};

const struct ax_fleet *ax_fleet(void);

/* cmocka group setup and teardown: make and free the fleet. */
int ax_group_setup(void **state);
/* The same with a 64-frame image of random bytes stored as is: every frame
 * is stored in exactly AX_FS bytes. */
int ax_group_setup_batch(void **state);
int ax_group_teardown(void **state);

/* ---- the fake server ----------------------------------------------------- */

/* How the fake server forges the director's instruction. */
enum ax_tamper {
    AX_T_NONE,
    AX_T_DEVICE,    /* for the other device */
    AX_T_NONCE,     /* an old nonce */
    AX_T_EXPIRED,   /* expired 50 s after FX_NOW */
    AX_T_SIG,       /* signed by the release key, not the director's */
    AX_T_VERSION,   /* names 9.9.9, not the bundle's 1.2.3 */
    AX_T_OLD_ISSUED /* as issued; the test raises the device's time floor past it */
};

struct ax_fake {
    bool offer;
    enum ax_tamper tamper;
    int down;         /* the next N requests fail at the transport */
    int busy;         /* the next N requests get 503 + Retry-After */
    int drop_frame;   /* this frame's first fetch is lost (-1: none) */
    uint64_t flip_at; /* bundle offset: one bit flipped in the first answer holding it (0: none) */
    uint64_t cut_at;  /* bundle offset: the first answer holding it ends before it (0: none) */
    bool whole_once;  /* the first frame request is answered 200, not 206 */
    bool stop_on_commit; /* stop offering once "committed" is reported */
    bool withdrawn; /* the bundle is answered 403 (the deployment cancelled), and not offered */
    int checkins, meta_gets, frame_gets[64];    /* frame_gets: requests starting at frame i */
    uint64_t frame_first[128], frame_last[128]; /* the Range of each frame request, in order */
    int frame_reqs;
    char installed[64]; /* installed_version of the last check-in */
    char states[64][24], codes[64][24];
    int n_reports;
    /* Endpoints and the root chain (test_agent_trust.c). A request's base
     * URL is what precedes "/api/" in an absolute path; a relative path is
     * on the configured server, base "". */
    uint32_t root_version;    /* announced at check-in (0: not at all) */
    const char *const *roots; /* envelope texts of versions root_first.. */
    uint32_t root_first, n_roots;
    const struct nb_keyfile *director; /* signs instructions (NULL: the fleet's) */
    const char *dead;                  /* this base does not answer */
    const char *stranger;              /* this base signs with stranger_key ... */
    const struct nb_keyfile *stranger_key;
    uint32_t stranger_root_version; /* ... and announces this root */
    int root_gets, dead_hits, stranger_hits, stranger_reports;
    char checkin_base[16][64]; /* the base of each check-in, in order */
};

/* True when a report with state (and code, unless NULL) reached f. */
bool ax_reported(const struct ax_fake *f, const char *state, const char *code);

/* ---- the device and the driver loop -------------------------------------- */

struct ax_vclock {
    uint64_t ms;
    int64_t unix_s;
};

struct ax_rig {
    struct dx_device d;
    struct nb_dualrec journal;
    struct ax_vclock clock;
    uint64_t seed;
    struct nb_agent a;
    uint64_t waits_ms[16]; /* lengths of the waits, in order */
    int n_waits;
    enum nb_agent_policy policy;
    uint16_t win_start, win_end;
    uint32_t reboot_delay_s;
    uint32_t fetch_max;            /* nb_agent_config.fetch_max_bytes */
    struct nb_agent_event ev[256]; /* the events, in order (progress after the first 8 dropped) */
    int n_ev, n_progress;
    /* walk: the core walks the root chain in the trust store (root below,
     * loaded by ax_rig_agent); server, failover as in nb_agent_config. */
    bool walk;
    const char *server;
    bool failover;
    struct nb_root root;
};

/* The root in the device's trust store now (its version). */
uint32_t ax_trusted_version(struct ax_rig *g);

/* A factory device (the fleet's factory image in A, booted once), the
 * wall clock 100 s after FX_NOW. Tests set policy, window and delay after. */
void ax_rig_provision(struct ax_rig *g);

/* A new core, as after a power-on; running: what booted. */
void ax_rig_agent(struct ax_rig *g, bool once, bool running_known, enum nb_bootctl_slot_id running);

/* Runs the core until REBOOT or DONE (or max_waits waits); returns the last
 * action. health_ok answers HEALTH. */
struct nb_agent_action ax_drive(struct ax_rig *g, struct ax_fake *f, bool health_ok, int max_waits);

/* The flash operations (programs + erases) of a whole online install on a
 * factory device with budget fetch_max, up to the REBOOT (g is closed). */
uint64_t ax_install_flash_ops(struct ax_rig *g, uint32_t fetch_max);

/* Index of the first event of kind k from index from on, or -1. */
int ax_ev_find(const struct ax_rig *g, enum nb_agent_event_kind k, int from);

/* The boot-control record and the agent's journal entry as on flash now. */
void ax_record(struct ax_rig *g, struct nb_bootctl *bc);
struct nb_journal_agent ax_journal_of(struct ax_rig *g);

/* Power on (the bootloader) and check what booted. */
void ax_power_on(struct ax_rig *g, enum nb_bootctl_slot_id want, const char *version);

#endif
