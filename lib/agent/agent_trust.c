/* The agent core's root walk and endpoints (agent.h "Endpoints"): a
 * check-in that names a newer root_version makes the core fetch each next
 * root (GET /api/v1/device/roots/N, one at a time, each answer capped at
 * what the trust store holds) and move the trust store forward with
 * nb_trust_advance, which stores the root before the core uses it. The
 * endpoints the core talks to come from the configured server and the
 * trusted root's signed list, never from an answer: a server that does not
 * answer, or whose signed data does not verify, is left for the next one. */
#include "agent_internal.h"

#include <nobrick/boot.h>
#include <nobrick/trust.h>

#include <stdio.h>
#include <string.h>

#define FAILOVER_AFTER 2 /* failed requests in a row before the next endpoint */
#define FALLBACK_POLLS 8 /* polls on a later endpoint before the first is tried again */

/* Two URLs naming the same endpoint (a trailing '/' aside). */
static bool same_url(const char *x, const char *y)
{
    size_t nx = strlen(x), ny = strlen(y);
    while (nx > 0 && x[nx - 1] == '/')
        nx--;
    while (ny > 0 && y[ny - 1] == '/')
        ny--;
    return nx == ny && memcmp(x, y, nx) == 0;
}

/* The configured server is tried while the root is the factory's (v1) or
 * lists it: a rotation that drops it moves the device for good. */
static bool server_candidate(const struct nb_agent *a)
{
    const struct nb_root *r = a->env.dev.root;
    if (!a->cfg.failover)
        return true;
    if (a->cfg.server == NULL || a->cfg.server[0] == '\0')
        return false;
    if (r == NULL || r->version == 1)
        return true;
    for (size_t i = 0; i < r->n_endpoints; i++)
        if (same_url(r->endpoints[i], a->cfg.server))
            return true;
    return false;
}

/* Candidate i and the count; *is_server when i is the configured server
 * (sent to the driver's own base URL). */
static const char *candidate(const struct nb_agent *a, uint32_t i, uint32_t *count, bool *is_server)
{
    const struct nb_root *r = a->env.dev.root;
    const char *hit = NULL;
    uint32_t n = 0;
    bool srv = server_candidate(a);
    if (srv && i == n++)
        hit = a->cfg.server != NULL ? a->cfg.server : "";
    for (size_t k = 0; a->cfg.failover && r != NULL && k < r->n_endpoints; k++) {
        if (srv && a->cfg.server != NULL && same_url(r->endpoints[k], a->cfg.server))
            continue;
        if (i == n++)
            hit = r->endpoints[k];
    }
    if (count != NULL)
        *count = n;
    if (is_server != NULL)
        *is_server = srv && i == 0;
    return hit;
}

const char *nb_agent_endpoint(const struct nb_agent *a, uint32_t i, uint32_t *count)
{
    return candidate(a, i, count, NULL);
}

void nb__agent_route(struct nb_agent *a, struct nb_agent_request *q)
{
    bool is_server = false;
    const char *url = candidate(a, a->endpoint, NULL, &is_server);
    if (url == NULL || is_server || q->path[0] != '/')
        return;
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--; /* paths start with '/' */
    int k = snprintf(a->abs_url, sizeof a->abs_url, "%.*s%s", (int)n, url, q->path);
    if (k > 0 && (size_t)k < sizeof a->abs_url)
        q->path = a->abs_url;
}

static const char *endpoint_name(const struct nb_agent *a, uint32_t i)
{
    const char *url = candidate(a, i, NULL, NULL);
    return url != NULL && url[0] != '\0' ? url : "the server";
}

/* Moves to endpoint i (from `was`): a new server, so a new login (and
 * enrolment); the update in hand, if any, is dropped (its frames in the
 * slot are kept). */
