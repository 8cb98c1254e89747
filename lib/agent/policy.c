/* Users in the loop, in the agent core: the events the UI is told, the
 * commands it gives (install now, schedule at, postpone, retry, cancel)
 * and the install policy that decides when an update goes ahead without
 * one (auto, download-only, window, ask). The waits it adds are two
 * states: HOLD (before the download or before the install) and COUNTDOWN
 * (the trial is armed, the reboot comes in N s). docs/agent.md. */
#include "agent_internal.h"

#include <stdio.h>
#include <string.h>

#define HOLD_RECHECK_S 3600u /* a hold looks at the wall clock again this often */
#define DAY_S 86400

static const char *const policy_names[] = {"auto", "download-only", "window", "ask"};
static const char *const event_names[NB_AGENT_EV_COUNT] = {
    "update_available", "download_progress", "ready",  "scheduled", "installing",
    "rebooting",        "succeeded",         "failed", "cancelled"};
static const char *const phase_names[NB_AGENT_PHASE_COUNT] = {
    "idle", "available", "downloading", "ready", "scheduled", "installing", "rebooting"};

const char *nb_agent_policy_name(enum nb_agent_policy p)
{
    return (unsigned)p < 4 ? policy_names[p] : "?";
}

bool nb_agent_policy_parse(const char *name, enum nb_agent_policy *out)
{
    for (unsigned i = 0; i < 4; i++) {
        if (strcmp(name, policy_names[i]) == 0) {
            *out = (enum nb_agent_policy)i;
            return true;
        }
    }
    return false;
}

const char *nb_agent_event_name(enum nb_agent_event_kind k)
{
    return (unsigned)k < NB_AGENT_EV_COUNT ? event_names[k] : "?";
}

struct nb_agent_event nb__agent_ev(const struct nb_agent *a, enum nb_agent_event_kind kind)
{
    struct nb_agent_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.deployment_id = a->instr.deployment_id;
    (void)snprintf(ev.version, sizeof ev.version, "%s", a->instr.version);
    return ev;
}

void nb__agent_emit(struct nb_agent *a, const struct nb_agent_event *ev)
{
    if (a->env.event != NULL)
        a->env.event(a->env.event_ctx, ev);
}

void nb__agent_failed(struct nb_agent *a, const char *version, enum nb_err code, const char *detail,
                      uint32_t retry_in_s)
{
    struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_FAILED);
    if (version != NULL)
        (void)snprintf(ev.version, sizeof ev.version, "%s", version);
    ev.code = code;
    ev.retry_in_s = retry_in_s;
    (void)snprintf(ev.detail, sizeof ev.detail, "%s", detail != NULL ? detail : "");
    a->last_error = code;
    nb__agent_emit(a, &ev);
}

void nb__agent_succeeded(struct nb_agent *a, const char *version)
{
    struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_SUCCEEDED);
    (void)snprintf(ev.version, sizeof ev.version, "%s", version);
    a->last_error = NB_OK;
    nb__agent_emit(a, &ev);
}

void nb__agent_phase_reset(struct nb_agent *a)
{
    a->phase = NB_AGENT_PHASE_IDLE;
    a->downloaded = a->approved = a->go = a->cancel = false;
    a->sched_at_s = a->announced_at = 0;
    a->reboot_at_ms = 0;
}

void nb__agent_announce(struct nb_agent *a)
{
    struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_AVAILABLE);
    nb__agent_phase_reset(a);
    ev.bytes_total = a->frames_len;
    nb__agent_emit(a, &ev);
    if (a->cfg.policy == NB_AGENT_POLICY_ASK) {
        nb__agent_log(a, "update %s available: waiting for install-now (install_policy = ask)",
                      a->instr.version);
        a->phase = NB_AGENT_PHASE_AVAILABLE;
        a->state = NB__S_HOLD;
        return;
    }
    a->phase = NB_AGENT_PHASE_DOWNLOADING;
    a->state = NB__S_META;
}

