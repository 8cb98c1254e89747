/* The device API, /api/v1/device/: enrolment, challenge-response
 * authentication (short-lived bearer tokens), check-in with the
 * director-signed instruction, status reports (idempotent by report id)
 * and bundle downloads by Range. Every handler parses, calls the store,
 * renders; bad input changes nothing. */
#include "api.h"
#include "assignment.h"
#include "body.h"
#include "director.h"
#include "download.h"
#include "log.h"
#include "metrics.h"
#include "rollout_control.h"
#include "rollout_device.h"

#include <nobrick/alloc.h>
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

static struct store_audit device_audit(const char *action, const char *id)
{
    struct store_audit au;
    memset(&au, 0, sizeof au);
    au.at = srv_now();
    (void)snprintf(au.actor, sizeof au.actor, "device:%.16s", id);
    (void)snprintf(au.action, sizeof au.action, "%s", action);
    (void)snprintf(au.object, sizeof au.object, "device:%.16s", id);
    return au;
}

static void render_device_state(struct http_req *req, unsigned status, const char *id,
                                enum store_device_state st)
{
    http_reply_json(req, status,
                    json_pack("{s:s, s:s}", "device_id", id, "state", store_device_state_name(st)));
}

/* A known public key: preauthorised -> active (the hardware class must be
 * the one the operator gave), otherwise the state as it is. */
static void enrol_known(struct srv *srv, struct http_req *req, const struct store_device *d,
                        const char *hw_class)
{
    if (strcmp(d->hw_class, hw_class) != 0) {
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_INCOMPAT", "hw_class",
                         "this device is registered as hardware class '%s'", d->hw_class);
        return;
    }
    if (d->state != STORE_DEVICE_PREAUTHORIZED) {
        render_device_state(req, MHD_HTTP_OK, d->id, d->state);
        return;
    }
    struct store_audit au = device_audit("device.enrol", d->id);
    enum nb_err err = srv->store.ops->device_set_state(
        &srv->store, d->id, STORE_DEVICE_PREAUTHORIZED, STORE_DEVICE_ACTIVE, &au);
    if (err != NB_OK)
        http_reply_store_error(req, err, "device");
    else
        render_device_state(req, MHD_HTTP_OK, d->id, STORE_DEVICE_ACTIVE);
}

/* The body of an enrolment, signed by the key it enrols. */
static bool parse_enrol(struct http_req *req, char *pub_hex, char *hw, uint8_t *pub)
{
    static const char *const fields[] = {"public_key", "hw_class", "signature", NULL};
    char sig[2 * NB_ED25519_SIG_LEN + 1];
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_hex(req, o, "public_key", NB_ED25519_PUB_LEN, pub_hex) &&
              body_name(req, o, "hw_class", true, hw) &&
              body_hex(req, o, "signature", NB_ED25519_SIG_LEN, sig);
    json_decref(o);
    if (!ok)
        return false;
    if (nb_hex_decode(pub_hex, strlen(pub_hex), pub, NB_ED25519_PUB_LEN) != NB_OK ||
        nb_ed25519_pub_is_weak(pub)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "public_key",
                         "not a usable Ed25519 public key");
        return false;
    }
    if (auth_verify_enrol(pub_hex, hw, sig) != NB_OK) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_SIG", "signature",
                         "not signed by the key being enrolled");
        return false;
    }
    return true;
}

static void enrol(struct srv *srv, struct http_req *req)
{
    char pub_hex[2 * NB_ED25519_PUB_LEN + 1], hw[STORE_NAME_MAX + 1];
    uint8_t pub[NB_ED25519_PUB_LEN];
    if (!parse_enrol(req, pub_hex, hw, pub))
        return;
    struct store_device d;
    memset(&d, 0, sizeof d);
    if (nb_keyid(pub, d.id) != NB_OK) {
        http_reply_store_error(req, NB_ECRYPTO, "key id");
        return;
    }
    struct store_device known;
    enum nb_err err = srv->store.ops->device_get(&srv->store, d.id, &known);
    if (err == NB_OK) {
        enrol_known(srv, req, &known, hw);
        return;
    }
    memcpy(d.pubkey, pub_hex, sizeof d.pubkey);
    memcpy(d.hw_class, hw, sizeof d.hw_class);
    d.state = STORE_DEVICE_PENDING;
    d.created_at = srv_now();
    struct store_audit au = device_audit("device.enrol", d.id);
    err = err == NB_ENOENT ? srv->store.ops->device_add(&srv->store, &d, &au) : err;
    if (err != NB_OK)
        http_reply_store_error(req, err, "device");
    else
        render_device_state(req, MHD_HTTP_CREATED, d.id, d.state);
}