static void switch_from(struct nb_agent *a, const char *was, uint32_t i, const char *why)
{
    nb__agent_log(a, "endpoint %s: %s; next: %s", was, why, endpoint_name(a, i));
    a->endpoint = i;
    a->endpoint_polls = 0;
    a->token[0] = '\0';
    a->enrolled = false;
    if (a->installing)
        nb_install_fini(&a->install);
    a->installing = false;
    nb__agent_phase_reset(a);
}

static void switch_to(struct nb_agent *a, uint32_t i, const char *why)
{
    switch_from(a, endpoint_name(a, a->endpoint), i, why);
}

bool nb__agent_distrust_endpoint(struct nb_agent *a, enum nb_err err, const char *why)
{
    uint32_t n = 0;
    (void)candidate(a, 0, &n, NULL);
    if (!a->cfg.failover || n < 2)
        return false;
    (void)snprintf(a->last_result, sizeof a->last_result, "%s: %s", nb_errname(err), why);
    nb__agent_failed(a, NULL, err, why, 0);
    char what[96];
    (void)snprintf(what, sizeof what, "its signed data does not verify (%s)", nb_errname(err));
    switch_to(a, (a->endpoint + 1) % n, what);
    struct nb_agent_response f = {.err = err};
    nb__agent_retry(a, &f, NB__S_ENROL); /* the back-off, so two strangers cannot spin us */
    return true;
}

bool nb__agent_endpoint_failed(struct nb_agent *a, const struct nb_agent_response *r, int state)
{
    uint32_t n = 0;
    (void)candidate(a, 0, &n, NULL);
    bool down = r->err == NB_EIO || r->err == NB_ETIMEOUT ||
                (r->err == NB_OK && r->status >= 500 && r->status != 503);
    /* An update in hand (its download, its reports) stays with the server
     * that gave it: that server is retried, as before. */
    bool finding = state == NB__S_ENROL || state == NB__S_CHALLENGE || state == NB__S_TOKEN ||
                   state == NB__S_CHECKIN || state == NB__S_ROOT;
    if (!a->cfg.failover || n < 2 || !down || !finding || a->failures % FAILOVER_AFTER != 0)
        return false;
    char what[64];
    (void)snprintf(what, sizeof what, "%u failed requests in a row", a->failures);
    switch_to(a, (a->endpoint + 1) % n, what);
    return true;
}

void nb__agent_endpoint_poll(struct nb_agent *a)
{
    if (a->endpoint == 0 || ++a->endpoint_polls < FALLBACK_POLLS)
        return;
    switch_to(a, 0, "a fallback: trying the first endpoint again");
    if (a->state == NB__S_WAIT)
        a->after = NB__S_ENROL;
}

/* ---- the root walk ------------------------------------------------------------ */

bool nb__agent_root_behind(struct nb_agent *a, uint64_t root_version, bool had_instruction)
{
    const struct nb_root *r = a->env.root;
    if (a->env.trust == NULL || r == NULL || root_version <= r->version || root_version > INT32_MAX)
        return false;
    nb__agent_log(a, "check-in: the server's root is v%u, this device's v%u: walking the chain",
                  (unsigned)root_version, (unsigned)r->version);
    a->root_target = (uint32_t)root_version;
    a->root_steps = 0;
    a->root_recheck = had_instruction;
    a->state = NB__S_ROOT;
    return true;
}

bool nb__agent_build_root(struct nb_agent *a, struct nb_agent_action *out)
{
    (void)snprintf(a->path, sizeof a->path, "/api/v1/device/roots/%u",
                   (unsigned)a->env.root->version + 1);
    nb__agent_request(out, "GET", a->path, NULL, NULL, 0, NB_TRUST_ROOT_MAX);
    return true;
}