void nb__agent_progress_event(struct nb_agent *a)
{
    struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_PROGRESS);
    nb_install_progress(&a->install, &ev.done, &ev.total);
    ev.bytes_total = a->frames_len;
    /* Frames differ in size; the bytes are the frames' share of the total. */
    ev.bytes_done = ev.total == 0 ? a->frames_len : a->frames_len * ev.done / ev.total;
    nb__agent_emit(a, &ev);
}

/* The server's maintenance window (director spec 2), for policy auto:
 * true when the install waits for it (a hold until install_after) or the
 * window has passed (the cycle ends; the next check-in brings the next
 * window). A device that does not know the time installs only when told
 * again inside a window it can place: here, never. */
static bool server_window_waits(struct nb_agent *a)
{
    int64_t now_s = 0;
    if (a->instr.install_before == 0 || a->approved || a->cfg.policy != NB_AGENT_POLICY_AUTO)
        return false;
    bool known = a->env.clock.ops->unix_s(a->env.clock.ctx, &now_s) == NB_OK;
    if (known && now_s >= a->instr.install_after && now_s < a->instr.install_before)
        return false;
    if (!known || now_s >= a->instr.install_before) {
        nb__agent_log(a, "update %s downloaded: its maintenance window is %s; not installed",
                      a->instr.version, known ? "over" : "unknown (no clock)");
        nb__agent_finish_cycle(a, NB_OK);
        return true;
    }
    nb__agent_log(a,
                  "update %s downloaded and verified: installs in the maintenance window "
                  "from %lld",
                  a->instr.version, (long long)a->instr.install_after);
    a->sched_at_s = a->instr.install_after;
    struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_READY);
    nb__agent_emit(a, &ev);
    a->phase = NB_AGENT_PHASE_READY;
    a->state = NB__S_HOLD;
    return true;
}

void nb__agent_downloaded(struct nb_agent *a)
{
    a->downloaded = true;
    if (server_window_waits(a))
        return;
    if (a->approved || a->cfg.policy == NB_AGENT_POLICY_AUTO) {
        nb__agent_install_go(a);
        return;
    }
    nb__agent_log(a, "update %s downloaded and verified: waiting (install_policy = %s)",
                  a->instr.version, nb_agent_policy_name(a->cfg.policy));
    struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_READY);
    nb__agent_emit(a, &ev);
    a->phase = NB_AGENT_PHASE_READY;
    a->state = NB__S_HOLD;
}

bool nb__agent_cancelled(struct nb_agent *a)
{
    if (!a->cancel)
        return false;
    nb__agent_log(a, "update %s cancelled: not installed until a retry or a restart",
                  a->instr.version);
    struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_CANCELLED);
    nb__agent_emit(a, &ev);
    if (a->installing)
        nb_install_fini(&a->install);
    a->installing = false;
    a->declined_dep = a->instr.deployment_id;
    nb__agent_finish_cycle(a, NB_OK);
    return true;
}

/* ---- the window ------------------------------------------------------------ */

static int64_t second_of_day(int64_t now_s)
{
    int64_t s = now_s % DAY_S;
    return s < 0 ? s + DAY_S : s;
}

static bool in_window(const struct nb_agent *a, int64_t now_s)
{
    int64_t m = second_of_day(now_s) / 60, start = a->cfg.window_start_min,
            end = a->cfg.window_end_min;
    if (start == end)
        return true;
    return start < end ? m >= start && m < end : m >= start || m < end;
}

/* The next opening of the window after now_s (Unix seconds). */
static int64_t window_opens(const struct nb_agent *a, int64_t now_s)
{
    int64_t until = (int64_t)a->cfg.window_start_min * 60 - second_of_day(now_s);
    return now_s + (until <= 0 ? until + DAY_S : until);
}

/* ---- HOLD and COUNTDOWN ---------------------------------------------------- */

static bool may_proceed(const struct nb_agent *a, bool known, int64_t now_s)
{
    if (a->go)
        return true;
    if (a->sched_at_s != 0)
        return known && now_s >= a->sched_at_s;
    return a->cfg.policy == NB_AGENT_POLICY_WINDOW && a->downloaded && known && in_window(a, now_s);
}