/* ---- authentication ------------------------------------------------------------------ */

static void challenge(struct srv *srv, struct http_req *req)
{
    static const char *const fields[] = {"device_id", NULL};
    char id[STORE_ID_MAX + 1], ch[AUTH_CHALLENGE_HEX + 1];
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_hex(req, o, "device_id", STORE_ID_MAX / 2, id);
    json_decref(o);
    if (!ok)
        return;
    struct store_device d;
    int64_t now = srv_now();
    enum nb_err err = srv->store.ops->device_get(&srv->store, id, &d);
    if (err == NB_OK && d.state == STORE_DEVICE_DECOMMISSIONED)
        err = NB_ENOENT;
    if (err == NB_OK)
        err = auth_new_challenge(ch);
    if (err == NB_OK)
        err = srv->store.ops->challenge_put(&srv->store, id, ch, now + srv->cfg.challenge_ttl_s);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "device");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK,
                    json_pack("{s:s, s:s, s:i}", "challenge", ch, "payload_type", AUTH_PAYLOAD_TYPE,
                              "expires_in", (json_int_t)srv->cfg.challenge_ttl_s));
}

static void refuse_auth(struct http_req *req, const char *field, const char *msg)
{
    srv_metric_add(SRV_M_AUTH_FAIL, 1);
    http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "E_UNAUTHORIZED", field, "%s", msg);
}

static bool parse_token_request(struct http_req *req, char *id, char *ch, char *sig)
{
    static const char *const fields[] = {"device_id", "challenge", "signature", NULL};
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_hex(req, o, "device_id", STORE_ID_MAX / 2, id) &&
              body_hex(req, o, "challenge", AUTH_CHALLENGE_HEX / 2, ch) &&
              body_hex(req, o, "signature", NB_ED25519_SIG_LEN, sig);
    json_decref(o);
    return ok;
}

/* The device proves its key: the challenge is consumed first, so a wrong
 * signature burns it and every guess costs a new challenge. */
static bool prove_device(struct srv *srv, struct http_req *req, const char *id, const char *ch,
                         const char *sig)
{
    struct store_device d;
    enum nb_err err = srv->store.ops->challenge_take(&srv->store, id, ch, srv_now());
    if (err == NB_ENOENT) {
        refuse_auth(req, "challenge", "unknown, used or expired challenge");
        return false;
    }
    if (err == NB_OK)
        err = srv->store.ops->device_get(&srv->store, id, &d);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "device");
        return false;
    }
    if (auth_verify_device(d.pubkey, id, ch, sig) != NB_OK) {
        refuse_auth(req, "signature", "signature does not verify with the device's key");
        return false;
    }
    if (d.state != STORE_DEVICE_ACTIVE) {
        http_reply_error(req, MHD_HTTP_FORBIDDEN, "E_UNAUTHORIZED", NULL,
                         "device is %s, not active", store_device_state_name(d.state));
        return false;
    }
    return true;
}

static void token(struct srv *srv, struct http_req *req)
{
    char id[STORE_ID_MAX + 1], ch[AUTH_CHALLENGE_HEX + 1], sig[2 * NB_ED25519_SIG_LEN + 1];
    if (!parse_token_request(req, id, ch, sig) || !prove_device(srv, req, id, ch, sig))
        return;
    char tok[AUTH_TOKEN_LEN + 1];
    enum nb_err err =
        auth_create_device_token(&srv->store, id, srv_now(), srv->cfg.device_token_ttl_s, tok);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "token");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK,
                    json_pack("{s:s, s:i}", "token", tok, "expires_in",
                              (json_int_t)srv->cfg.device_token_ttl_s));
    nb_wipe(tok, sizeof tok);
}

