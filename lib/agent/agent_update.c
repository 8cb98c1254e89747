/* The agent core's install of one deployment: verify the director
 * instruction (director.h) before anything is fetched, fetch the release
 * envelope and frame table in one Range request and check them against the
 * instruction and the release role, then feed the install engine the frames
 * it still wants: a run of consecutive frames stored back to back per Range
 * request, up to cfg.fetch_max_bytes. Each frame of an answer is verified
 * against its signed hash before it is written; a lost answer re-fetches
 * the run in flight, a refused or cut frame is fetched again from itself
 * (the frames before it are kept); after a power cut the engine finds the
 * frames already in the slot, so only the envelope and table are fetched
 * again. */
#include "agent_internal.h"

#include <nobrick/frames.h>

#include <stdio.h>
#include <string.h>

#define PROGRESS_STEP 25 /* percent between downloading reports */

void nb__agent_fail_deployment(struct nb_agent *a, int64_t dep, enum nb_err err,
                               const struct nb_diag *why)
{
    const char *msg = why != NULL && why->msg[0] != '\0' ? why->msg : nb_strerror(err);
    nb__agent_log(a, "deployment %lld refused: %s (%s)", (long long)dep, msg, nb_errname(err));
    /* Signatures that do not verify against this device's root: not our
     * server (a taken-over address), or not any more; the next endpoint. */
    if ((err == NB_ESIG || err == NB_ETHRESHOLD) && nb__agent_distrust_endpoint(a, err, msg))
        return;
    nb__agent_failed(a, NULL, err, msg, 0);
    (void)snprintf(a->last_result, sizeof a->last_result, "%s: %s", nb_errname(err), msg);
    if (a->installing)
        nb_install_fini(&a->install);
    a->installing = false;
    int next = nb__agent_cycle_end(a, err);
    nb__agent_report(a, dep, "failed", 0, err, msg, next, false);
}

/* A failure of the flash itself (or a simulated power cut): nothing more
 * can be done in this power-on. */
static void flash_failed(struct nb_agent *a, enum nb_err err, const struct nb_diag *why)
{
    const char *msg = why->msg[0] != '\0' ? why->msg : nb_strerror(err);
    nb__agent_log(a, "install: the device's flash failed: %s (%s)", msg, nb_errname(err));
    nb__agent_failed(a, NULL, err, msg, 0);
    if (a->installing)
        nb_install_fini(&a->install);
    a->installing = false;
    nb__agent_done(a, err);
}

static bool is_flash_error(enum nb_err err)
{
    return err == NB_EIO || err == NB_EPOWER;
}

/* Remembers the deployment and moves the time floor forward: only signed,
 * verified issued_at values move it (SECURITY.md 17). */
static enum nb_err remember(struct nb_agent *a, int64_t dep)
{
    struct nb_journal_agent next = a->journal;
    if (a->instr.issued_at > next.time_floor)
        next.time_floor = a->instr.issued_at;
    next.deployment_id = dep;
    if (next.time_floor == a->journal.time_floor && next.deployment_id == a->journal.deployment_id)
        return NB_OK;
    return nb__agent_journal_put(a, &next);
}

void nb__agent_on_install(struct nb_agent *a, const uint8_t *instruction, size_t len,
                          int64_t deployment_id)
{
    struct nb_diag diag = {{0}};
    int64_t now = 0;
    if (deployment_id == a->declined_dep) { /* cancelled by the user: until a retry */
        nb__agent_finish_cycle(a, NB_OK);
        return;
    }
    memset(&a->instr, 0, sizeof a->instr);
    bool known = a->env.clock.ops->unix_s(a->env.clock.ctx, &now) == NB_OK;
    struct nb_director_expect e = {a->cfg.device_id, a->nonce, a->journal.time_floor, now, known};
    enum nb_err err = nb_director_verify(a->env.dev.root, instruction, len, a->env.scratch,
                                         a->env.scratch_len, &e, &a->instr, &diag);
    if (err == NB_OK && a->instr.deployment_id != deployment_id)
        err = nb_diag_set(&diag, NB_EMISMATCH,
                          "the check-in names deployment %lld, its signed instruction %lld",
                          (long long)deployment_id, (long long)a->instr.deployment_id);
    if (err == NB_OK && a->instr.bundle_size != a->bundle_size)
        err = nb_diag_set(
            &diag, NB_EMISMATCH, "the check-in gives a bundle of %llu bytes, the instruction %llu",
            (unsigned long long)a->bundle_size, (unsigned long long)a->instr.bundle_size);
    if (err != NB_OK) {
        nb__agent_fail_deployment(a, deployment_id, err, &diag);
        return;
    }
    if ((err = remember(a, deployment_id)) != NB_OK) {
        flash_failed(a, err, &diag);
        return;
    }
    nb__agent_log(a, "deployment %lld: install %s (security counter %llu)",
                  (long long)deployment_id, a->instr.version,
                  (unsigned long long)a->instr.security_counter);
    a->frame_attempts = 0;
    a->reported_pct = 0;
    nb__agent_announce(a);
}