/* When the hold ends by itself (Unix seconds), 0 when only a command ends it. */
static int64_t hold_until(const struct nb_agent *a, bool known, int64_t now_s)
{
    if (!known)
        return 0;
    if (a->sched_at_s != 0)
        return a->sched_at_s;
    if (a->cfg.policy == NB_AGENT_POLICY_WINDOW && a->downloaded)
        return window_opens(a, now_s);
    return 0;
}

static void proceed(struct nb_agent *a)
{
    a->approved = true;
    a->go = false;
    if (a->downloaded) {
        nb__agent_install_go(a);
        return;
    }
    nb__agent_log(a, "update %s: downloading", a->instr.version);
    a->phase = NB_AGENT_PHASE_DOWNLOADING;
    a->state = NB__S_META;
}

bool nb__agent_build_hold(struct nb_agent *a, struct nb_agent_action *out)
{
    int64_t now_s = 0;
    bool known = a->env.clock.ops->unix_s(a->env.clock.ctx, &now_s) == NB_OK;
    if (nb__agent_cancelled(a))
        return false;
    if (may_proceed(a, known, now_s)) {
        proceed(a);
        return false;
    }
    if (a->cfg.once) {
        nb__agent_log(a, "update %s waits for a decision: the cycle ends here", a->instr.version);
        nb__agent_done(a, NB_OK);
        return false;
    }
    uint64_t wait_s = HOLD_RECHECK_S;
    int64_t at = hold_until(a, known, now_s);
    if (at != 0) {
        if (at != a->announced_at) {
            struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_SCHEDULED);
            ev.at_s = at;
            nb__agent_emit(a, &ev);
            a->announced_at = at;
        }
        a->phase = NB_AGENT_PHASE_SCHEDULED;
        if ((uint64_t)(at - now_s) < wait_s)
            wait_s = (uint64_t)(at - now_s);
    }
    memset(out, 0, sizeof *out);
    out->what = NB_AGENT_WAIT;
    out->until_ms = nb__agent_now_ms(a) + wait_s * 1000;
    return true;
}

static void countdown_event(struct nb_agent *a, uint32_t in_s)
{
    struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_REBOOTING);
    ev.in_s = in_s;
    nb__agent_emit(a, &ev);
}

bool nb__agent_build_countdown(struct nb_agent *a, struct nb_agent_action *out)
{
    uint64_t now = nb__agent_now_ms(a);
    if (a->phase != NB_AGENT_PHASE_REBOOTING) {
        a->phase = NB_AGENT_PHASE_REBOOTING;
        a->reboot_at_ms = now + (uint64_t)a->cfg.reboot_delay_s * 1000;
        countdown_event(a, a->cfg.reboot_delay_s);
    }
    if (a->go || now >= a->reboot_at_ms) {
        a->state = NB__S_REBOOT;
        return false;
    }
    memset(out, 0, sizeof *out);
    out->what = NB_AGENT_WAIT;
    out->until_ms = a->reboot_at_ms;
    return true;
}

/* ---- commands -------------------------------------------------------------- */

static bool holding(const struct nb_agent *a)
{
    return a->state == NB__S_HOLD;
}

static enum nb_err cmd_install_now(struct nb_agent *a, struct nb_diag *diag)
{
    if (holding(a) || a->state == NB__S_COUNTDOWN) {
        a->go = true;
        return NB_OK;
    }
    if (a->phase == NB_AGENT_PHASE_DOWNLOADING) {
        a->approved = true; /* installs as soon as the download is complete */
        return NB_OK;
    }
    return nb_diag_set(diag, NB_EINVAL, "no update is waiting to be installed (the agent is %s)",
                       phase_names[a->phase]);
}