/* A root that does not chain: the trust store is unchanged. */
static void root_refused(struct nb_agent *a, enum nb_err err, const struct nb_diag *why)
{
    char msg[200]; /* with the code's name, it fits last_result */
    (void)snprintf(msg, sizeof msg, "root v%u refused: %.160s", (unsigned)a->env.root->version + 1,
                   why->msg[0] ? why->msg : nb_strerror(err));
    nb__agent_log(a, "%s (%s); the device stays at root v%u", msg, nb_errname(err),
                  (unsigned)a->env.root->version);
    if (err == NB_EIO || err == NB_EPOWER) { /* the trust store's flash */
        nb__agent_done(a, err);
        return;
    }
    /* A root that verifies but would not boot this device is no fault of
     * the endpoint: every endpoint serves the same chain. */
    if (err != NB_EUNBOOTABLE && nb__agent_distrust_endpoint(a, err, msg))
        return;
    (void)snprintf(a->last_result, sizeof a->last_result, "%s: %s", nb_errname(err), msg);
    nb__agent_failed(a, NULL, err, msg, 0);
    nb__agent_finish_cycle(a, err);
}

/* The bootloader verifies every boot against the newest stored root
 * (docs/bootloader.md): a slot that boots now must still verify under next,
 * or storing next leaves the device nothing to boot after a power cut. A
 * slot that does not verify under the current root either (an older release
 * below the security counter, a bad slot) boots neither way and is not
 * asked of next. Gold, read-only and the last resort, is not asked either:
 * its factory key would otherwise pin the fleet's keys forever. The image
 * hash is not read: it does not depend on the root. */
static bool fatal(enum nb_err err)
{
    return err == NB_EIO || err == NB_EPOWER || err == NB_ENOMEM || err == NB_ECRYPTO ||
           err == NB_EINVAL;
}

/* Slot id against next, when it verifies under the trusted root. */
static enum nb_err slot_survives(struct nb_agent *a, const struct nb_boot_device *dev,
                                 const struct nb_bootctl *rec, enum nb_bootctl_slot_id id,
                                 const struct nb_root *next, struct nb_diag *diag)
{
    struct nb_boot_bufs bufs = {.scratch = a->env.scratch,
                                .scratch_len = a->env.scratch_len,
                                .envelope = a->env.envelope,
                                .envelope_cap = a->env.envelope_cap};
    struct nb_diag why = {{0}};
    struct nb_release rel = {0};
    enum nb_err err = nb_boot_check_slot(dev, &bufs, a->env.root, rec, id, &rel, &why);
    if (err != NB_OK)
        return fatal(err) ? nb_diag_set(diag, err, "slot %s: %s", nb_slot_name(id), why.msg)
                          : NB_OK; /* not bootable now: nothing to keep */
    err = nb_boot_check_slot(dev, &bufs, next, rec, id, NULL, &why);
    if (err == NB_OK || fatal(err))
        return err == NB_OK ? NB_OK
                            : nb_diag_set(diag, err, "slot %s: %s", nb_slot_name(id), why.msg);
    if (err == NB_ESIG || err == NB_ETHRESHOLD)
        return nb_diag_set(diag, NB_EUNBOOTABLE,
                           "it drops the release key that signed the image this device runs "
                           "(%s, slot %s): storing it would leave the device unbootable",
                           rel.version, nb_slot_name(id));
    return nb_diag_set(diag, NB_EUNBOOTABLE,
                       "the image this device runs (%s, slot %s) does not verify under it (%s): "
                       "storing it would leave the device unbootable",
                       rel.version, nb_slot_name(id), nb_errname(err));
}

static enum nb_err keeps_bootable(struct nb_agent *a, const struct nb_root *next,
                                  struct nb_diag *diag)
{
    const struct nb_install_device *d = &a->env.dev;
    struct nb_boot_device dev = {.flash = d->flash, .layout = d->layout};
    struct nb_bootctl rec;
    enum nb_bootctl_slot_id ids[NB_BOOTCTL_SLOTS];
    enum nb_err err = nb_boot_control_load(&d->bootctl, &rec, diag);
    if (err != NB_OK) /* no record: nothing boots under either root */
        return fatal(err) ? err : NB_OK;
    size_t n = nb_boot_candidates(&rec, ids);
    for (size_t i = 0; i < n && err == NB_OK; i++)
        if (ids[i] != NB_BOOTCTL_GOLD)
            err = slot_survives(a, &dev, &rec, ids[i], next, diag);
    return err;
}