/* The envelope and the table, one range: they are adjacent in a bundle
 * (docs/bundle-format.md); a gap is tolerated, a span past the caps is not
 * (SECURITY.md 20). */
static enum nb_err meta_span(const struct nb_agent *a, uint64_t *first, uint64_t *last)
{
    if (a->env_len == 0 || a->env_len > NB_ENVELOPE_MAX || a->table_len == 0 ||
        a->table_len > a->env.table_cap || a->table_off < a->env_off + a->env_len ||
        a->table_off - a->env_off > NB_ENVELOPE_MAX + 4096 ||
        a->table_off + a->table_len > a->bundle_size)
        return NB_ELENGTH;
    *first = a->env_off;
    *last = a->table_off + a->table_len - 1;
    return NB_OK;
}

bool nb__agent_build_meta(struct nb_agent *a, struct nb_agent_action *out)
{
    uint64_t first = 0, last = 0;
    if (nb__agent_cancelled(a) || nb__agent_need_login(a, NB__S_META))
        return false;
    if (meta_span(a, &first, &last) != NB_OK) {
        struct nb_diag d;
        nb_diag_set(&d, NB_ELENGTH,
                    "release envelope (%llu bytes) or frame table (%llu bytes) past this "
                    "device's limits",
                    (unsigned long long)a->env_len, (unsigned long long)a->table_len);
        nb__agent_fail_deployment(a, a->instr.deployment_id, NB_ELENGTH, &d);
        return false;
    }
    nb__agent_request(out, "GET", a->url, a->token, NULL, 0, (size_t)(last - first + 1));
    out->req.range = true;
    out->req.range_first = first;
    out->req.range_last = last;
    return true;
}

/* 403/404/410 on a download: the deployment was cancelled or the release
 * withdrawn since the instruction; drop it and ask again at the next poll. */
static bool gone(struct nb_agent *a, const struct nb_agent_response *r)
{
    if (r->status != 403 && r->status != 404 && r->status != 410)
        return false;
    nb__agent_log(a, "deployment %lld: the server no longer offers it (HTTP %d)",
                  (long long)a->instr.deployment_id, r->status);
    /* The user was told of it (AVAILABLE): tell them it is off. */
    struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_CANCELLED);
    ev.by_server = true;
    (void)snprintf(ev.detail, sizeof ev.detail,
                   "the server no longer offers it (HTTP %d): its deployment was cancelled or "
                   "the release withdrawn",
                   r->status);
    nb__agent_emit(a, &ev);
    if (a->installing)
        nb_install_fini(&a->install);
    a->installing = false;
    nb__agent_finish_cycle(a, NB_OK);
    return true;
}

static void progress_report(struct nb_agent *a, const char *state, int next)
{
    uint32_t done = 0, total = 0;
    nb_install_progress(&a->install, &done, &total);
    uint32_t pct = total == 0 ? 100 : (uint32_t)((uint64_t)done * 100 / total);
    a->reported_pct = pct;
    nb__agent_report(a, a->instr.deployment_id, state, pct, NB_OK, NULL, next, false);
}

/* Checks in this order: the envelope is the one the director named (before
 * it is parsed), the release role signed it, the director named its
 * version and counter (SECURITY.md 26); then the engine's own checks. */
static enum nb_err start_install(struct nb_agent *a, const uint8_t *env, const uint8_t *table,
                                 struct nb_diag *diag)
{
    struct nb_release rel;
    enum nb_err err = nb_director_check_release(&a->instr, env, a->env_len, NULL, diag);
    if (err == NB_OK)
        err = nb_release_verify(a->env.dev.root, env, a->env_len, a->env.scratch,
                                a->env.scratch_len, &rel, NULL, NULL, diag);
    if (err == NB_OK)
        err = nb_director_check_release(&a->instr, env, a->env_len, &rel, diag);
    if (err != NB_OK)
        return err;
    struct nb_install_bufs bufs = {a->env.scratch,   a->env.scratch_len, a->env.table,
                                   a->env.table_cap, a->env.window,      a->env.window_cap,
                                   a->env.codec};
    nb_install_init(&a->install, &a->env.dev, &bufs);
    a->installing = true;
    err = nb_install_begin(&a->install, env, a->env_len, diag);
    if (err == NB_OK)
        err = nb_install_table(&a->install, env, a->env_len, table, a->table_len, diag);
    return err;
}

