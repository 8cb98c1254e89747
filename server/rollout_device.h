/* Per-device safety of rollouts (docs/rollouts.md): an attempt's timeouts
 * (total and no-progress lease), retries of failures a device or its path
 * can recover from, with exponential back-off, quarantine of a device that
 * keeps failing, and the caps on how many devices start per minute and
 * download at once. The decisions are pure functions (tested one by one);
 * rollout_device.c also holds the two places that apply them: the
 * engine's tick (expire, settle) and the device's check-in (start). */
#ifndef NOBRICK_SERVER_ROLLOUT_DEVICE_H
#define NOBRICK_SERVER_ROLLOUT_DEVICE_H

#include "rollout.h"

#define RDEV_QUARANTINE_AFTER 3   /* failed attempts in a row, across rollouts */
#define RDEV_BACKOFF_MAX_S 21600  /* the back-off stops doubling at 6 h */
#define RDEV_SETTLE_PER_TICK 1000 /* finished attempts one tick settles at most */
#define RDEV_LATE_ROLLOUTS 100    /* completed rollouts (newest) whose late devices are watched */

/* How a failure is treated. */
enum rdev_class {
    RDEV_TRANSIENT, /* the network, the server, the device's storage or memory, a
                     * device timed out (silent, slow): retried */
    RDEV_REFUSED,   /* the device refused what it got (an attacker on the path can cause
                     * it): retried, so nobody on the path fails an assignment for good */
    RDEV_FINAL,     /* about the release on this device (health, boot, rollback,
                     * compatibility, size, keys): not retried */
};

/* The class of an attempt that ended in state st with the device's code
 * (rolled_back is always final; an unknown code is final). */
enum rdev_class rdev_classify(enum store_assign_state st, const char *code);
const char *rdev_class_name(enum rdev_class c); /* "transient", "refused", "final" */

/* Seconds to wait after failed attempt n (1 = the first): base * 2^(n-1),
 * at most RDEV_BACKOFF_MAX_S (and never below base when base is above it). */
uint32_t rdev_backoff_s(uint32_t base_s, uint32_t n);

struct rdev_policy {
    uint32_t retry_max;        /* attempts, the first included */
    uint32_t backoff_s;        /* before the second */
    uint32_t quarantine_s;     /* a quarantine's length */
    uint32_t quarantine_after; /* failed attempts in a row that quarantine */
};
void rdev_policy_of(const struct rollout_spec *spec, struct rdev_policy *out);

/* true when q quarantines its device at now. */
bool rdev_quarantined(const struct store_quarantine *q, int64_t now);

/* How the engine settles member m, which finished (succeeded, failed or
 * rolled back) and is not settled, at now: a success clears the device's
 * failures; a failure adds one (a served quarantine starts the count
 * afresh), quarantines the device at quarantine_after, and is retried
 * after the back-off (and after the quarantine) when its class allows and
 * attempts remain. */
void rdev_settle(const struct rdev_policy *p, const struct store_rollout_member *m, int64_t now,
                 struct store_settle *out);

/* The caps of a rollout at check-in. */
struct rdev_caps {
    uint32_t start_rate_per_min; /* 0: no cap */
    uint32_t max_downloading;    /* 0: no cap */
};

/* What a check-in with a pending or notified assignment is told, from the
 * facts rollout_start read: held while the rollout is paused (or not yet
 * started, or aborted), also a device notified and not yet downloading:
 * it starts nothing while paused; go for a notified device (its attempt
 * started); else the
 * quarantine, the back-off, the cap on downloads and, for a device's first
 * start, the start rate, in that order. */
enum store_start rdev_start_verdict(const struct rdev_caps *caps, const struct store_start_facts *f,
                                    int64_t now);
const char *rdev_start_name(enum store_start v); /* "go", "held", "back-off", ... */

/* The check-in side: true when the device with unfinished assignment a
 * of rollout r (spec its spec) gets its instruction now. Assignments past notified always do (the
 * device finishes the attempt it began, pause or not); a pending one of a
 * rollout is moved to notified here (a->state too). A store error holds. */
bool rdev_may_instruct(struct srv *srv, const struct store_rollout *r,
                       const struct rollout_spec *spec, struct store_assignment *a, int64_t now);

/* The key a device's status report is kept under: its own report id, with
 * "@a<attempt>" after it for the second and later attempts of an
 * assignment, so a retry's reports (which an agent names after the
 * deployment, the state and the code) are not taken for the first
 * attempt's repeated. report_id holds STORE_NAME_MAX + 1 bytes; an id too
 * long to extend stays as it is. */
void rdev_report_key(struct srv *srv, const struct store_assignment *a, char *report_id);

/* The engine side, each tick of a running rollout r: times out attempts
 * (lease and total), then settles the finished ones (retries, final,
 * quarantine; audited as rollout.retry and device.quarantine). */
NB_MUST_CHECK enum nb_err rdev_expire(struct srv *srv, const struct store_rollout *r,
                                      const struct rollout_spec *spec, int64_t now, size_t *n);
NB_MUST_CHECK enum nb_err rdev_settle_rollout(struct srv *srv, const struct store_rollout *r,
                                              const struct rollout_spec *spec, int64_t now);
/* The same for a completed rollout r, which still serves devices that come
 * late (not seen while it ran): their attempts time out, retry and count
 * toward quarantine like any other. */
NB_MUST_CHECK enum nb_err rdev_tick_late(struct srv *srv, const struct store_rollout *r,
                                         int64_t now);

#endif