static enum nb_err cmd_schedule(struct nb_agent *a, int64_t at_s, struct nb_diag *diag)
{
    if (!holding(a))
        return nb_diag_set(diag, NB_EINVAL,
                           "no update is waiting: nothing to schedule (the "
                           "agent is %s)",
                           phase_names[a->phase]);
    a->sched_at_s = at_s > 0 ? at_s : 1;
    a->go = false;
    return NB_OK;
}

static enum nb_err cmd_postpone(struct nb_agent *a, uint32_t seconds, struct nb_diag *diag)
{
    int64_t now_s = 0;
    if (seconds == 0)
        return nb_diag_set(diag, NB_EINVAL, "postpone by how long? (seconds > 0)");
    if (a->state == NB__S_COUNTDOWN) {
        a->reboot_at_ms = nb__agent_now_ms(a) + (uint64_t)seconds * 1000;
        a->go = false;
        countdown_event(a, seconds);
        return NB_OK;
    }
    if (holding(a) && a->env.clock.ops->unix_s(a->env.clock.ctx, &now_s) != NB_OK)
        return nb_diag_set(diag, NB_EUNSUPPORTED,
                           "the device does not know the time of day: use install-now later");
    return cmd_schedule(a, now_s + seconds, diag);
}

static enum nb_err cmd_retry(struct nb_agent *a, struct nb_diag *diag)
{
    if (a->state != NB__S_WAIT)
        return nb_diag_set(diag, NB_EINVAL, "nothing to retry: the agent is %s (%s)",
                           phase_names[a->phase], nb_agent_state_name(a));
    a->wake_ms = nb__agent_now_ms(a);
    a->failures = 0;
    a->declined_dep = -1;
    return NB_OK;
}

static enum nb_err cmd_cancel(struct nb_agent *a, struct nb_diag *diag)
{
    if (a->state == NB__S_COUNTDOWN)
        return nb_diag_set(diag, NB_EINVAL,
                           "the update is installed and starts at the next restart: postpone "
                           "the reboot instead");
    if (!holding(a) && a->phase != NB_AGENT_PHASE_DOWNLOADING)
        return nb_diag_set(diag, NB_EINVAL, "no update to cancel (the agent is %s)",
                           phase_names[a->phase]);
    a->cancel = true;
    if (a->state == NB__S_WAIT)
        a->wake_ms = nb__agent_now_ms(a); /* a back-off in the download: stop it now */
    return NB_OK;
}

enum nb_err nb_agent_command(struct nb_agent *a, const struct nb_agent_command *c,
                             struct nb_diag *diag)
{
    if (a->awaiting)
        return nb_diag_set(diag, NB_EBUSY, "the agent is waiting for an answer: try again");
    if (a->state == NB__S_DONE || a->state == NB__S_REBOOT)
        return nb_diag_set(diag, NB_EINVAL, "the agent is stopping");
    switch (c->kind) {
    case NB_AGENT_CMD_INSTALL_NOW:
        return cmd_install_now(a, diag);
    case NB_AGENT_CMD_SCHEDULE_AT:
        return cmd_schedule(a, c->at_s, diag);
    case NB_AGENT_CMD_POSTPONE:
        return cmd_postpone(a, c->seconds, diag);
    case NB_AGENT_CMD_RETRY:
        return cmd_retry(a, diag);
    case NB_AGENT_CMD_CANCEL:
        return cmd_cancel(a, diag);
    }
    return nb_diag_set(diag, NB_EINVAL, "unknown command");
}

void nb_agent_status(const struct nb_agent *a, struct nb_agent_status *out)
{
    memset(out, 0, sizeof *out);
    out->phase = (enum nb_agent_phase)a->phase;
    out->phase_name = phase_names[a->phase];
    out->policy_name = nb_agent_policy_name(a->cfg.policy);
    if (a->phase != NB_AGENT_PHASE_IDLE)
        (void)snprintf(out->version, sizeof out->version, "%s", a->instr.version);
    if (a->installing)
        nb_install_progress(&a->install, &out->done, &out->total);
    out->at_s = a->phase == NB_AGENT_PHASE_SCHEDULED ? a->announced_at : 0;
    out->last_error = a->last_error;
}
