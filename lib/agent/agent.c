/* The agent core's engine (agent.h): the step/response dispatch over the
 * states of agent_internal.h, the start-up decisions after a reboot (a
 * trial to check and commit or reject, a report still owed), waits with
 * jitter and exponential back-off, and the journal's agent part. The
 * protocol lives in agent_proto.c, the install of a deployment in
 * agent_update.c. */
#include "agent_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RETRY_AFTER_MAX_S (24u * 3600) /* a server cannot park a device longer */

static const char *const state_names[NB__S_COUNT] = {
    "start-up", "wait",     "enrol", "challenge", "token",  "owed report",
    "check-in", "metadata", "frame", "finish",    "report", "health",
    "reboot",   "done",     "hold",  "countdown", "root"};

void nb_agent_init(struct nb_agent *a, const struct nb_agent_config *cfg,
                   const struct nb_agent_env *env)
{
    memset(a, 0, sizeof *a);
    a->cfg = *cfg;
    a->env = *env;
    a->state = NB__S_START;
    a->poll_after_s = cfg->poll_interval_s;
    a->poll_jitter_s = cfg->poll_jitter_s;
    a->declined_dep = -1;
}

void nb_agent_fini(struct nb_agent *a)
{
    if (a->installing)
        nb_install_fini(&a->install);
    a->installing = false;
    nb_wipe(a->token, sizeof a->token);
}

const char *nb_agent_state_name(const struct nb_agent *a)
{
    return (unsigned)a->state < NB__S_COUNT ? state_names[a->state] : "?";
}

void nb__agent_log(struct nb_agent *a, const char *fmt, ...)
{
    char line[320];
    va_list ap;
    if (a->env.log == NULL)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    a->env.log(a->env.log_ctx, line);
}

uint64_t nb__agent_now_ms(const struct nb_agent *a)
{
    uint64_t now = 0;
    if (a->env.clock.ops->now_ms(a->env.clock.ctx, &now) != NB_OK)
        return 0;
    return now;
}

/* Uniform in [0, max]; 0 when the rng fails (a wait without jitter is
 * still a wait). */
uint32_t nb__agent_random(struct nb_agent *a, uint32_t max)
{
    uint8_t b[4];
    if (max == 0 || a->env.rng.ops->fill(a->env.rng.ctx, b, sizeof b) != NB_OK)
        return 0;
    uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return (uint32_t)(v % ((uint64_t)max + 1));
}

static void wait_s(struct nb_agent *a, uint64_t seconds, int after)
{
    a->wake_ms = nb__agent_now_ms(a) + seconds * 1000;
    a->after = after;
    a->state = NB__S_WAIT;
}

void nb__agent_done(struct nb_agent *a, enum nb_err result)
{
    a->result = result;
    a->state = NB__S_DONE;
}

/* A failed request: again after Retry-After, or after min * 2^(n-1)
 * seconds plus up to half of it at random (so a fleet that lost its server
 * does not come back in step), never more than backoff_max_s. */
void nb__agent_retry(struct nb_agent *a, const struct nb_agent_response *r, int state)
{
    enum nb_err why = r->err != NB_OK                        ? r->err
                      : r->status == 429 || r->status == 503 ? NB_EBUSY
                                                             : NB_EIO;
    a->failures++;
    if (a->cfg.max_failures != 0 && a->failures >= a->cfg.max_failures) {
        nb__agent_log(a, "%s: giving up after %u failed attempts (%s)", state_names[state],
                      a->failures, nb_errname(why));
        if (a->phase != NB_AGENT_PHASE_IDLE)
            nb__agent_failed(a, NULL, why, "the server could not be reached", 0);
        nb__agent_done(a, why);
        return;
    }
    uint64_t delay = a->cfg.backoff_min_s;
    for (uint32_t i = 1; i < a->failures && delay < a->cfg.backoff_max_s; i++)
        delay *= 2;
    delay += nb__agent_random(a, (uint32_t)(delay / 2));
    if (delay > a->cfg.backoff_max_s)
        delay = a->cfg.backoff_max_s;
    if (r->retry_after_s != 0)
        delay = r->retry_after_s < RETRY_AFTER_MAX_S ? r->retry_after_s : RETRY_AFTER_MAX_S;
    char what[64];
    if (r->err != NB_OK)
        (void)snprintf(what, sizeof what, "%s", nb_strerror(r->err));
    else
        (void)snprintf(what, sizeof what, "server answered %d", r->status);
    nb__agent_log(a, "%s: %s; retrying in %llu s", state_names[state], what,
                  (unsigned long long)delay);
    if (a->phase != NB_AGENT_PHASE_IDLE) /* the UI waits on this update: say why it stalls */
        nb__agent_failed(a, NULL, why, what, (uint32_t)delay);
    if (nb__agent_endpoint_failed(a, r, state))
        state = NB__S_ENROL; /* another server: log in there */
    wait_s(a, delay, state);
}