/* The calling device, which must still be active (a token outlives an
 * operator's decommission by at most its TTL otherwise). */
static bool caller(struct srv *srv, struct http_req *req, struct store_device *d)
{
    enum nb_err err = srv->store.ops->device_get(&srv->store, req->who.device_id, d);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "device");
        return false;
    }
    if (d->state != STORE_DEVICE_ACTIVE) {
        http_reply_error(req, MHD_HTTP_FORBIDDEN, "E_UNAUTHORIZED", NULL, "device is %s",
                         store_device_state_name(d->state));
        return false;
    }
    return true;
}

/* ---- check-in ------------------------------------------------------------------ */

struct checkin_req {
    struct store_checkin c;
    char nonce[DIRECTOR_NONCE_MAX + 1];
};

static bool parse_slots(struct http_req *req, const json_t *o, char *out, size_t cap)
{
    const json_t *v = json_object_get(o, "slots");
    out[0] = '\0';
    if (v == NULL)
        return true;
    size_t n = json_is_object(v) ? json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS) : 0;
    if (n == 0 || n >= cap || json_dumpb(v, out, cap - 1, JSON_COMPACT | JSON_SORT_KEYS) != n) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "slots",
                         "field 'slots': an object of at most %zu bytes", cap - 1);
        return false;
    }
    out[n] = '\0';
    return true;
}

static bool parse_nonce(struct http_req *req, const json_t *o, char *out)
{
    if (!body_string(req, o, "nonce", DIRECTOR_NONCE_MAX, true, out))
        return false;
    size_t len = strlen(out);
    bool hex = len >= DIRECTOR_NONCE_MIN && len % 2 == 0;
    for (size_t i = 0; hex && i < len; i++)
        hex = (out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f');
    if (!hex)
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "nonce",
                         "field 'nonce': %d..%d lowercase hex characters, even", DIRECTOR_NONCE_MIN,
                         DIRECTOR_NONCE_MAX);
    return hex;
}

static bool parse_checkin(struct http_req *req, struct checkin_req *out)
{
    static const char *const fields[] = {"installed_version", "slots", "security_counter",
                                         "last_result",       "nonce", NULL};
    memset(out, 0, sizeof *out);
    json_t *o = body_object(req, fields);
    bool ok =
        o != NULL &&
        body_string(req, o, "installed_version", STORE_NAME_MAX, true, out->c.installed_version) &&
        body_uint(req, o, "security_counter", (UINT64_C(1) << 53) - 1, true,
                  &out->c.security_counter) &&
        body_string(req, o, "last_result", STORE_TEXT_MAX, false, out->c.last_result) &&
        parse_slots(req, o, out->c.slots, sizeof out->c.slots) && parse_nonce(req, o, out->nonce);
    json_decref(o);
    return ok;
}

static json_t *with_poll(const struct srv *srv, json_t *o)
{
    json_object_set_new(o, "poll_after", json_integer(srv->cfg.poll_interval_s));
    json_object_set_new(o, "poll_jitter", json_integer(srv->cfg.poll_jitter_s));
    /* A device holding an older root walks to this one before it trusts
     * an instruction (docs/trust.md "Moving a fleet to a new server"). */
    json_object_set_new(o, "root_version", json_integer(srv_roots_version(srv->roots)));
    return o;
}

static void reply_nothing(const struct srv *srv, struct http_req *req)
{
    http_reply_json(req, MHD_HTTP_OK, with_poll(srv, json_pack("{s:s}", "action", "none")));
}

static json_t *span(uint64_t off, uint64_t len)
{
    return json_pack("{s:I, s:I}", "offset", (json_int_t)off, "length", (json_int_t)len);
}

