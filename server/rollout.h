/* The rollout engine. A rollout sends one release to a selection of
 * devices (group, tag, hardware class; compatible active devices only) in
 * waves: the canary list, then the steps of its plan (wave.h). A tick
 * (rollout_tick, run by a timer thread every --rollout-tick seconds) times
 * out stuck devices, adds devices that joined the selection to the current
 * wave, asks the gate (gate.h) about the current wave, and opens the next
 * one, pauses, aborts or completes. Everything it knows is in the store,
 * so a restarted server resumes where it was.
 *
 * rollout_spec.c: a rollout's spec (selection, canary, plan, gates) to and
 * from JSON. rollout.c: the plan of a selection and the wave counters.
 * rollout_engine.c: the tick and the engine thread. rollout_status.c: the
 * plan and the status as JSON. */
#ifndef NOBRICK_SERVER_ROLLOUT_H
#define NOBRICK_SERVER_ROLLOUT_H

#include "gate.h"
#include "srv.h"
#include "wave.h"
#include "window.h"

#include <jansson.h>

#define ROLLOUT_CANARY_MAX 64
#define ROLLOUT_WAVES_MAX (WAVE_STEPS_MAX + 1) /* the canary and the steps */
#define ROLLOUT_DEVICES_MAX 100000             /* devices one rollout plans */
/* The code of a device timed out by the engine (not the agent's E_TIMEOUT):
 * silent for the lease, or an attempt longer than the device timeout. */
#define ROLLOUT_TIMEOUT_CODE "E_TIMED_OUT"

struct rollout_spec {
    char group[STORE_NAME_MAX + 1]; /* "" : any */
    char tag[STORE_NAME_MAX + 1];
    char hw_class[STORE_NAME_MAX + 1];
    char canary[ROLLOUT_CANARY_MAX][STORE_ID_MAX + 1];
    size_t n_canary;
    struct wave_step steps[WAVE_STEPS_MAX];
    size_t n_steps;
    struct gate_policy gate;
    struct gate_policy canary_gate; /* the canary: one failure stops it */
    /* Control (rollout_control.c, docs/api.md "Rollout control"). */
    char min_version[STORE_NAME_MAX + 1]; /* SemVer bounds of the running version, inclusive; */
    char max_version[STORE_NAME_MAX + 1]; /* "" : none */
    bool auto_rollback;                   /* on abort, roll back the devices that took it */
    char rollback_version[STORE_NAME_MAX + 1]; /* to this release; "": the previous one */
    uint32_t approvals_required;               /* operators in all, the creator included */
    bool has_window;
    struct window window;      /* waves open and devices install only inside it */
    bool download_only;        /* with a window: download outside it, install inside */
    int64_t rollback_of;       /* a rollback of this rollout (set by the server); 0: none */
    uint32_t device_timeout_s; /* an attempt that takes longer: timed out */
    /* Per-device safety (rollout_device.h, docs/rollouts.md). */
    uint32_t lease_s;            /* a device silent for this long mid-attempt: timed out */
    uint32_t retry_max;          /* attempts per device, the first included */
    uint32_t retry_backoff_s;    /* before the second attempt; doubles after each failure */
    uint32_t quarantine_s;       /* how long a device that keeps failing sits out */
    uint32_t start_rate_per_min; /* devices started per minute; 0: no cap */
    uint32_t max_downloading;    /* notified or downloading at once; 0: the server's cap */
};

/* Reads a spec from a JSON object with the fields of POST /api/v1/rollouts
 * (docs/api.md): absent fields take the defaults; unknown fields are for
 * the caller to refuse. NB_EPARSE with *field naming the bad field and diag
 * the reason. */
NB_MUST_CHECK enum nb_err rollout_spec_read(const json_t *o, struct rollout_spec *out,
                                            const char **field, struct nb_diag *diag);
/* The spec as a JSON object (every field, defaults included). */
json_t *rollout_spec_json(const struct rollout_spec *s);
/* Parses stored spec text (rollout_spec_json's, dumped). */
NB_MUST_CHECK enum nb_err rollout_spec_parse(const char *text, struct rollout_spec *out);
/* The rollout whose wave deployment_id carries, and its spec: NB_ENOENT
 * for a plain deployment. */
