/* The agent core (lib/agent/): the online update loop of one device as a
 * state machine with no I/O of its own (sans-I/O, like the install engine
 * it drives). The caller, a driver, owns the network, the health checks and
 * the reboot: it asks the core what to do next (nb_agent_step), does it,
 * and feeds the outcome back (nb_agent_on_response, nb_agent_on_health).
 * Time and randomness come from the clock and rng HALs, flash and boot
 * control from the install device, signatures of the login challenge from
 * a callback (a key in memory, a secure element, a PKCS#11 token). No
 * globals, no sleeps, no threads, no allocation: nobrick-agent runs one
 * core, the fleet simulator thousands in one process.
 *
 * One cycle (docs/agent.md "The online agent"):
 *   start-up   a trial armed before the last reboot: run the health checks
 *              (HEALTH), commit or reject it; reports owed to the server
 *   login      enrol once, challenge, sign, token
 *   check-in   fresh nonce; "none" -> wait poll_after + random jitter
 *   root walk  the answer names a newer root_version: fetch each next root,
 *              nb_trust_advance it (stored before it is used), then check
 *              in again when an instruction came with the old keys
 *   install    verify the director instruction (director.h), fetch the
 *              release envelope and frame table (one Range request), check
 *              them against the instruction, install engine begin/table,
 *              the frames not yet in the slot, a run of consecutive ones
 *              per Range request (cfg.fetch_max_bytes), finish
 *   reboot     REBOOT; after it, start-up again
 * Transport failures, 5xx, 429 and 503 are retried after an exponential
 * back-off with a cap (Retry-After wins when the server gives one); a
 * refusal (a failed verification) is reported with its code and the slot
 * stays unbootable.
 *
 * Endpoints (cfg.failover, docs/trust.md "Moving a fleet to a new
 * server"): the agent talks to the configured server while the trusted
 * root lists it (or is version 1, the factory root), then to the root's
 * signed endpoints in their order. An endpoint that fails twice in a row
 * (no answer, 5xx other than 503), or whose signed data does not verify
 * against the device's root (E_SIG, E_THRESHOLD, a root that does not
 * chain), is left for the next one, after the usual back-off; nothing
 * unsigned ever adds an endpoint. The one that works is kept for the run;
 * after 8 polls on a later one, the first is tried again.
 *
 * Users in the loop (lib/agent/policy.c, docs/agent.md "The control
 * socket"): the core tells the device's own UI what happens through events
 * (env.event) and takes its decisions as commands (nb_agent_command). The
 * install policy says when an update may be downloaded and installed
 * without asking: always (auto), after install-now (download-only: it is
 * downloaded first; ask: it is only announced), or inside a daily
 * maintenance window (window, UTC from the clock HAL). */
#ifndef NOBRICK_AGENT_H
#define NOBRICK_AGENT_H

#include <nobrick/director.h>
#include <nobrick/err.h>
#include <nobrick/hal.h>
#include <nobrick/install.h>
#include <nobrick/journal.h>
#include <nobrick/root.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_AGENT_TOKEN_MAX 127
#define NB_AGENT_URL_MAX 255
#define NB_AGENT_BODY_MAX 2048        /* a request body the core writes */
#define NB_AGENT_JSON_MAX (16 * 1024) /* a JSON answer the core accepts (SECURITY.md 20) */
#define NB_AGENT_RESULT_MAX 255       /* last_result of a check-in */
/* Frames fetched in one Range request (nb_agent_config.fetch_max_bytes):
 * the default budget, and the most a driver is asked to hold in one answer. */
#define NB_AGENT_FETCH_DEFAULT (64u * 1024)
#define NB_AGENT_FETCH_MAX (1024u * 1024)
#define NB_AGENT_AUTH_TYPE "application/vnd.nobrick.device-auth"   /* login */
#define NB_AGENT_ENROL_TYPE "application/vnd.nobrick.device-enrol" /* enrolment */

enum nb_agent_do {
    NB_AGENT_HTTP,   /* perform req, then nb_agent_on_response */
    NB_AGENT_WAIT,   /* nothing before until_ms (monotonic clock), then step again */
    NB_AGENT_HEALTH, /* run the health checks, then nb_agent_on_health */
    NB_AGENT_REBOOT, /* reboot; a new core starts up after it */
    NB_AGENT_DONE,   /* once mode: the cycle is over (result says how); also after a fatal error */
};

/* One HTTP request. Strings and body point into the core and stay valid
 * until the response is fed back. */
