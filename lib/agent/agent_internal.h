/* Shared internals of the agent core (lib/agent/): the states and the
 * helpers the protocol (agent_proto.c) and update (agent_update.c) halves
 * use. Not installed: nothing outside lib/agent includes it. */
#ifndef NOBRICK_AGENT_INTERNAL_H
#define NOBRICK_AGENT_INTERNAL_H

#include <nobrick/agent.h>

/* What the core does next (struct nb_agent's state). Each state either
 * emits an action (build) or moves to another; the states that emit a
 * request also handle its answer. */
enum nb__agent_state {
    NB__S_START,     /* start-up decisions from boot control and the journal */
    NB__S_WAIT,      /* until wake_ms, then `after` */
    NB__S_ENROL,     /* POST enrol (once per start) */
    NB__S_CHALLENGE, /* POST challenge */
    NB__S_TOKEN,     /* POST token with the signed challenge */
    NB__S_OWED,      /* the commit or rollback report the journal owes */
    NB__S_CHECKIN,   /* POST checkin */
    NB__S_META,      /* GET envelope + frame table */
    NB__S_FRAME,     /* GET a run of consecutive frames */
    NB__S_FINISH,    /* read back and arm the trial */
    NB__S_REPORT,    /* POST a progress or failure report, then `after` */
    NB__S_HEALTH,    /* the driver runs the health checks */
    NB__S_REBOOT,
    NB__S_DONE,
    NB__S_HOLD,      /* an update waits for a command, a schedule or the window (policy.c) */
    NB__S_COUNTDOWN, /* the trial is armed: "rebooting in N s", then REBOOT */
    NB__S_ROOT,      /* GET the next root of the chain (agent_trust.c) */
    NB__S_COUNT
};