void nb__agent_on_meta(struct nb_agent *a, const struct nb_agent_response *r)
{
    struct nb_diag diag = {{0}};
    if (nb__agent_common_failure(a, r, NB__S_META) || gone(a, r))
        return;
    uint64_t span = a->table_off + a->table_len - a->env_off;
    if (r->status != 206 || r->body_len != span) {
        struct nb_agent_response bad = *r;
        bad.err = NB_ETRUNCATED;
        nb__agent_retry(a, &bad, NB__S_META);
        return;
    }
    a->failures = 0;
    enum nb_err err = start_install(a, r->body, r->body + (a->table_off - a->env_off), &diag);
    if (err != NB_OK && is_flash_error(err)) {
        flash_failed(a, err, &diag);
        return;
    }
    if (err != NB_OK) {
        nb__agent_fail_deployment(a, a->instr.deployment_id, err, &diag);
        return;
    }
    if (a->install.resumed)
        nb__agent_log(a, "resuming the install of %s: %u of %u frames already in slot %s",
                      a->instr.version, (unsigned)a->install.frames_done,
                      (unsigned)a->install.rel.frame_count, nb_slot_name(a->install.target));
    nb__agent_progress_event(a);
    progress_report(a, "downloading", NB__S_FRAME);
}

/* A frame's stored bytes lie inside the bundle (signed lengths, unsigned
 * location: no wrap). */
static bool frame_inside(const struct nb_agent *a, const struct nb_frame_entry *e)
{
    uint64_t first = a->frames_off + e->stored_off;
    return first >= a->frames_off && e->stored_len != 0 && first <= a->bundle_size &&
           e->stored_len <= a->bundle_size - first;
}

/* The run from frame index (entry e) that one request asks for: the next
 * frames while each starts where the previous one ended and the run stays
 * within the budget. One frame when the budget is 0 or below its size. */
static void plan_run(struct nb_agent *a, uint32_t index, const struct nb_frame_entry *e)
{
    uint64_t budget =
        a->cfg.fetch_max_bytes < NB_AGENT_FETCH_MAX ? a->cfg.fetch_max_bytes : NB_AGENT_FETCH_MAX;
    uint64_t len = e->stored_len, end = e->stored_off + e->stored_len;
    uint32_t n = 1;
    for (uint32_t i = index + 1; i < a->install.rel.frame_count; i++, n++) {
        struct nb_frame_entry next;
        nb_frame_entry_get(a->env.table, i, &next);
        if (next.stored_off != end || !frame_inside(a, &next) || len + next.stored_len > budget)
            break;
        len += next.stored_len;
        end += next.stored_len;
    }
    a->batch_first = index;
    a->batch_count = n;
    a->batch_len = len;
}

bool nb__agent_build_frame(struct nb_agent *a, struct nb_agent_action *out)
{
    uint32_t index = 0;
    struct nb_frame_entry e;
    if (!a->installing) {
        nb__agent_finish_cycle(a, NB_OK);
        return false;
    }
    if (nb__agent_cancelled(a))
        return false;
    if (!nb_install_want(&a->install, &index)) {
        nb__agent_downloaded(a);
        return false;
    }
    if (nb__agent_need_login(a, NB__S_FRAME))
        return false;
    nb_frame_entry_get(a->env.table, index, &e);
    if (!frame_inside(a, &e)) {
        struct nb_diag d;
        nb_diag_set(&d, NB_ELENGTH, "frame %u lies past the end of the bundle", (unsigned)index);
        nb__agent_fail_deployment(a, a->instr.deployment_id, NB_ELENGTH, &d);
        return false;
    }
    plan_run(a, index, &e);
    uint64_t first = a->frames_off + e.stored_off;
    nb__agent_request(out, "GET", a->url, a->token, NULL, 0, (size_t)a->batch_len);
    out->req.range = true;
    out->req.range_first = first;
    out->req.range_last = first + a->batch_len - 1;
    return true;
}