static void reply_install(const struct srv *srv, struct http_req *req,
                          const struct store_assignment *a, const struct store_release *r,
                          const char *instruction)
{
    char url[96];
    (void)snprintf(url, sizeof url, "/api/v1/device/releases/%lld/bundle", (long long)r->id);
    json_t *bundle = json_pack(
        "{s:s, s:I, s:s, s:o, s:o, s:o}", "url", url, "size", (json_int_t)r->bundle_size, "sha256",
        r->bundle_sha256, "envelope", span(r->envelope_off, r->envelope_len), "table",
        span(r->table_off, r->table_len), "frames", span(r->frames_off, r->frames_len));
    json_t *o =
        json_pack("{s:s, s:I, s:s, s:o}", "action", "install", "deployment_id",
                  (json_int_t)a->deployment_id, "instruction", instruction, "bundle", bundle);
    http_reply_json(req, MHD_HTTP_OK, with_poll(srv, o));
}

/* Signs the instruction for this check-in and marks a pending assignment
 * notified. */
static void instruct(struct srv *srv, struct http_req *req, struct store_assignment *a,
                     const struct store_release *r, const char *nonce, const int64_t window[2])
{
    int64_t now = srv_now();
    struct director_instruction in = {
        a->device_id, nonce,    a->deployment_id, r, now, now + (int64_t)srv->cfg.instruction_ttl_s,
        window[0],    window[1]};
    char *text = NULL;
    size_t len = 0;
    struct nb_diag diag = {{0}};
    enum nb_err err = director_sign(&srv->director, &in, &text, &len, &diag);
    if (err == NB_OK && a->state == STORE_ASSIGN_PENDING) {
        a->state = STORE_ASSIGN_NOTIFIED;
        a->updated_at = now;
        err = srv->store.ops->assignment_update(&srv->store, a);
    }
    if (err != NB_OK) {
        srv_log(SRV_LOG_ERROR, "director: %s", diag.msg[0] ? diag.msg : nb_strerror(err));
        http_reply_store_error(req, err, "instruction");
    } else {
        srv_metric_add(SRV_M_INSTRUCTIONS, 1);
        reply_install(srv, req, a, r, text);
    }
    nb_free(text);
}

/* A device that polls faster than --min-checkin-interval gets 429 and
 * when to come back, and its check-in is not recorded. */