/* agent.c */
void nb__agent_log(struct nb_agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t nb__agent_now_ms(const struct nb_agent *a);
uint32_t nb__agent_random(struct nb_agent *a, uint32_t max);
void nb__agent_retry(struct nb_agent *a, const struct nb_agent_response *r, int state);
void nb__agent_poll_wait(struct nb_agent *a);
void nb__agent_finish_cycle(struct nb_agent *a, enum nb_err result);
void nb__agent_done(struct nb_agent *a, enum nb_err result);
/* nb__agent_finish_cycle, returning the state it set (a report's next). */
int nb__agent_cycle_end(struct nb_agent *a, enum nb_err result);
NB_MUST_CHECK enum nb_err nb__agent_journal_put(struct nb_agent *a,
                                                const struct nb_journal_agent *next);
void nb__agent_request(struct nb_agent_action *out, const char *method, const char *path,
                       const char *bearer, const char *body, size_t body_len, size_t max_body);

/* agent_proto.c: building requests and reading answers */
bool nb__agent_build_enrol(struct nb_agent *a, struct nb_agent_action *out);
void nb__agent_on_enrol(struct nb_agent *a, const struct nb_agent_response *r);
bool nb__agent_build_challenge(struct nb_agent *a, struct nb_agent_action *out);
void nb__agent_on_challenge(struct nb_agent *a, const struct nb_agent_response *r);
bool nb__agent_build_token(struct nb_agent *a, struct nb_agent_action *out);
void nb__agent_on_token(struct nb_agent *a, const struct nb_agent_response *r);
bool nb__agent_build_checkin(struct nb_agent *a, struct nb_agent_action *out);
void nb__agent_on_checkin(struct nb_agent *a, const struct nb_agent_response *r);
bool nb__agent_build_report(struct nb_agent *a, struct nb_agent_action *out);
void nb__agent_on_report(struct nb_agent *a, const struct nb_agent_response *r);
/* Queues a report (state "downloading", "failed", ...; code NB_OK for
 * none) for deployment dep, then `after`. must: retried until accepted. */
void nb__agent_report(struct nb_agent *a, int64_t dep, const char *state, uint32_t progress,
                      enum nb_err code, const char *message, int after, bool must);
/* True (and the login started) when the token is missing or expiring. */
bool nb__agent_need_login(struct nb_agent *a, int resume);
/* Handles the answers every authenticated request shares: transport
 * failures, 401, 429, 5xx. True when r was handled (state moved). */
bool nb__agent_common_failure(struct nb_agent *a, const struct nb_agent_response *r, int state);

/* policy.c: events, commands and the install policy */
/* A blank event of kind about the current update (version filled in). */
struct nb_agent_event nb__agent_ev(const struct nb_agent *a, enum nb_agent_event_kind kind);
void nb__agent_emit(struct nb_agent *a, const struct nb_agent_event *ev);
/* A FAILED event (version may be NULL: the current update's); retry_in_s
 * 0 when the agent gave up on the update. */
void nb__agent_failed(struct nb_agent *a, const char *version, enum nb_err code, const char *detail,
                      uint32_t retry_in_s);
void nb__agent_succeeded(struct nb_agent *a, const char *version);
/* Back to no update in hand (the declined deployment is kept). */
void nb__agent_phase_reset(struct nb_agent *a);
/* A verified instruction: UPDATE_AVAILABLE, then download or hold (ask). */
void nb__agent_announce(struct nb_agent *a);
/* Every frame is in the slot: install, or READY and hold. */
void nb__agent_downloaded(struct nb_agent *a);
/* A DOWNLOAD_PROGRESS event from the install engine's count. */
void nb__agent_progress_event(struct nb_agent *a);
bool nb__agent_build_hold(struct nb_agent *a, struct nb_agent_action *out);
bool nb__agent_build_countdown(struct nb_agent *a, struct nb_agent_action *out);
/* A cancel is pending: drop the update (CANCELLED), next poll. */
bool nb__agent_cancelled(struct nb_agent *a);

/* agent_trust.c: the root walk and the endpoints */
/* The check-in answer named root_version: when the trust store holds an
 * older root, the walk starts (true); had_instruction: check in again
 * after it. */
bool nb__agent_root_behind(struct nb_agent *a, uint64_t root_version, bool had_instruction);
bool nb__agent_build_root(struct nb_agent *a, struct nb_agent_action *out);
void nb__agent_on_root(struct nb_agent *a, const struct nb_agent_response *r);
/* Points q at the endpoint in use: a path below it becomes an absolute
 * URL (unchanged on the configured server, the driver's own). */
void nb__agent_route(struct nb_agent *a, struct nb_agent_request *q);
/* Signed data from the endpoint in use did not verify (err, why): when
 * another endpoint exists, move to it after a back-off and return true;
 * false when there is none (the caller handles the failure). */
bool nb__agent_distrust_endpoint(struct nb_agent *a, enum nb_err err, const char *why);
/* After a failed request of state (nb__agent_retry): the endpoint failed
 * twice in a row while logging in, checking in or walking the root chain:
 * move to the next one (true: the wait's next state is login). */
bool nb__agent_endpoint_failed(struct nb_agent *a, const struct nb_agent_response *r, int state);
/* A poll completed: on a fallback endpoint, count towards trying the
 * first one again. */
void nb__agent_endpoint_poll(struct nb_agent *a);

/* agent_update.c: the install of one deployment */
/* Approved and downloaded: the "installing" report, then FINISH. */
void nb__agent_install_go(struct nb_agent *a);
void nb__agent_on_install(struct nb_agent *a, const uint8_t *instruction, size_t len,
                          int64_t deployment_id);
bool nb__agent_build_meta(struct nb_agent *a, struct nb_agent_action *out);
void nb__agent_on_meta(struct nb_agent *a, const struct nb_agent_response *r);
bool nb__agent_build_frame(struct nb_agent *a, struct nb_agent_action *out);
void nb__agent_on_frame(struct nb_agent *a, const struct nb_agent_response *r);
bool nb__agent_build_finish(struct nb_agent *a, struct nb_agent_action *out);
/* A refusal: logged, reported (failed, with its code), slot left unbootable. */
void nb__agent_fail_deployment(struct nb_agent *a, int64_t dep, enum nb_err err,
                               const struct nb_diag *why);

#endif