void nb__agent_poll_wait(struct nb_agent *a)
{
    wait_s(a, (uint64_t)a->poll_after_s + nb__agent_random(a, a->poll_jitter_s), NB__S_CHECKIN);
}

/* The end of one cycle: DONE in once mode, else the next poll. */
void nb__agent_finish_cycle(struct nb_agent *a, enum nb_err result)
{
    nb__agent_phase_reset(a);
    if (a->cfg.once) {
        nb__agent_done(a, result);
        return;
    }
    nb__agent_poll_wait(a);
    nb__agent_endpoint_poll(a);
}

int nb__agent_cycle_end(struct nb_agent *a, enum nb_err result)
{
    nb__agent_finish_cycle(a, result);
    return a->state;
}

enum nb_err nb__agent_journal_put(struct nb_agent *a, const struct nb_journal_agent *next)
{
    struct nb_journal j;
    enum nb_err err = nb_journal_load(a->env.dev.journal, &j, NULL);
    if (err != NB_OK)
        return err;
    j.agent = *next;
    err = nb_journal_store(a->env.dev.journal, &j);
    if (err == NB_OK)
        a->journal = *next;
    return err;
}

void nb__agent_request(struct nb_agent_action *out, const char *method, const char *path,
                       const char *bearer, const char *body, size_t body_len, size_t max_body)
{
    memset(out, 0, sizeof *out);
    out->what = NB_AGENT_HTTP;
    out->req.method = method;
    out->req.path = path;
    out->req.bearer = bearer;
    out->req.body = body;
    out->req.body_len = body_len;
    out->req.max_body = max_body;
}

/* After a reboot with a trial armed by this agent (journal: owed TRIAL). */
static enum nb_err trial_decision(struct nb_agent *a, const struct nb_bootctl *bc)
{
    struct nb_journal_agent next = a->journal;
    const struct nb_bootctl_slot *s = &bc->slot[a->journal.slot];
    bool running = a->cfg.running_known && a->cfg.running == a->journal.slot;
    if (running && s->state == NB_BOOTCTL_TRIAL) {
        a->state = NB__S_HEALTH;
        return NB_OK;
    }
    if (!running && s->state == NB_BOOTCTL_TRIAL && s->tries_left > 0) {
        nb__agent_log(a, "slot %s holds %s on trial: rebooting into it",
                      nb_slot_name(a->journal.slot), s->version);
        a->state = NB__S_REBOOT;
        return NB_OK;
    }
    if (s->state == NB_BOOTCTL_GOOD) {
        next.owed = NB_JOURNAL_OWED_COMMITTED;
        nb__agent_succeeded(a, a->journal.version);
    } else {
        /* Rejected by us (a cut before the journal said so), or the
         * bootloader fell back: tries exhausted or the image refused. */
        next.owed = NB_JOURNAL_OWED_ROLLED_BACK;
        next.code = s->state == NB_BOOTCTL_BAD && running ? NB_EHEALTH : NB_EBOOT_VERIFY;
        nb__agent_log(a, "trial of %s did not stay: the device went back (%s)", a->journal.version,
                      nb_errname(next.code));
        nb__agent_failed(a, a->journal.version, next.code,
                         next.code == NB_EHEALTH ? "rejected by its health checks"
                                                 : "the bootloader went back to the previous image",
                         0);
    }
    enum nb_err err = nb__agent_journal_put(a, &next);
    a->state = running && s->state == NB_BOOTCTL_BAD ? NB__S_REBOOT : NB__S_ENROL;
    return err;
}

