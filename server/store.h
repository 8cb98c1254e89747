/* The server's store: every persistent fact of the control plane (devices,
 * tokens, releases, deployments and their per-device assignments, status
 * reports, the audit log) behind one const ops table and a context, chosen
 * once at start-up from the --db URL scheme (store.c). Backends: SQLite
 * (store_sqlite*.c); PostgreSQL later. Both must pass tests/unit/test_store.c,
 * which uses only this header. SQL lives only in the backends.
 *
 * Conventions: every op returns an enum nb_err (NB_ENOENT for a missing row,
 * NB_EEXIST for a unique conflict, NB_EINVAL for a forbidden transition,
 * NB_EIO for a backend failure); outputs are written only on success. Each
 * mutating op is one transaction; when given a struct store_audit it appends
 * the audit entry in that same transaction, so no change is ever recorded
 * without its author (and no audit entry without its change). Records hold
 * fixed-size strings: no ownership to track. Times are UNIX seconds. */
#ifndef NOBRICK_SERVER_STORE_H
#define NOBRICK_SERVER_STORE_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ID_MAX 64     /* device ids: hex keyid of the Ed25519 key */
#define STORE_NAME_MAX 63   /* hardware class, group, tag, token name, version */
#define STORE_TEXT_MAX 511  /* messages, slot states (JSON), details */
#define STORE_HASH_HEX 64   /* hex SHA-256 */
#define STORE_MAX_TAGS 16   /* per device */
#define STORE_LIST_MAX 1000 /* rows one list call returns at most */

enum store_device_state {
    STORE_DEVICE_PENDING,        /* enrolled, waiting for an operator */
    STORE_DEVICE_PREAUTHORIZED,  /* known to the operator, not yet enrolled */
    STORE_DEVICE_ACTIVE,         /* may authenticate and get updates */
    STORE_DEVICE_DECOMMISSIONED, /* never again */
};

struct store_device {
    char id[STORE_ID_MAX + 1];
    char pubkey[STORE_HASH_HEX + 1]; /* hex Ed25519 public key */
    char hw_class[STORE_NAME_MAX + 1];
    enum store_device_state state;
    char group[STORE_NAME_MAX + 1]; /* "" when none */
    int64_t created_at;
    int64_t last_seen; /* 0: never checked in */
    /* What the device said at its last check-in. */
    char installed_version[STORE_NAME_MAX + 1];
    uint64_t security_counter;
    char slots[STORE_TEXT_MAX + 1];       /* JSON object text, "" when none */
    char last_result[STORE_TEXT_MAX + 1]; /* "" when none */
};

/* Filters of device_list; empty strings and has_state=false match all.
 * The list's order is (created_at, id); with after_id set it starts after
 * the device (after_created_at, after_id), so that a caller reading every
 * page goes on from where the last one ended (an index search) instead of
 * skipping an OFFSET of rows again for each page. */
struct store_device_filter {
    bool has_state;
    enum store_device_state state;
    char hw_class[STORE_NAME_MAX + 1];
    char group[STORE_NAME_MAX + 1];
    char tag[STORE_NAME_MAX + 1];
    int64_t after_created_at;
    char after_id[STORE_ID_MAX + 1]; /* "": from the first */
};

/* What a device reports at check-in. */
struct store_checkin {
    char installed_version[STORE_NAME_MAX + 1];
    uint64_t security_counter;
    char slots[STORE_TEXT_MAX + 1];
    char last_result[STORE_TEXT_MAX + 1];
    int64_t at;
};

/* A device seen at a time, by a check-in that reported nothing new. */
struct store_seen {
    char id[STORE_ID_MAX + 1];
    int64_t at;
};

enum store_role { STORE_ROLE_VIEWER, STORE_ROLE_OPERATOR, STORE_ROLE_ADMIN, STORE_ROLE_DEVICE };

struct store_token {
    int64_t id;
    char hash[STORE_HASH_HEX + 1]; /* hex SHA-256 of the secret token */
    enum store_role role;
    char name[STORE_NAME_MAX + 1];
    char device_id[STORE_ID_MAX + 1]; /* device tokens only */
    int64_t created_at;
    int64_t expires_at; /* 0: never */
    bool revoked;
};