static bool too_soon(struct srv *srv, struct http_req *req, const struct store_device *d,
                     int64_t now)
{
    int64_t noted = srv_seen_last(&srv->seen, d->id);
    int64_t last = noted > d->last_seen ? noted : d->last_seen;
    int64_t wait = last + (int64_t)srv->cfg.min_checkin_s - now;
    if (last == 0 || wait <= 0)
        return false;
    char v[24];
    (void)snprintf(v, sizeof v, "%lld", (long long)wait);
    http_reply_error(req, MHD_HTTP_TOO_MANY_REQUESTS, "E_BUSY", NULL,
                     "check-ins are at least %u s apart; retry after %s s", srv->cfg.min_checkin_s,
                     v);
    (void)MHD_add_response_header(req->resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    srv_metric_add(SRV_M_THROTTLED, 1);
    return true;
}

/* Whether a's rollout (if it is a rollout's) holds the device back now; else
 * window[] the install window its instruction carries (0, 0: none). The
 * window first: a device it holds back must not use up a start. A store
 * error holds. */
static bool rollout_holds(struct srv *srv, struct store_assignment *a, int64_t now,
                          int64_t window[2])
{
    static _Thread_local struct store_rollout ro;
    static _Thread_local struct rollout_spec spec;
    bool hold = false;
    enum nb_err err = rollout_of_deployment(srv, a->deployment_id, &ro, &spec);
    if (err == NB_ENOENT)
        return false; /* a plain deployment */
    if (err != NB_OK) {
        srv_log(SRV_LOG_WARN, "rollout check-in of %.16s: %s", a->device_id, nb_strerror(err));
        return true;
    }
    rollout_checkin_window(&spec, a, now, &hold, &window[0], &window[1]);
    return hold || !rdev_may_instruct(srv, &ro, &spec, a, now);
}

/* Settles the assignment from the version the device runs, or instructs. */
static void answer_checkin(struct srv *srv, struct http_req *req, struct store_assignment *a,
                           const struct store_release *r, const struct checkin_req *in)
{
    enum store_assign_state next =
        assignment_on_checkin(a->state, in->c.installed_version, r->version);
    if (next != a->state) {
        a->state = next;
        a->progress = assignment_progress(next, 0, a->progress);
        a->updated_at = in->c.at;
        enum nb_err err = srv->store.ops->assignment_update(&srv->store, a);
        if (err != NB_OK)
            http_reply_store_error(req, err, "assignment");
        else
            reply_nothing(srv, req);
        return;
    }
    int64_t window[2] = {0, 0};
    bool hold = r->withdrawn || rollout_holds(srv, a, in->c.at, window);
    if (hold)
        reply_nothing(srv, req);
    else
        instruct(srv, req, a, r, in->nonce, window);
}

/* Records the check-in: written at once when the device reports anything
 * new, otherwise only its time, coalesced with others (seen.h). */
static enum nb_err record_checkin(struct srv *srv, const struct store_device *d,
                                  const struct store_checkin *c)
{
    bool same = d->last_seen != 0 && d->security_counter == c->security_counter &&
                strcmp(d->installed_version, c->installed_version) == 0 &&
                strcmp(d->slots, c->slots) == 0 && strcmp(d->last_result, c->last_result) == 0;
    if (same)
        return srv_seen_note(&srv->seen, d->id, c->at);
    return srv->store.ops->device_checkin(&srv->store, d->id, c);
}

static void checkin(struct srv *srv, struct http_req *req)
{
    struct checkin_req in;
    struct store_device d;
    if (!parse_checkin(req, &in) || !caller(srv, req, &d))
        return;
    in.c.at = srv_now();
    if (too_soon(srv, req, &d, in.c.at))
        return;
    srv_metric_add(SRV_M_CHECKINS, 1);
    struct store_assignment a;
    struct store_release r;
    enum nb_err err = record_checkin(srv, &d, &in.c);
    if (err == NB_OK)
        err = srv->store.ops->assignment_current(&srv->store, d.id, &a);
    if (err == NB_OK)
        err = srv->store.ops->release_get(&srv->store, a.release_id, &r);
    if (err == NB_ENOENT)
        reply_nothing(srv, req); /* the cheap, common answer */
    else if (err != NB_OK)
        http_reply_store_error(req, err, "check-in");
    else
        answer_checkin(srv, req, &a, &r, &in);
}

/* ---- status reports ------------------------------------------------------------------ */

static bool parse_report(struct http_req *req, const char *device_id, struct store_report *r)
{
    static const char *const fields[] = {"report_id", "deployment_id", "state", "progress",
                                         "code",      "message",       NULL};
    char state[STORE_NAME_MAX + 1];
    uint64_t dep = 0, progress = 0;
    memset(r, 0, sizeof *r);
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_name(req, o, "report_id", true, r->report_id) &&
              body_uint(req, o, "deployment_id", INT64_MAX, true, &dep) &&
              body_name(req, o, "state", true, state) &&
              body_uint(req, o, "progress", 100, false, &progress) &&
              body_name(req, o, "code", false, r->code) &&
              body_string(req, o, "message", STORE_TEXT_MAX, false, r->message);
    json_decref(o);
    if (ok && store_assign_state_parse(state, &r->state) != NB_OK) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "state",
                         "field 'state': unknown state '%s'", state);
        ok = false;
    }
    if (ok && r->state == STORE_ASSIGN_FAILED && r->code[0] == '\0') {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "code",
                         "field 'code': required when the state is failed");
        ok = false;
    }
    r->deployment_id = (int64_t)dep;
    r->progress = (uint32_t)progress;
    memcpy(r->device_id, device_id, sizeof r->device_id);
    return ok;
}