struct nb_agent_request {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* "/api/v1/..." below the server URL, or an absolute http(s) URL
                           (on one of the root's signed endpoints, agent_trust.c) */
    const char *bearer; /* Authorization: Bearer, or NULL */
    const char *body;   /* POST: JSON (Content-Type: application/json), else NULL */
    size_t body_len;
    bool range; /* GET with Range: bytes=range_first-range_last */
    uint64_t range_first, range_last;
    size_t max_body; /* a longer answer is a failure (NB_ELENGTH): memory stays bounded */
};

struct nb_agent_response {
    enum nb_err err; /* NB_OK: status and body are the server's; else the transport's
                        failure (NB_ETIMEOUT, NB_EIO, NB_ELENGTH) */
    int status;
    uint32_t retry_after_s; /* Retry-After in seconds, 0 when absent */
    uint8_t *body;          /* borrowed for the call; the core may modify it (decryption) */
    size_t body_len;
};

struct nb_agent_action {
    enum nb_agent_do what;
    struct nb_agent_request req; /* NB_AGENT_HTTP */
    uint64_t until_ms;           /* NB_AGENT_WAIT */
    enum nb_err result;          /* NB_AGENT_DONE: NB_OK, or why the cycle failed */
};

/* When an update may go ahead without a command (docs/agent.md). */
enum nb_agent_policy {
    NB_AGENT_POLICY_AUTO,          /* download, install and reboot at once */
    NB_AGENT_POLICY_DOWNLOAD_ONLY, /* download and verify, then wait for install-now */
    NB_AGENT_POLICY_WINDOW,        /* download at once, install and reboot inside the window */
    NB_AGENT_POLICY_ASK,           /* announce, then wait for install-now before downloading */
};

/* What the UI is told. Each kind's fields are listed; the rest are zero. */
enum nb_agent_event_kind {
    NB_AGENT_EV_AVAILABLE,  /* version, deployment_id, bytes_total */
    NB_AGENT_EV_PROGRESS,   /* version, done/total frames, bytes_done/bytes_total */
    NB_AGENT_EV_READY,      /* version: downloaded and verified, waiting */
    NB_AGENT_EV_SCHEDULED,  /* version, at_s: it installs then (Unix seconds) */
    NB_AGENT_EV_INSTALLING, /* version: read back and arm the trial */
    NB_AGENT_EV_REBOOTING,  /* version, in_s: the reboot comes in in_s seconds */
    NB_AGENT_EV_SUCCEEDED,  /* version: committed after its health checks */
    NB_AGENT_EV_FAILED,     /* version (may be empty), code, detail, retry_in_s (0: gave up) */
    NB_AGENT_EV_CANCELLED,  /* version: declined by a cancel command, or (by_server) taken
                             * back by the server before it installed */
    NB_AGENT_EV_COUNT
};

struct nb_agent_event {
    enum nb_agent_event_kind kind;
    char version[NB_BOOTCTL_VERSION_MAX + 1];
    int64_t deployment_id;
    uint32_t done, total; /* frames */
    uint64_t bytes_done, bytes_total;
    int64_t at_s;
    uint32_t in_s;
    enum nb_err code;
    uint32_t retry_in_s;
    char detail[200]; /* what happened, for the log ("check '20-app' exited with 1") */
    bool by_server;   /* CANCELLED: its deployment cancelled or its release withdrawn */
};

/* The UI's decisions (docs/agent.md lists when each is valid). */
enum nb_agent_command_kind {
    NB_AGENT_CMD_INSTALL_NOW, /* go ahead now (or reboot now during the countdown) */
    NB_AGENT_CMD_SCHEDULE_AT, /* install at at_s (Unix seconds) */
    NB_AGENT_CMD_POSTPONE,    /* wait seconds more (also the reboot countdown) */
    NB_AGENT_CMD_RETRY,       /* check in now, a declined update offered again */
    NB_AGENT_CMD_CANCEL,      /* decline the waiting or downloading update until restart */
};

struct nb_agent_command {
    enum nb_agent_command_kind kind;
    int64_t at_s;
    uint32_t seconds;
};

/* Where the update the core knows of stands (nb_agent_status). */
enum nb_agent_phase {
    NB_AGENT_PHASE_IDLE,        /* no update: polling */
    NB_AGENT_PHASE_AVAILABLE,   /* ask: announced, waiting for install-now */
    NB_AGENT_PHASE_DOWNLOADING, /* fetching frames */
    NB_AGENT_PHASE_READY,       /* downloaded, waiting for install-now or the window */
    NB_AGENT_PHASE_SCHEDULED,   /* downloaded or not, installs at sched_at_s */
    NB_AGENT_PHASE_INSTALLING,
    NB_AGENT_PHASE_REBOOTING, /* the countdown */
    NB_AGENT_PHASE_COUNT
};

struct nb_agent_status {
    enum nb_agent_phase phase;
    const char *phase_name; /* "idle", "available", ... */
    const char *policy_name;
    char version[NB_BOOTCTL_VERSION_MAX + 1]; /* the update's, empty when idle */
    uint32_t done, total;
    int64_t at_s;           /* scheduled: when */
    enum nb_err last_error; /* the last failure event's code, NB_OK when none */
};

/* Signs msg with the device's Ed25519 identity key. */
typedef enum nb_err (*nb_agent_sign_fn)(void *ctx, const uint8_t *msg, size_t len,
                                        uint8_t sig[NB_ED25519_SIG_LEN]);
/* One line for the device's log (no newline). */
typedef void (*nb_agent_log_fn)(void *ctx, const char *line);
/* One event for the UI; ev is valid for the call only. Called from inside
 * nb_agent_step, nb_agent_on_response, nb_agent_on_health. */
typedef void (*nb_agent_event_fn)(void *ctx, const struct nb_agent_event *ev);

struct nb_agent_config {
    const char *device_id;  /* hex key id of the identity key (borrowed) */
    const char *public_key; /* 64 hex: the Ed25519 public key, for enrolment (borrowed) */
    uint32_t poll_interval_s, poll_jitter_s; /* until the server says otherwise */
    uint32_t backoff_min_s, backoff_max_s;   /* retry delays: min * 2^n, capped */
    uint32_t frame_retries;                  /* a frame failing its hash is fetched again */
    uint32_t fetch_max_bytes; /* stored bytes of consecutive frames one Range request asks
                                 for (at most NB_AGENT_FETCH_MAX); 0, or less than a frame:
                                 one frame a request */
    uint32_t max_failures;    /* consecutive failed requests before DONE; 0 = retry forever */
    bool once;                /* DONE instead of waiting for the next poll */
    bool running_known;       /* what booted (the booted file): */
    enum nb_bootctl_slot_id running;
    enum nb_agent_policy policy;
    uint16_t window_start_min, window_end_min; /* window: minutes after 00:00 UTC; end < start
                                                  spans midnight; equal: the whole day */
    uint32_t reboot_delay_s;                   /* the "rebooting in N s" countdown */
    const char *server; /* the configured server URL (borrowed), NULL: none */
    bool failover;      /* fall back to the root's signed endpoints (above) */
};

/* What the driver lends the core for its lifetime. scratch and window are
 * used only inside a call, so cores stepped from one thread may share them;
 * table is the core's own. */
struct nb_agent_env {
    struct nb_clock clock;
    struct nb_rng rng;
    struct nb_install_device dev; /* flash, layout, boot control, journal, root, class, keys */
    nb_agent_sign_fn sign;
    void *sign_ctx;
    nb_agent_log_fn log; /* may be NULL */
    void *log_ctx;
    nb_agent_event_fn event; /* may be NULL */
    void *event_ctx;
    uint8_t *scratch; /* NB_ENVELOPE_SCRATCH_LEN bytes */
    size_t scratch_len;
    uint8_t *window; /* the largest frame size accepted */
    size_t window_cap;
    uint8_t *table; /* the largest frame table accepted */
    size_t table_cap;
    struct nb_codec *codec; /* initialised */
    /* The root walk: the trust store and the root it holds (the same
     * struct as dev.root), advanced in place. NULL: the root never moves
     * (the fleet simulator shares one root between its devices). */
    struct nb_dualrec *trust;
    struct nb_root *root;
    /* With trust: NB_ENVELOPE_MAX bytes, where the walk reads a slot's
     * signed release to check that the next root still verifies it (the
     * bootloader checks every boot against the newest root). */
    uint8_t *envelope;
    size_t envelope_cap;
};

/* The core. Every field is private; a few hundred bytes plus the install
 * engine's state. */
struct nb_agent {
    struct nb_agent_config cfg;
    struct nb_agent_env env;
    int state, after, after_login; /* lib/agent/agent_internal.h */
    bool awaiting;                 /* a response or a health result is owed to the core */
    bool enrolled;
    uint64_t wake_ms;
    uint32_t failures;
    uint32_t poll_after_s, poll_jitter_s;
    enum nb_err result;
    char token[NB_AGENT_TOKEN_MAX + 1];
    uint64_t token_expiry_ms;
    char challenge[NB_AGENT_TOKEN_MAX + 1];
    char nonce[33];
    char path[NB_AGENT_URL_MAX + 1];
    char body[NB_AGENT_BODY_MAX];
    size_t body_len;
    bool report_must; /* the pending report is owed: retried until it is accepted */
    int report_next;  /* the state after the pending report */
    char last_result[NB_AGENT_RESULT_MAX + 1];
    struct nb_journal_agent journal; /* as last loaded or stored */
    /* the deployment being carried out */
    struct nb_director instr;
    char url[NB_AGENT_URL_MAX + 1];
    uint64_t bundle_size, env_off, env_len, table_off, table_len, frames_off;
    struct nb_install install;
    bool installing;
    uint32_t frame_attempts, reported_pct;
    uint64_t frames_len;
    uint32_t batch_first, batch_count; /* the frames the Range request in flight asks for */
    uint64_t batch_len;                /* their stored bytes */
    /* users in the loop (policy.c) */
    int phase;             /* enum nb_agent_phase */
    bool downloaded;       /* every frame is in the slot: the hold is before FINISH */
    bool approved;         /* install-now (or the schedule) came: no more holding */
    bool go, cancel;       /* commands the next step acts on */
    int64_t sched_at_s;    /* 0: none */
    int64_t announced_at;  /* the SCHEDULED event last sent, so it is sent once */
    uint64_t reboot_at_ms; /* the countdown's end */
    int64_t declined_dep;  /* cancelled: not offered again until restart or retry (-1: none) */
    enum nb_err last_error;
    /* the root walk and the endpoints (agent_trust.c) */
    uint32_t root_target;    /* the server's newest root version */
    uint32_t root_steps;     /* roots accepted in this walk (at most NB_ROOT_MAX_STEPS) */
    bool root_recheck;       /* the check-in brought an instruction: check in again after */
    uint32_t endpoint;       /* index of the endpoint in use (nb_agent_endpoint) */
    uint32_t endpoint_polls; /* polls completed on a fallback endpoint */
    char abs_url[NB_ENDPOINT_MAX + NB_AGENT_URL_MAX + 1]; /* a request to a root endpoint */
};

/* Prepares a core; reads nothing yet (the first step does). cfg and env are
 * copied; what they point at is borrowed for the core's lifetime. */
void nb_agent_init(struct nb_agent *a, const struct nb_agent_config *cfg,
                   const struct nb_agent_env *env);
/* Releases the install engine's key material. */
void nb_agent_fini(struct nb_agent *a);

/* The next thing to do, in *out. NB_EINVAL when a response or a health
 * result is still owed (a driver bug); otherwise NB_OK. Flash work (the
 * start-up decisions, finishing an install, commits) happens inside. */
NB_MUST_CHECK enum nb_err nb_agent_step(struct nb_agent *a, struct nb_agent_action *out);

/* The answer to the NB_AGENT_HTTP action last returned. */
void nb_agent_on_response(struct nb_agent *a, const struct nb_agent_response *r);

/* The result of the NB_AGENT_HEALTH action: ok, or why (the failing check). */
void nb_agent_on_health(struct nb_agent *a, bool ok, const char *why);

/* A decision of the UI. NB_OK when taken (it acts at the next step: the
 * driver steps again at once); NB_EINVAL with why in diag when it is not
 * valid now ("no update is waiting for a decision"), nothing changed. */
NB_MUST_CHECK enum nb_err nb_agent_command(struct nb_agent *a, const struct nb_agent_command *c,
                                           struct nb_diag *diag);

/* Where things stand, for a status command. */
void nb_agent_status(const struct nb_agent *a, struct nb_agent_status *out);

/* "auto", "download-only", "window", "ask"; and back (false: unknown). */
const char *nb_agent_policy_name(enum nb_agent_policy p);
bool nb_agent_policy_parse(const char *name, enum nb_agent_policy *out);
/* "update_available", "download_progress", "ready", ... */
const char *nb_agent_event_name(enum nb_agent_event_kind k);

/* The URL of endpoint i (0: the one tried first) as the core sees them now,
 * or NULL past the last; *count (optional) their number. */
const char *nb_agent_endpoint(const struct nb_agent *a, uint32_t i, uint32_t *count);

/* Diagnostics for the driver and tests: "check-in", "frame", ... */
const char *nb_agent_state_name(const struct nb_agent *a);

#endif