struct store_release {
    int64_t id;
    char version[STORE_NAME_MAX + 1];
    char component[STORE_NAME_MAX + 1];
    uint64_t security_counter;
    char hw_classes[STORE_TEXT_MAX + 1];      /* JSON array text */
    char envelope_sha256[STORE_HASH_HEX + 1]; /* of the signed release envelope */
    char bundle_sha256[STORE_HASH_HEX + 1];   /* the artifact's name */
    uint64_t bundle_size;
    uint64_t envelope_off, envelope_len, table_off, table_len, frames_off, frames_len;
    bool encrypted;
    int64_t created_at;
    bool withdrawn;
};

/* A rollout's waves are deployments of target kind rollout (target
 * "rollout:ID"), one per wave. */
enum store_target { STORE_TARGET_DEVICE, STORE_TARGET_GROUP, STORE_TARGET_ROLLOUT };

struct store_deployment {
    int64_t id;
    int64_t release_id;
    enum store_target target_kind;
    char target[STORE_ID_MAX + 1]; /* device id or group name */
    char created_by[STORE_NAME_MAX + 1];
    int64_t created_at;
    bool cancelled;
};

/* The per-device state machine of one deployment (assignment.h has the
 * transitions). Values are stored by name, not number. */
enum store_assign_state {
    STORE_ASSIGN_PENDING,
    STORE_ASSIGN_NOTIFIED,
    STORE_ASSIGN_DOWNLOADING,
    STORE_ASSIGN_INSTALLING,
    STORE_ASSIGN_REBOOTING,
    STORE_ASSIGN_COMMITTED,
    STORE_ASSIGN_SUCCEEDED,
    STORE_ASSIGN_FAILED,
    STORE_ASSIGN_ROLLED_BACK,
    STORE_ASSIGN_CANCELLED,
    STORE_ASSIGN_COUNT
};

struct store_assignment {
    int64_t deployment_id;
    char device_id[STORE_ID_MAX + 1];
    int64_t release_id;
    enum store_assign_state state;
    uint32_t progress; /* percent, while downloading */
    char code[STORE_NAME_MAX + 1];
    char message[STORE_TEXT_MAX + 1];
    int64_t updated_at;
};

struct store_report {
    char report_id[STORE_NAME_MAX + 1]; /* chosen by the device; unique per device */
    char device_id[STORE_ID_MAX + 1];
    int64_t deployment_id;
    enum store_assign_state state;
    uint32_t progress;
    char code[STORE_NAME_MAX + 1];
    char message[STORE_TEXT_MAX + 1];
    int64_t at;
};

#define STORE_SPEC_MAX 8191 /* a rollout's spec (JSON text) */

/* A rollout's life: draft -> running <-> paused; running or paused ->
 * aborted; running -> completed. Stored by name. */
enum store_rollout_state {
    STORE_ROLLOUT_DRAFT,
    STORE_ROLLOUT_RUNNING,
    STORE_ROLLOUT_PAUSED,
    STORE_ROLLOUT_ABORTED,
    STORE_ROLLOUT_COMPLETED,
    STORE_ROLLOUT_STATE_COUNT
};

struct store_rollout {
    int64_t id;
    int64_t release_id;
    char name[STORE_NAME_MAX + 1];
    enum store_rollout_state state;
    char salt[STORE_NAME_MAX + 1];   /* of the wave positions (wave.h) */
    char spec[STORE_SPEC_MAX + 1];   /* JSON object text: selection, canary, waves, gates */
    int current_wave;                /* the newest opened wave; -1 before the start */
    char reason[STORE_TEXT_MAX + 1]; /* why it is in its state, "" when none */
    char created_by[STORE_NAME_MAX + 1];
    int64_t created_at;
    int64_t updated_at;
};

/* One opened wave of a rollout and the deployment that carries it. */
struct store_rollout_wave {
    int64_t rollout_id;
    int wave;
    int64_t deployment_id;
    int64_t opened_at;
};