NB_MUST_CHECK enum nb_err rollout_of_deployment(struct srv *srv, int64_t deployment_id,
                                                struct store_rollout *r, struct rollout_spec *spec);

/* The devices a rollout would reach, with their waves, and those left out. */
struct rollout_plan {
    struct wave_member *m; /* sorted: canary, then by position; skip: already updated */
    size_t n;
    size_t sizes[ROLLOUT_WAVES_MAX]; /* devices to reach per wave (not cumulative) */
    size_t n_waves;                  /* 1 + the plan's steps */
    json_t *excluded;                /* [{"device_id","reason"}] */
};

/* Resolves the selection of spec against the store for release r, salted
 * with salt. The caller frees plan with rollout_plan_free. */
NB_MUST_CHECK enum nb_err rollout_plan_make(struct srv *srv, const struct store_release *r,
                                            const struct rollout_spec *spec, const char *salt,
                                            struct rollout_plan *plan);
void rollout_plan_free(struct rollout_plan *plan);

/* A wave as the engine sees it. */
struct rollout_wave_view {
    bool opened;
    int64_t deployment_id;
    int64_t opened_at;
    struct gate_counts counts;
    uint32_t in_state[STORE_ASSIGN_COUNT]; /* the funnel by assignment state */
    uint32_t cancelled;
    uint32_t waiting_rate;      /* checked in, waiting for the start rate (per minute) */
    uint32_t waiting_downloads; /* checked in, waiting for the cap on downloads at once */
    uint32_t retrying;          /* a failed attempt, offered again after its back-off */
    uint32_t quarantined;       /* their devices quarantined: out of the gate's counts */
};

/* Counts the members of rollout r by wave into views[0..ROLLOUT_WAVES_MAX-1]
 * (quarantines as they stand at now). */
NB_MUST_CHECK enum nb_err rollout_view(struct srv *srv, const struct store_rollout *r, int64_t now,
                                       struct rollout_wave_view *views);
/* The gate's answer for the current wave of r at now (r running or paused). */
void rollout_gate(const struct store_rollout *r, const struct rollout_spec *spec,
                  const struct rollout_wave_view *views, int64_t now, struct gate_result *out);

/* One tick of every running rollout at now. Errors are logged; the next
 * tick tries again. */
void rollout_tick(struct srv *srv, int64_t now);

/* The plan as JSON: devices per wave, the first list_max members with
 * their waves, the excluded devices with reasons, and the bytes to serve
 * (rollout_status.c). */
json_t *rollout_plan_json(const struct rollout_plan *plan, const struct store_release *r,
                          size_t list_max);
/* The status of r: per wave the funnel, the gate (running or paused) and
 * the time to each share of its devices; NULL on a store error. */
json_t *rollout_status_json(struct srv *srv, const struct store_rollout *r,
                            const struct rollout_spec *spec, const struct rollout_plan *plan,
                            int64_t now);

/* Opens the wave after r's current one (r running) now, whatever the gate
 * says, with the operator's audit entry au. NB_ENOSPC: r is at its last
 * wave. */
NB_MUST_CHECK enum nb_err rollout_force_wave(struct srv *srv, const struct store_rollout *r,
                                             const struct store_audit *au, int64_t now);

/* The engine thread: a tick every interval_s seconds of real time until
 * stopped; interval_s 0: only when woken or asked (the virtual clock of
 * --clock-file, clock.h, where the simulator asks for each tick). */
struct rollout_engine;
NB_MUST_CHECK enum nb_err rollout_engine_start(struct srv *srv, uint32_t interval_s,
                                               struct rollout_engine **out);
/* Makes the engine tick now (after an operator's start or resume). */
void rollout_engine_wake(struct rollout_engine *e); /* NULL: no-op */
/* Asks for a tick and waits until one that started after the call has
 * finished (POST /api/v1/rollouts/tick). Only the engine thread ticks. */
void rollout_engine_tick(struct rollout_engine *e); /* NULL: no-op */
void rollout_engine_stop(struct rollout_engine *e); /* NULL: no-op */

#endif