/* Running a trial the journal does not know of: armed by an install whose
 * last journal write a power cut stopped (or by the offline `install`).
 * It is checked and committed or rejected like our own, never reported as
 * running before that. */
static enum nb_err adopt_trial(struct nb_agent *a, const struct nb_bootctl *bc)
{
    if (!a->cfg.running_known || a->journal.owed == NB_JOURNAL_OWED_TRIAL ||
        bc->slot[a->cfg.running].state != NB_BOOTCTL_TRIAL)
        return NB_OK;
    struct nb_journal_agent next = a->journal;
    next.owed = NB_JOURNAL_OWED_TRIAL;
    next.slot = a->cfg.running;
    next.code = NB_OK;
    (void)snprintf(next.version, sizeof next.version, "%s", bc->slot[a->cfg.running].version);
    return nb__agent_journal_put(a, &next);
}

static bool build_start(struct nb_agent *a, struct nb_agent_action *out)
{
    struct nb_journal j;
    struct nb_bootctl bc;
    (void)out;
    enum nb_err err = nb_journal_load(a->env.dev.journal, &j, NULL);
    if (err == NB_OK)
        err = nb_boot_control_load(&a->env.dev.bootctl, &bc, NULL);
    if (err == NB_OK) {
        a->journal = j.agent;
        a->state = NB__S_ENROL;
        err = adopt_trial(a, &bc);
    }
    if (err == NB_OK && a->journal.owed == NB_JOURNAL_OWED_TRIAL)
        err = trial_decision(a, &bc);
    if (err != NB_OK) {
        nb__agent_log(a, "start-up: cannot read the device state (%s)", nb_errname(err));
        nb__agent_done(a, err);
    }
    return false;
}

static bool build_wait(struct nb_agent *a, struct nb_agent_action *out)
{
    if (nb__agent_now_ms(a) >= a->wake_ms) {
        a->state = a->after;
        return false;
    }
    memset(out, 0, sizeof *out);
    out->what = NB_AGENT_WAIT;
    out->until_ms = a->wake_ms;
    return true;
}

static bool build_owed(struct nb_agent *a, struct nb_agent_action *out)
{
    (void)out;
    const struct nb_journal_agent *j = &a->journal;
    if (j->owed != NB_JOURNAL_OWED_COMMITTED && j->owed != NB_JOURNAL_OWED_ROLLED_BACK) {
        a->state = NB__S_CHECKIN;
        return false;
    }
    bool committed = j->owed == NB_JOURNAL_OWED_COMMITTED;
    char msg[128];
    (void)snprintf(msg, sizeof msg, "%s %s", committed ? "committed" : "rolled back from",
                   j->version);
    nb__agent_report(a, j->deployment_id, committed ? "committed" : "rolled_back", 100,
                     committed ? NB_OK : j->code, msg, NB__S_OWED, true);
    return false;
}

static bool build_emit(struct nb_agent *a, struct nb_agent_action *out, enum nb_agent_do what)
{
    memset(out, 0, sizeof *out);
    out->what = what;
    out->result = a->result;
    a->awaiting = what == NB_AGENT_HEALTH;
    if (what == NB_AGENT_REBOOT)
        nb__agent_done(a, NB_OK);
    return true;
}

static bool build_health(struct nb_agent *a, struct nb_agent_action *out)
{
    return build_emit(a, out, NB_AGENT_HEALTH);
}

static bool build_reboot(struct nb_agent *a, struct nb_agent_action *out)
{
    return build_emit(a, out, NB_AGENT_REBOOT);
}

static bool build_done(struct nb_agent *a, struct nb_agent_action *out)
{
    return build_emit(a, out, NB_AGENT_DONE);
}