/* A device's record of failed rollout attempts and its quarantine
 * (docs/rollouts.md, "per-device safety"). */
struct store_quarantine {
    char device_id[STORE_ID_MAX + 1];
    uint32_t failures;             /* failed attempts in a row, across rollouts */
    int64_t until;                 /* quarantined until then; 0: never was */
    int64_t since;                 /* when the quarantine began */
    char code[STORE_NAME_MAX + 1]; /* the last failure's code */
};

/* The safety columns of a rollout assignment: which attempt it is, when it
 * may be offered again, when this attempt (and the first) was started, why
 * it waits ("rate cap", "download cap", "") and whether the engine has
 * settled its end (retry, final, quarantine). */
struct store_attempt {
    uint32_t attempt; /* 1 for the first */
    int64_t not_before;
    int64_t started_at;
    int64_t first_started_at;
    char waiting[16];
    bool settled;
};

/* A device of a rollout: the wave it was put in, its assignment, its
 * attempt and its device's quarantine record (zero when none). */
struct store_rollout_member {
    int wave;
    struct store_assignment a;
    struct store_attempt t;
    struct store_quarantine q;
};

/* What the check-in of a device with a pending or notified rollout
 * assignment is told (rollout_start). */
enum store_start {
    STORE_START_GO,          /* instruct (and mark the attempt started) */
    STORE_START_HELD,        /* the rollout is not running */
    STORE_START_BACKOFF,     /* a retry, not before its time */
    STORE_START_QUARANTINED, /* the device is quarantined */
    STORE_START_RATE,        /* the rollout's start rate is used up this minute */
    STORE_START_DOWNLOADS,   /* the rollout's downloads in flight are at their cap */
    STORE_START_GONE,        /* the assignment is no longer pending or notified */
};

/* The facts rollout_start reads, in its transaction, for the decider. */
struct store_start_facts {
    enum store_rollout_state rollout_state;
    enum store_assign_state state;
    struct store_attempt t;
    int64_t quarantined_until; /* 0: not quarantined */
    uint32_t started_last_min; /* first starts of the rollout in (now - 60, now] */
    uint32_t downloading;      /* the rollout's assignments notified or downloading */
};
typedef enum store_start (*store_start_fn)(void *arg, const struct store_start_facts *f,
                                           int64_t now);

/* How the engine settles a finished rollout assignment (assignment_settle). */
struct store_settle {
    bool retry;         /* back to pending as attempt + 1, offered from not_before */
    int64_t not_before; /* with retry */
    bool count;         /* write the device's record below */
    uint32_t failures;
    int64_t quarantined_until; /* 0: not quarantined */
    int64_t since;
    char code[STORE_NAME_MAX + 1];
};

/* The per-device timeouts of a rollout (rollout_expire): in progress and
 * silent since before silent_before, or started before started_before; or
 * offered a retry from before silent_before and not back for it. */
struct store_expiry {
    int64_t silent_before;
    int64_t started_before;
    const char *code;
    const char *silent_message;
    const char *slow_message;
    const char *absent_message;
};

/* Who changed what; appended in the transaction of the change it records. */
struct store_audit {
    int64_t id; /* set by the store */
    int64_t at;
    char actor[STORE_NAME_MAX + 1];  /* "token:3 (ci)", "device:<id>", "cli" */
    char action[STORE_NAME_MAX + 1]; /* "release.upload", "device.approve", ... */
    char object[STORE_NAME_MAX + 1]; /* "release:4", "device:<id prefix>" */
    char detail[STORE_TEXT_MAX + 1]; /* JSON object text */
};

struct store;

/* Visitors of list ops: return false to stop early. */
typedef bool (*store_device_cb)(void *arg, const struct store_device *d);
typedef bool (*store_token_cb)(void *arg, const struct store_token *t);
typedef bool (*store_release_cb)(void *arg, const struct store_release *r);
typedef bool (*store_deployment_cb)(void *arg, const struct store_deployment *d);
typedef bool (*store_assignment_cb)(void *arg, const struct store_assignment *a);
typedef bool (*store_report_cb)(void *arg, const struct store_report *r);
typedef bool (*store_audit_cb)(void *arg, const struct store_audit *a);
typedef bool (*store_rollout_cb)(void *arg, const struct store_rollout *r);
typedef bool (*store_rollout_wave_cb)(void *arg, const struct store_rollout_wave *w);
typedef bool (*store_rollout_member_cb)(void *arg, const struct store_rollout_member *m);
typedef bool (*store_quarantine_cb)(void *arg, const struct store_quarantine *q);

