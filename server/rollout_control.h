/* Rollout control (rollout_control.c): the selection by version range, the
 * rollback (a rollout of the previous release to the devices that took the
 * bad one, under the same gates), the automatic rollback on abort, the
 * second operator's approval, the maintenance window's say over waves and
 * check-ins, and the forced opening of the next wave. docs/api.md
 * "Rollout control" is the operator's reference. */
#ifndef NOBRICK_SERVER_ROLLOUT_CONTROL_H
#define NOBRICK_SERVER_ROLLOUT_CONTROL_H

#include "rollout.h"

#define ROLLOUT_WHY_MAX 320

/* True when the device's installed version is inside the spec's
 * [min_version, max_version]; otherwise why says why ("runs 1.0.0, below
 * min_version 1.2.0", "runs 'x', not a SemVer version"). */
bool rollout_version_in_range(const struct rollout_spec *s, const char *installed, char *why,
                              size_t cap);

/* Anti-rollback (SECURITY.md): devices that committed `bad` refuse an
 * image with a lower security counter. NB_EROLLBACK with why telling the
 * operator to re-sign the old image with bad's counter as a new release;
 * NB_EINVAL when prev is bad itself or withdrawn. */
NB_MUST_CHECK enum nb_err rollout_rollback_check(const struct store_release *bad,
                                                 const struct store_release *prev, char *why,
                                                 size_t cap);

/* The release to roll `bad` back to: the one of `version` in bad's
 * component, or when version is "" the highest version below bad's in it
 * that is not withdrawn. NB_ENOENT (why says) when there is none. */
NB_MUST_CHECK enum nb_err rollout_previous_release(struct srv *srv, const struct store_release *bad,
                                                   const char *version, struct store_release *out,
                                                   char *why, size_t cap);

/* The devices of rollout bad_id that took its release: in progress
 * (downloading .. committed), succeeded, or running its version. Sorted
 * ids in a new array (*ids, free with nb_free), *n of them. */
NB_MUST_CHECK enum nb_err rollout_rollback_members(struct srv *srv, int64_t bad_id,
                                                   char (**ids)[STORE_ID_MAX + 1], size_t *n);

/* Creates and starts the rollback of rollout bad to release `version`
 * ("" : the previous one), with bad's spec (waves, gates, canary, window)
 * and no approval needed; bad is aborted first when running or paused.
 * actor names who asked (an operator, or "engine"). NB_EEXIST: bad has a
 * rollback already; NB_ENOENT / NB_EROLLBACK / NB_EINVAL with why. */
NB_MUST_CHECK enum nb_err rollout_rollback(struct srv *srv, const struct store_rollout *bad,
                                           const char *version, const char *actor, int64_t now,
                                           struct store_rollout *out, char *why, size_t cap);

/* After rollout id was aborted (by the gate or an operator): its rollback
 * starts when its spec opted in (actor "engine"). Logged, never fails. */
void rollout_after_abort(struct srv *srv, int64_t id, int64_t now);

/* With auto_rollback, the gate's pause is an abort (docs/api.md). */
void rollout_escalate(const struct rollout_spec *s, struct gate_result *g);

/* May a wave open at now? Always without a window or with download_only. */
bool rollout_window_allows(const struct rollout_spec *s, int64_t now);

/* What the window of a's rollout (spec) says about instructing a at now: *hold when
 * the device is not to be told now; else *after, *before the install
 * window to put in the instruction (0, 0: none). A store error holds. */
void rollout_checkin_window(const struct rollout_spec *spec, const struct store_assignment *a,
                            int64_t now, bool *hold, int64_t *after, int64_t *before);

/* Approvals still missing before r can start (0: may start). */
NB_MUST_CHECK enum nb_err rollout_approvals_missing(struct srv *srv, const struct store_rollout *r,
                                                    size_t *missing);

#endif