/* One step of the walk: next must chain from the trusted root and keep the
 * device bootable before nb_trust_advance stores it. */
static enum nb_err advance(struct nb_agent *a, const struct nb_agent_response *r,
                           struct nb_diag *diag)
{
    struct nb_root next;
    if (r->body_len <= nb_dualrec_capacity(a->env.trust)) { /* else advance says E_LENGTH */
        enum nb_err err = nb_root_step(a->env.root, r->body, r->body_len, a->env.scratch,
                                       a->env.scratch_len, &next, diag);
        if (err == NB_OK)
            err = keeps_bootable(a, &next, diag);
        if (err != NB_OK)
            return err;
    }
    return nb_trust_advance(a->env.trust, a->env.root, r->body, r->body_len, a->env.scratch,
                            a->env.scratch_len, diag);
}

/* The endpoint in use is no longer listed by the new root: the root's
 * first endpoint from now on (the walk goes on there). */
static void rebase(struct nb_agent *a, const char *was)
{
    uint32_t n = 0;
    (void)candidate(a, 0, &n, NULL);
    for (uint32_t i = 0; i < n; i++)
        if (same_url(endpoint_name(a, i), was)) {
            a->endpoint = i;
            return;
        }
    char why[64];
    (void)snprintf(why, sizeof why, "not listed by root v%u", (unsigned)a->env.root->version);
    switch_from(a, was, 0, why);
}

static void walk_done(struct nb_agent *a)
{
    const struct nb_root *r = a->env.root;
    struct nb_diag diag = {{0}};
    int64_t now = 0;
    if (a->env.clock.ops->unix_s(a->env.clock.ctx, &now) == NB_OK &&
        nb_root_check_expiry(r, now, &diag) != NB_OK) {
        nb__agent_log(a, "root v%u: %s (E_EXPIRED): ask the operator for a newer root",
                      (unsigned)r->version, diag.msg);
        (void)snprintf(a->last_result, sizeof a->last_result, "E_EXPIRED: %s", diag.msg);
    }
    if (r->version < a->root_target)
        nb__agent_log(a,
                      "root walk: %u roots this time (E_LENGTH), v%u of v%u; the walk goes "
                      "on at the next poll",
                      (unsigned)a->root_steps, (unsigned)r->version, (unsigned)a->root_target);
    if (a->token[0] == '\0') /* moved to another endpoint: log in there */
        a->state = NB__S_ENROL;
    else if (a->root_recheck)
        a->state = NB__S_CHECKIN; /* the instruction came with the old keys: a fresh one */
    else
        nb__agent_finish_cycle(a, NB_OK);
}

void nb__agent_on_root(struct nb_agent *a, const struct nb_agent_response *r)
{
    struct nb_diag diag = {{0}};
    char was[NB_ENDPOINT_MAX + 1];
    if (nb__agent_common_failure(a, r, NB__S_ROOT))
        return;
    (void)snprintf(was, sizeof was, "%s", endpoint_name(a, a->endpoint));
    enum nb_err err = r->status != 200 ? nb_diag_set(&diag, NB_EMISMATCH,
                                                     "the server announced v%u but answers HTTP %d",
                                                     (unsigned)a->root_target, r->status)
                                       : advance(a, r, &diag);
    if (err != NB_OK) {
        root_refused(a, err, &diag);
        return;
    }
    a->failures = 0;
    a->root_steps++;
    nb__agent_log(a, "root: now at v%u (stored), endpoints: %s%s", (unsigned)a->env.root->version,
                  a->env.root->endpoints[0], a->env.root->n_endpoints > 1 ? ", ..." : "");
    rebase(a, was);
    if (a->env.root->version < a->root_target && a->root_steps < NB_ROOT_MAX_STEPS)
        a->state = NB__S_ROOT;
    else
        walk_done(a);
}