typedef bool (*build_fn)(struct nb_agent *a, struct nb_agent_action *out);
static const build_fn builders[NB__S_COUNT] = {build_start,
                                               build_wait,
                                               nb__agent_build_enrol,
                                               nb__agent_build_challenge,
                                               nb__agent_build_token,
                                               build_owed,
                                               nb__agent_build_checkin,
                                               nb__agent_build_meta,
                                               nb__agent_build_frame,
                                               nb__agent_build_finish,
                                               nb__agent_build_report,
                                               build_health,
                                               build_reboot,
                                               build_done,
                                               nb__agent_build_hold,
                                               nb__agent_build_countdown,
                                               nb__agent_build_root};

typedef void (*answer_fn)(struct nb_agent *a, const struct nb_agent_response *r);
static const answer_fn answers[NB__S_COUNT] = {
    [NB__S_ENROL] = nb__agent_on_enrol,   [NB__S_CHALLENGE] = nb__agent_on_challenge,
    [NB__S_TOKEN] = nb__agent_on_token,   [NB__S_CHECKIN] = nb__agent_on_checkin,
    [NB__S_META] = nb__agent_on_meta,     [NB__S_FRAME] = nb__agent_on_frame,
    [NB__S_REPORT] = nb__agent_on_report, [NB__S_ROOT] = nb__agent_on_root,
};

enum nb_err nb_agent_step(struct nb_agent *a, struct nb_agent_action *out)
{
    if (a->awaiting)
        return NB_EINVAL;
    /* Each builder either emits an action or moves on; a cycle of moves
     * without an action would be a bug, so the loop is bounded. */
    for (int guard = 0; guard < 32; guard++) {
        int s = a->state;
        if (builders[s](a, out)) {
            a->awaiting = a->awaiting || out->what == NB_AGENT_HTTP;
            if (out->what == NB_AGENT_HTTP)
                nb__agent_route(a, &out->req);
            return NB_OK;
        }
    }
    nb__agent_log(a, "internal error: no action from state %s", nb_agent_state_name(a));
    nb__agent_done(a, NB_EINVAL);
    return build_done(a, out) ? NB_OK : NB_EINVAL;
}

void nb_agent_on_response(struct nb_agent *a, const struct nb_agent_response *r)
{
    if (!a->awaiting || answers[a->state] == NULL)
        return;
    a->awaiting = false;
    answers[a->state](a, r);
}

void nb_agent_on_health(struct nb_agent *a, bool ok, const char *why)
{
    struct nb_bootctl bc;
    if (!a->awaiting || a->state != NB__S_HEALTH)
        return;
    a->awaiting = false;
    struct nb_journal_agent next = a->journal;
    enum nb_bootctl_slot_id id = a->journal.slot;
    enum nb_err err = nb_boot_control_load(&a->env.dev.bootctl, &bc, NULL);
    if (err == NB_OK)
        err = ok ? nb_bootctl_mark_good(&bc, id) : nb_bootctl_mark_bad(&bc, id);
    if (err == NB_OK)
        err = nb_boot_control_store(&a->env.dev.bootctl, &bc);
    next.owed = ok ? NB_JOURNAL_OWED_COMMITTED : NB_JOURNAL_OWED_ROLLED_BACK;
    next.code = ok ? NB_OK : NB_EHEALTH;
    if (err == NB_OK)
        err = nb__agent_journal_put(a, &next);
    if (err != NB_OK) {
        nb__agent_log(a, "health: recording the decision failed (%s)", nb_errname(err));
        nb__agent_done(a, err);
        return;
    }
    if (ok) {
        nb__agent_log(a, "health checks passed: committed %s in slot %s", a->journal.version,
                      nb_slot_name(id));
        nb__agent_succeeded(a, a->journal.version);
        a->state = NB__S_ENROL;
    } else {
        nb__agent_log(a, "health check failed (%s): rejected %s in slot %s, rebooting",
                      why != NULL ? why : "no detail", a->journal.version, nb_slot_name(id));
        (void)snprintf(a->last_result, sizeof a->last_result, "E_HEALTH: %s",
                       why != NULL ? why : "health check failed");
        nb__agent_failed(a, a->journal.version, NB_EHEALTH, why, 0);
        a->state = NB__S_REBOOT;
    }
}