struct store_ops {
    void (*close)(struct store *s);
    NB_MUST_CHECK enum nb_err (*ping)(struct store *s);
    NB_MUST_CHECK enum nb_err (*schema_version)(struct store *s, int *out);

    /* Devices. device_add: NB_EEXIST for a known id or public key. */
    NB_MUST_CHECK enum nb_err (*device_add)(struct store *s, const struct store_device *d,
                                            const struct store_audit *au);
    NB_MUST_CHECK enum nb_err (*device_get)(struct store *s, const char *id,
                                            struct store_device *out);
    NB_MUST_CHECK enum nb_err (*device_list)(struct store *s, const struct store_device_filter *f,
                                             size_t limit, size_t offset, store_device_cb cb,
                                             void *arg);
    /* Moves a device from state `from` to `to`: NB_EINVAL when it is not in
     * `from` (compare and set, so two operators cannot race). */
    NB_MUST_CHECK enum nb_err (*device_set_state)(struct store *s, const char *id,
                                                  enum store_device_state from,
                                                  enum store_device_state to,
                                                  const struct store_audit *au);
    NB_MUST_CHECK enum nb_err (*device_set_group)(struct store *s, const char *id,
                                                  const char *group, const struct store_audit *au);
    /* Replaces the device's tags with tags[0..n-1] (n <= STORE_MAX_TAGS). */
    NB_MUST_CHECK enum nb_err (*device_set_tags)(struct store *s, const char *id,
                                                 const char *const *tags, size_t n,
                                                 const struct store_audit *au);
    /* Writes up to STORE_MAX_TAGS tags, sorted, into out; *n their count. */
    NB_MUST_CHECK enum nb_err (*device_get_tags)(struct store *s, const char *id,
                                                 char out[][STORE_NAME_MAX + 1], size_t *n);
    NB_MUST_CHECK enum nb_err (*device_checkin)(struct store *s, const char *id,
                                                const struct store_checkin *c);
    /* Sets last_seen = max(last_seen, v[i].at) for each device v[i].id, all
     * in one transaction; unknown ids are skipped. For check-ins that
     * changed nothing else (the server coalesces them: srv_seen). */
    NB_MUST_CHECK enum nb_err (*device_seen)(struct store *s, const struct store_seen *v, size_t n);

    /* One-time device authentication challenges. challenge_take consumes the
     * challenge (NB_ENOENT when unknown, already used or expired at now). */
    NB_MUST_CHECK enum nb_err (*challenge_put)(struct store *s, const char *device_id,
                                               const char *challenge, int64_t expires_at);
    NB_MUST_CHECK enum nb_err (*challenge_take)(struct store *s, const char *device_id,
                                                const char *challenge, int64_t now);

    /* Tokens, found by the hash of their secret. token_find: NB_ENOENT when
     * unknown; revoked or expired tokens are returned as they are (the
     * caller decides). token_add sets t->id. */
    NB_MUST_CHECK enum nb_err (*token_add)(struct store *s, struct store_token *t,
                                           const struct store_audit *au);
    NB_MUST_CHECK enum nb_err (*token_find)(struct store *s, const char *hash,
                                            struct store_token *out);
    NB_MUST_CHECK enum nb_err (*token_revoke)(struct store *s, int64_t id,
                                              const struct store_audit *au);
    /* API tokens only (device tokens are many and short-lived). */
    NB_MUST_CHECK enum nb_err (*token_list)(struct store *s, store_token_cb cb, void *arg);
    /* Deletes device tokens expired before now; *n how many. */
    NB_MUST_CHECK enum nb_err (*token_purge)(struct store *s, int64_t now, size_t *n);