/* A frame that failed its signed hash (or decryption, or came short) is
 * fetched again, up to frame_retries times: a flaky path, not an attack,
 * is the common cause. The next request starts at it. */
static void frame_refused(struct nb_agent *a, uint32_t index, enum nb_err err,
                          const struct nb_diag *diag)
{
    if (++a->frame_attempts > a->cfg.frame_retries) {
        nb__agent_fail_deployment(a, a->instr.deployment_id, err, diag);
        return;
    }
    nb__agent_log(a, "frame %u refused (%s: %s): fetching it again", (unsigned)index,
                  nb_errname(err), diag->msg);
    a->state = NB__S_FRAME;
}

/* Installs the run's frames from body, in order, each cut at its signed
 * stored length; a short body gives the first incomplete frame what is
 * left (the engine refuses it: NB_ETRUNCATED). False when a frame was
 * refused or the flash failed (the state is then set). */
static bool install_run(struct nb_agent *a, uint8_t *body, size_t body_len)
{
    struct nb_diag diag = {{0}};
    size_t off = 0;
    for (uint32_t k = 0; k < a->batch_count; k++) {
        struct nb_frame_entry e;
        uint32_t index = a->batch_first + k;
        nb_frame_entry_get(a->env.table, index, &e);
        size_t len = body_len - off < e.stored_len ? body_len - off : e.stored_len;
        enum nb_err err = nb_install_frame(&a->install, index, body + off, len, &diag);
        if (err != NB_OK) {
            if (is_flash_error(err) || a->install.phase == NB_INSTALL_FAILED)
                flash_failed(a, err, &diag);
            else
                frame_refused(a, index, err, &diag);
            return false;
        }
        off += len;
        a->frame_attempts = 0;
        nb__agent_progress_event(a);
    }
    return true;
}

void nb__agent_on_frame(struct nb_agent *a, const struct nb_agent_response *r)
{
    uint32_t index = 0;
    if (nb__agent_common_failure(a, r, NB__S_FRAME) || gone(a, r))
        return;
    /* A 200 (the whole bundle) or an answer longer than the range: not
     * what was asked; a short one is handled frame by frame. */
    if (r->status != 206 || r->body_len > a->batch_len || !nb_install_want(&a->install, &index) ||
        index != a->batch_first) {
        struct nb_agent_response bad = *r;
        bad.status = 502;
        nb__agent_retry(a, &bad, NB__S_FRAME);
        return;
    }
    a->failures = 0;
    if (!install_run(a, r->body, r->body_len))
        return;
    uint32_t done = 0, total = 0;
    nb_install_progress(&a->install, &done, &total);
    uint32_t pct = total == 0 ? 100 : (uint32_t)((uint64_t)done * 100 / total);
    if (pct < 100 && pct >= a->reported_pct + PROGRESS_STEP)
        progress_report(a, "downloading", NB__S_FRAME);
    else
        a->state = NB__S_FRAME;
}

void nb__agent_install_go(struct nb_agent *a)
{
    a->phase = NB_AGENT_PHASE_INSTALLING;
    progress_report(a, "installing", NB__S_FINISH);
}

bool nb__agent_build_finish(struct nb_agent *a, struct nb_agent_action *out)
{
    struct nb_diag diag = {{0}};
    (void)out;
    struct nb_agent_event ev = nb__agent_ev(a, NB_AGENT_EV_INSTALLING);
    nb__agent_emit(a, &ev);
    enum nb_err err = nb_install_finish(&a->install, &diag);
    if (err != NB_OK) {
        if (is_flash_error(err))
            flash_failed(a, err, &diag);
        else
            nb__agent_fail_deployment(a, a->instr.deployment_id, err, &diag);
        return false;
    }
    struct nb_journal_agent next = a->journal;
    next.owed = NB_JOURNAL_OWED_TRIAL;
    next.code = NB_OK;
    next.slot = a->install.target;
    next.deployment_id = a->instr.deployment_id;
    (void)snprintf(next.version, sizeof next.version, "%s", a->install.rel.version);
    err = nb__agent_journal_put(a, &next);
    nb_install_fini(&a->install);
    a->installing = false;
    if (err != NB_OK) {
        flash_failed(a, err, &diag);
        return false;
    }
    a->last_result[0] = '\0';
    nb__agent_log(a, "installed %s into slot %s: trial armed, rebooting", next.version,
                  nb_slot_name(next.slot));
    nb__agent_report(a, next.deployment_id, "rebooting", 100, NB_OK, NULL, NB__S_COUNTDOWN, false);
    return false;
}