static void report(struct srv *srv, struct http_req *req)
{
    struct store_report r;
    struct store_device d;
    struct store_assignment a;
    if (!parse_report(req, req->who.device_id, &r) || !caller(srv, req, &d))
        return;
    enum nb_err err = srv->store.ops->assignment_get(&srv->store, r.deployment_id, d.id, &a);
    if (err == NB_ENOENT) {
        http_reply_error(req, MHD_HTTP_FORBIDDEN, "E_NOT_FOR_DEVICE", "deployment_id",
                         "deployment %lld is not assigned to this device",
                         (long long)r.deployment_id);
        return;
    }
    if (err != NB_OK) {
        http_reply_store_error(req, err, "deployment");
        return;
    }
    bool fresh = assignment_device_may_report(a.state, r.state);
    rdev_report_key(srv, &a, r.report_id);
    r.at = srv_now();
    a.state = fresh ? r.state : a.state;
    a.progress = fresh ? assignment_progress(r.state, r.progress, a.progress) : a.progress;
    memcpy(a.code, r.code, sizeof a.code);
    memcpy(a.message, r.message, sizeof a.message);
    a.updated_at = r.at;
    /* Stored even when it no longer moves the assignment (it is history);
     * a report id seen before changes nothing. */
    err = srv->store.ops->report_add(&srv->store, &r, fresh ? &a : NULL);
    if (err == NB_EEXIST) {
        http_reply_json(req, MHD_HTTP_OK, json_pack("{s:b, s:b}", "accepted", 1, "duplicate", 1));
        return;
    }
    if (err != NB_OK) {
        http_reply_store_error(req, err, "report");
        return;
    }
    srv_metric_add(SRV_M_REPORTS, 1);
    http_reply_json(req, MHD_HTTP_OK,
                    json_pack("{s:b, s:b, s:s}", "accepted", 1, "duplicate", 0, "assignment_state",
                              store_assign_state_name(a.state)));
}

/* ---- downloads ------------------------------------------------------------------ */

struct find_release {
    int64_t release_id;
    bool found;
};

static bool has_release(void *arg, const struct store_assignment *a)
{
    struct find_release *f = arg;
    f->found = f->found || (a->release_id == f->release_id && a->state != STORE_ASSIGN_CANCELLED);
    return !f->found;
}

/* A device downloads only releases assigned to it: encrypted bundles are
 * for their recipients, and nobody maps the catalogue through the device
 * API. */
static void bundle(struct srv *srv, struct http_req *req)
{
    struct store_device d;
    struct find_release f = {0, false};
    if (!body_parse_id(req->params[0], &f.release_id)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "release", "not a release id");
        return;
    }
    if (!caller(srv, req, &d))
        return;
    struct store_release r;
    enum nb_err err = srv->store.ops->assignment_list(&srv->store, 0, d.id, has_release, &f);
    if (err == NB_OK && !f.found) {
        http_reply_error(req, MHD_HTTP_FORBIDDEN, "E_NOT_FOR_DEVICE", "release",
                         "release %lld is not assigned to this device", (long long)f.release_id);
        return;
    }
    if (err == NB_OK)
        err = srv->store.ops->release_get(&srv->store, f.release_id, &r);
    if (err != NB_OK)
        http_reply_store_error(req, err, "release assigned to this device");
    else
        download_reply(req, &srv->arts, r.bundle_sha256);
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/device/enrol", HTTP_PUBLIC, STORE_ROLE_DEVICE, HTTP_BODY_JSON, enrol},
    {"POST", "/api/v1/device/challenge", HTTP_PUBLIC, STORE_ROLE_DEVICE, HTTP_BODY_JSON, challenge},
    {"POST", "/api/v1/device/token", HTTP_PUBLIC, STORE_ROLE_DEVICE, HTTP_BODY_JSON, token},
    {"POST", "/api/v1/device/checkin", HTTP_AUTH, STORE_ROLE_DEVICE, HTTP_BODY_JSON, checkin},
    {"POST", "/api/v1/device/reports", HTTP_AUTH, STORE_ROLE_DEVICE, HTTP_BODY_JSON, report},
    {"GET", "/api/v1/device/releases/{}/bundle", HTTP_AUTH, STORE_ROLE_DEVICE, HTTP_BODY_NONE,
     bundle},
};

const struct http_routes api_device_routes = {routes, sizeof routes / sizeof routes[0]};