    /* Releases. release_add: NB_EEXIST when one with the same envelope
     * digest exists; sets r->id. */
    NB_MUST_CHECK enum nb_err (*release_add)(struct store *s, struct store_release *r,
                                             const struct store_audit *au);
    NB_MUST_CHECK enum nb_err (*release_get)(struct store *s, int64_t id,
                                             struct store_release *out);
    NB_MUST_CHECK enum nb_err (*release_list)(struct store *s, size_t limit, size_t offset,
                                              store_release_cb cb, void *arg);
    NB_MUST_CHECK enum nb_err (*release_withdraw)(struct store *s, int64_t id,
                                                  const struct store_audit *au);

    /* Deployments and their assignments, created together: one assignment
     * (state pending) per device_ids[i]. A device's earlier unfinished
     * assignments are cancelled: a device follows its newest deployment.
     * Sets d->id. */
    NB_MUST_CHECK enum nb_err (*deployment_add)(struct store *s, struct store_deployment *d,
                                                const char *const *device_ids, size_t n,
                                                const struct store_audit *au);
    NB_MUST_CHECK enum nb_err (*deployment_get)(struct store *s, int64_t id,
                                                struct store_deployment *out);
    NB_MUST_CHECK enum nb_err (*deployment_list)(struct store *s, size_t limit, size_t offset,
                                                 store_deployment_cb cb, void *arg);
    /* Cancels the deployment and its unfinished assignments. */
    NB_MUST_CHECK enum nb_err (*deployment_cancel)(struct store *s, int64_t id,
                                                   const struct store_audit *au);
    NB_MUST_CHECK enum nb_err (*assignment_list)(struct store *s, int64_t deployment_id,
                                                 const char *device_id, store_assignment_cb cb,
                                                 void *arg);
    /* The device's newest assignment that is not finished (not succeeded,
     * failed, rolled back or cancelled): NB_ENOENT when there is none. */
    NB_MUST_CHECK enum nb_err (*assignment_current)(struct store *s, const char *device_id,
                                                    struct store_assignment *out);
    NB_MUST_CHECK enum nb_err (*assignment_get)(struct store *s, int64_t deployment_id,
                                                const char *device_id,
                                                struct store_assignment *out);
    /* Writes a's state, progress, code, message and updated_at. */
    NB_MUST_CHECK enum nb_err (*assignment_update)(struct store *s,
                                                   const struct store_assignment *a);

    /* Status reports, idempotent by (device_id, report_id): NB_EEXIST when
     * that report was already stored (nothing changes). With a non-NULL
     * assign, the assignment is updated in the same transaction. */
    NB_MUST_CHECK enum nb_err (*report_add)(struct store *s, const struct store_report *r,
                                            const struct store_assignment *assign);
    NB_MUST_CHECK enum nb_err (*report_list)(struct store *s, const char *device_id, size_t limit,
                                             store_report_cb cb, void *arg);

    /* The audit log: append-only (the backend refuses updates and deletes).
     * Newest first, entries with id < before_id (0: from the newest). */
    NB_MUST_CHECK enum nb_err (*audit_append)(struct store *s, struct store_audit *a);
    NB_MUST_CHECK enum nb_err (*audit_list)(struct store *s, int64_t before_id, size_t limit,
                                            store_audit_cb cb, void *arg);

    /* Rollouts. rollout_add stores r (state, current_wave and reason as
     * given) and sets r->id. */
    NB_MUST_CHECK enum nb_err (*rollout_add)(struct store *s, struct store_rollout *r,
                                             const struct store_audit *au);
    NB_MUST_CHECK enum nb_err (*rollout_get)(struct store *s, int64_t id,
                                             struct store_rollout *out);
    /* Newest first; has_state false lists every state. */
    NB_MUST_CHECK enum nb_err (*rollout_list)(struct store *s, bool has_state,
                                              enum store_rollout_state state, size_t limit,
                                              size_t offset, store_rollout_cb cb, void *arg);
    /* Compare and set: from -> to with the reason, NB_EINVAL when the
     * rollout is not in `from`. To aborted, its devices that were not yet
     * told to install (pending, notified) are cancelled in the same
     * transaction. */
    NB_MUST_CHECK enum nb_err (*rollout_set_state)(struct store *s, int64_t id,
                                                   enum store_rollout_state from,
                                                   enum store_rollout_state to, const char *reason,
                                                   int64_t at, const struct store_audit *au);
    /* Puts device_ids[0..n-1] in wave `wave` of a running rollout, in one
     * transaction: the first call for a wave opens it (a deployment of the
     * rollout's release, target kind rollout, and the wave row, opened at
     * `at`) and makes it the current wave; each device gets a pending
     * assignment in it (its other unfinished assignments are cancelled, as
     * with deployment_add). NB_EINVAL when the rollout is not running, or
     * `wave` is below its current wave when opening. */
    NB_MUST_CHECK enum nb_err (*rollout_assign)(struct store *s, int64_t rollout_id, int wave,
                                                const char *const *device_ids, size_t n, int64_t at,
                                                const struct store_audit *au);
    /* The opened waves, in order. */
    NB_MUST_CHECK enum nb_err (*rollout_waves)(struct store *s, int64_t rollout_id,
                                               store_rollout_wave_cb cb, void *arg);
    /* Every device of the rollout with its wave and assignment. */
    NB_MUST_CHECK enum nb_err (*rollout_members)(struct store *s, int64_t rollout_id,
                                                 store_rollout_member_cb cb, void *arg);
    /* The per-device timeouts: the rollout's assignments that are in
     * progress (notified .. committed) and unchanged since before
     * e->silent_before (the lease), or whose attempt started before
     * e->started_before, or that are pending a retry (attempt > 1, not
     * waiting for a cap) offered from before e->silent_before, become
     * failed with e->code and the matching message; *n how many. */
    NB_MUST_CHECK enum nb_err (*rollout_expire)(struct store *s, int64_t rollout_id,
                                                const struct store_expiry *e, int64_t at,
                                                size_t *n);
    /* Rollout control (docs/api.md "Rollout control"). rollout_approve
     * records actor's approval of draft rollout id: NB_EINVAL when it is
     * not a draft, NB_EEXIST when actor approved it already; approvals
     * counts them. */
    NB_MUST_CHECK enum nb_err (*rollout_approve)(struct store *s, int64_t id, const char *actor,
                                                 int64_t at, const struct store_audit *au);
    NB_MUST_CHECK enum nb_err (*rollout_approvals)(struct store *s, int64_t id, size_t *n);
    /* Stores r (as rollout_add) as the rollback of rollout bad_id, in one
     * transaction; NB_EEXIST when bad_id has a rollback already. */
    NB_MUST_CHECK enum nb_err (*rollout_add_rollback)(struct store *s, int64_t bad_id,
                                                      struct store_rollout *r,
                                                      const struct store_audit *au);
    /* The rollback of rollout bad_id; NB_ENOENT when it has none. */
    NB_MUST_CHECK enum nb_err (*rollout_rollback_of)(struct store *s, int64_t bad_id,
                                                     int64_t *rollback_id);
    /* The rollout whose wave deployment_id carries; NB_ENOENT: none. */
    NB_MUST_CHECK enum nb_err (*deployment_rollout)(struct store *s, int64_t deployment_id,
                                                    int64_t *rollout_id);
    /* The emergency stop, in one transaction: every running rollout
     * paused with reason, and the pending assignments of deployments that
     * are not rollouts cancelled (code E_STOPPED); one audit entry per
     * rollout (rollout.stop) and per deployment (deployment.stop), from
     * tmpl (actor, at) with detail {"reason": reason_json}, reason_json
     * being reason escaped as a JSON string body. At most 1000 of each. */
    NB_MUST_CHECK enum nb_err (*stop_all)(struct store *s, const char *reason,
                                          const char *reason_json, int64_t at,
                                          const struct store_audit *tmpl, size_t *rollouts,
                                          size_t *deployments);

    /* Per-device safety of rollouts (docs/rollouts.md). */
    /* A check-in of device_id, whose assignment in deployment_id of rollout
     * rollout_id is pending or notified, in one transaction: reads the
     * facts, asks decide, and on STORE_START_GO moves a pending assignment
     * to notified (started_at = now, first_started_at when unset, waiting
     * cleared); on STORE_START_RATE / _DOWNLOADS records waiting "rate
     * cap" / "download cap". *out the verdict (STORE_START_GONE without
     * asking when the assignment is neither pending nor notified). */
    NB_MUST_CHECK enum nb_err (*rollout_start)(struct store *s, int64_t rollout_id,
                                               int64_t deployment_id, const char *device_id,
                                               int64_t now, store_start_fn decide, void *arg,
                                               enum store_start *out);
    /* The rollout's members that finished (succeeded, failed, rolled back)
     * and are not settled yet. */
    NB_MUST_CHECK enum nb_err (*rollout_unsettled)(struct store *s, int64_t rollout_id,
                                                   store_rollout_member_cb cb, void *arg);
    /* Settles one finished assignment that is still in state `was` and not
     * settled (NB_EINVAL otherwise): a retry puts it back to pending as the
     * next attempt (code and message kept, not settled), else it is marked
     * settled; with how->count the device's record is written. au, when
     * given, is appended in the same transaction. */
    NB_MUST_CHECK enum nb_err (*assignment_settle)(struct store *s, int64_t deployment_id,
                                                   const char *device_id,
                                                   enum store_assign_state was,
                                                   const struct store_settle *how,
                                                   const struct store_audit *au);
    /* The attempt columns of one assignment (attempt 1 for a plain
     * deployment's): NB_ENOENT when there is no such assignment. */
    NB_MUST_CHECK enum nb_err (*assignment_attempt)(struct store *s, int64_t deployment_id,
                                                    const char *device_id,
                                                    struct store_attempt *out);
    /* A device's record: NB_ENOENT when it never failed a rollout attempt. */
    NB_MUST_CHECK enum nb_err (*quarantine_get)(struct store *s, const char *device_id,
                                                struct store_quarantine *out);
    /* Devices quarantined at now (until > now), soonest release first. */
    NB_MUST_CHECK enum nb_err (*quarantine_list)(struct store *s, int64_t now, size_t limit,
                                                 store_quarantine_cb cb, void *arg);
    /* An operator lifts a quarantine: the record is cleared (no failures,
     * not quarantined). NB_ENOENT when the device is not quarantined at now. */
    NB_MUST_CHECK enum nb_err (*quarantine_lift)(struct store *s, const char *device_id,
                                                 int64_t now, const struct store_audit *au);
};

struct store {
    const struct store_ops *ops;
    void *ctx;
};

/* Opens the store named by url ("sqlite:PATH"); creates and migrates the
 * schema. NB_EUNSUPPORTED for an unknown scheme. diag says why. */
NB_MUST_CHECK enum nb_err store_open(const char *url, struct store *out, struct nb_diag *diag);
/* Closes the store; safe on a zeroed struct. */
void store_close(struct store *s);

/* Stable names of states and roles ("pending", "admin", ...), and back.
 * The parse functions return NB_EINVAL for an unknown name. */
const char *store_device_state_name(enum store_device_state st);
NB_MUST_CHECK enum nb_err store_device_state_parse(const char *name, enum store_device_state *out);
const char *store_role_name(enum store_role role);
NB_MUST_CHECK enum nb_err store_role_parse(const char *name, enum store_role *out);
const char *store_assign_state_name(enum store_assign_state st);
const char *store_target_name(enum store_target t); /* "device", "group", "rollout" */
const char *store_rollout_state_name(enum store_rollout_state st);
NB_MUST_CHECK enum nb_err store_rollout_state_parse(const char *name,
                                                    enum store_rollout_state *out);
NB_MUST_CHECK enum nb_err store_assign_state_parse(const char *name, enum store_assign_state *out);

/* The SQLite backend (store_sqlite.c): path is a file name. */
NB_MUST_CHECK enum nb_err store_sqlite_open(const char *path, struct store *out,
                                            struct nb_diag *diag);

#endif
