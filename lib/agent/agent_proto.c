/* The agent core's side of the device API (docs/api.md): enrolment, the
 * challenge login, check-in and reports, as request bodies written into
 * the core's buffer and answers read with a size cap and duplicate keys
 * refused. Answers are not signed: only the director instruction inside a
 * check-in is trusted, after agent_update.c has verified it. */
#include "agent_internal.h"

#include <nobrick/encoding.h>
#include <nobrick/envelope.h>

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define POLL_MAX_S (7u * 24 * 3600)
#define TOKEN_MARGIN_S 30 /* log in again this long before the token expires */

/* s as the inside of a JSON string: printable ASCII, quotes and
 * backslashes escaped, anything else '?', cut to fit cap. */
static void json_text(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s != NULL && *s != '\0' && n + 3 < cap; s++) {
        char c = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
        if (c == '"' || c == '\\')
            out[n++] = '\\';
        out[n++] = c;
    }
    out[n] = '\0';
}

/* Writes a->body; false when it did not fit (a bug: bodies are bounded). */
static bool body_printf(struct nb_agent *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bool body_printf(struct nb_agent *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(a->body, sizeof a->body, fmt, ap);
    va_end(ap);
    a->body_len = n < 0 || (size_t)n >= sizeof a->body ? 0 : (size_t)n;
    return a->body_len > 0;
}

static json_t *load_json(const struct nb_agent_response *r)
{
    if (r->body == NULL || r->body_len > NB_AGENT_JSON_MAX)
        return NULL;
    return json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
}

static const char *get_str(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

static bool get_uint(const json_t *o, const char *name, uint64_t max, uint64_t *out)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

bool nb__agent_need_login(struct nb_agent *a, int resume)
{
    if (a->token[0] != '\0' && nb__agent_now_ms(a) < a->token_expiry_ms)
        return false;
    a->token[0] = '\0';
    a->after_login = resume;
    a->state = NB__S_CHALLENGE;
    return true;
}

bool nb__agent_common_failure(struct nb_agent *a, const struct nb_agent_response *r, int state)
{
    if (r->err == NB_OK && r->status == 401) {
        /* Token expired or revoked: log in again, then repeat. A server
         * that keeps refusing gets the back-off. */
        a->token[0] = '\0';
        nb__agent_log(a, "%s: token refused, logging in again", nb_agent_state_name(a));
        if (a->failures++ > 0) {
            struct nb_agent_response slow = *r;
            slow.status = 503;
            nb__agent_retry(a, &slow, state);
        } else {
            a->state = state;
        }
        return true;
    }
    if (r->err != NB_OK || r->status == 429 || r->status >= 500 || r->status == 0) {
        nb__agent_retry(a, r, state);
        return true;
    }
    return false;
}

/* ---- enrolment and login ------------------------------------------------------ */

/* Signs PAE(type, "<a>:<b>") with the device key into sig_hex. */
static enum nb_err sign_pair(struct nb_agent *a, const char *type, const char *x, const char *y,
                             char sig_hex[2 * NB_ED25519_SIG_LEN + 1])
{
    char msg[2 * NB_AGENT_TOKEN_MAX + 2];
    uint8_t pae[NB_PAE_HEADER_MAX + sizeof msg];
    uint8_t sig[NB_ED25519_SIG_LEN];
    size_t pae_len = 0;
    int n = snprintf(msg, sizeof msg, "%s:%s", x, y);
    enum nb_err err = n > 0 && (size_t)n < sizeof msg ? NB_OK : NB_ELENGTH;
    if (err == NB_OK)
        err = nb_pae(type, (const uint8_t *)msg, (size_t)n, pae, sizeof pae, &pae_len);
    if (err == NB_OK)
        err = a->env.sign(a->env.sign_ctx, pae, pae_len, sig);
    if (err == NB_OK)
        err = nb_hex_encode(sig, sizeof sig, sig_hex, 2 * NB_ED25519_SIG_LEN + 1);
    if (err != NB_OK) {
        nb__agent_log(a, "signing with the device key failed (%s)", nb_errname(err));
        nb__agent_done(a, err);
    }
    return err;
}

bool nb__agent_build_enrol(struct nb_agent *a, struct nb_agent_action *out)
{
    char sig_hex[2 * NB_ED25519_SIG_LEN + 1];
    if (a->enrolled) {
        a->after_login = NB__S_OWED;
        a->state = NB__S_CHALLENGE;
        return false;
    }
    /* Only the holder of the key may enrol it (docs/api.md). */
    if (sign_pair(a, NB_AGENT_ENROL_TYPE, a->cfg.public_key, a->env.dev.hw_class, sig_hex) != NB_OK)
        return false;
    body_printf(a, "{\"public_key\":\"%s\",\"hw_class\":\"%s\",\"signature\":\"%s\"}",
                a->cfg.public_key, a->env.dev.hw_class, sig_hex);
    nb__agent_request(out, "POST", "/api/v1/device/enrol", NULL, a->body, a->body_len,
                      NB_AGENT_JSON_MAX);
    return true;
}

void nb__agent_on_enrol(struct nb_agent *a, const struct nb_agent_response *r)
{
    if (nb__agent_common_failure(a, r, NB__S_ENROL))
        return;
    json_t *o = r->status == 200 || r->status == 201 ? load_json(r) : NULL;
    const char *st = get_str(o, "state");
    if (st != NULL && strcmp(st, "active") == 0) {
        a->enrolled = true;
        a->failures = 0;
        a->state = NB__S_ENROL;
    } else if (st != NULL && (strcmp(st, "pending") == 0 || strcmp(st, "preauthorized") == 0)) {
        nb__agent_log(a,
                      "enrolment: device %.16s... is %s: an operator must approve it "
                      "(nobrick device approve, or POST /api/v1/devices/ID/approve)",
                      a->cfg.device_id, st);
        a->state = nb__agent_cycle_end(a, NB_EUNAUTHORIZED);
        if (a->state == NB__S_WAIT)
            a->after = NB__S_ENROL;
    } else {
        nb__agent_log(a,
                      "enrolment refused (HTTP %d, state %s): check hw_class and the "
                      "device's registration",
                      r->status, st != NULL ? st : "none");
        nb__agent_done(a, r->status == 409 ? NB_EINCOMPAT : NB_EUNAUTHORIZED);
    }
    json_decref(o);
}

bool nb__agent_build_challenge(struct nb_agent *a, struct nb_agent_action *out)
{
    body_printf(a, "{\"device_id\":\"%s\"}", a->cfg.device_id);
    nb__agent_request(out, "POST", "/api/v1/device/challenge", NULL, a->body, a->body_len,
                      NB_AGENT_JSON_MAX);
    return true;
}

/* A device the server does not know (any more), or not active: enrol
 * again at the next poll. */
static void login_refused(struct nb_agent *a, const struct nb_agent_response *r)
{
    nb__agent_log(a, "login refused (HTTP %d): enrolling again", r->status);
    a->enrolled = false;
    a->state = nb__agent_cycle_end(a, NB_EUNAUTHORIZED);
    if (a->state == NB__S_WAIT)
        a->after = NB__S_ENROL;
}

void nb__agent_on_challenge(struct nb_agent *a, const struct nb_agent_response *r)
{
    uint8_t raw[32];
    if (nb__agent_common_failure(a, r, NB__S_CHALLENGE))
        return;
    json_t *o = r->status == 200 ? load_json(r) : NULL;
    const char *ch = get_str(o, "challenge");
    if (ch != NULL && strlen(ch) == 64 && nb_hex_decode(ch, 64, raw, sizeof raw) == NB_OK) {
        memcpy(a->challenge, ch, 65);
        a->state = NB__S_TOKEN;
    } else {
        login_refused(a, r);
    }
    json_decref(o);
}

bool nb__agent_build_token(struct nb_agent *a, struct nb_agent_action *out)
{
    char sig_hex[2 * NB_ED25519_SIG_LEN + 1];
    if (sign_pair(a, NB_AGENT_AUTH_TYPE, a->cfg.device_id, a->challenge, sig_hex) != NB_OK)
        return false;
    body_printf(a, "{\"device_id\":\"%s\",\"challenge\":\"%s\",\"signature\":\"%s\"}",
                a->cfg.device_id, a->challenge, sig_hex);
    nb__agent_request(out, "POST", "/api/v1/device/token", NULL, a->body, a->body_len,
                      NB_AGENT_JSON_MAX);
    return true;
}

void nb__agent_on_token(struct nb_agent *a, const struct nb_agent_response *r)
{
    uint64_t ttl = 0;
    if (r->err == NB_OK && r->status == 401) {
        struct nb_agent_response slow = *r;
        slow.status = 503; /* a burnt challenge: a new one after the back-off */
        nb__agent_retry(a, &slow, NB__S_CHALLENGE);
        return;
    }
    if (nb__agent_common_failure(a, r, NB__S_CHALLENGE))
        return;
    json_t *o = r->status == 200 ? load_json(r) : NULL;
    const char *tok = get_str(o, "token");
    if (tok != NULL && strlen(tok) <= NB_AGENT_TOKEN_MAX &&
        get_uint(o, "expires_in", 86400, &ttl)) {
        memcpy(a->token, tok, strlen(tok) + 1);
        ttl = ttl > 2 * TOKEN_MARGIN_S ? ttl - TOKEN_MARGIN_S : ttl / 2;
        a->token_expiry_ms = nb__agent_now_ms(a) + ttl * 1000;
        a->failures = 0;
        a->state = a->after_login;
    } else {
        login_refused(a, r);
    }
    json_decref(o);
}

/* ---- check-in ---------------------------------------------------------------- */

/* What the device runs, as the server should see it: the running slot
 * when committed; during a trial (never reported) or when unknown, the
 * primary. The server counts success on this version, so a trial must
 * never show here. */
static const char *installed_version(const struct nb_agent *a, const struct nb_bootctl *bc)
{
    if (a->cfg.running_known && bc->slot[a->cfg.running].state == NB_BOOTCTL_GOOD)
        return bc->slot[a->cfg.running].version;
    if (bc->primary != NB_BOOTCTL_NONE)
        return bc->slot[bc->primary].version;
    return "unknown";
}

static const char *slot_state_name(enum nb_bootctl_state s)
{
    static const char *const names[] = {"empty", "installing", "ready", "trial", "good", "bad"};
    return (unsigned)s < 6 ? names[s] : "unknown";
}

static bool write_checkin(struct nb_agent *a, const struct nb_bootctl *bc)
{
    char result[2 * NB_AGENT_RESULT_MAX + 1], gold[32] = "";
    json_text(result, sizeof result, a->last_result);
    if (bc->has_gold)
        (void)snprintf(gold, sizeof gold, ",\"gold\":\"%s\"",
                       slot_state_name(bc->slot[NB_BOOTCTL_GOLD].state));
    return body_printf(a,
                       "{\"installed_version\":\"%s\",\"security_counter\":%llu,\"slots\":{"
                       "\"a\":\"%s\",\"b\":\"%s\"%s},%s%s%s\"nonce\":\"%s\"}",
                       installed_version(a, bc), (unsigned long long)bc->min_security_counter,
                       slot_state_name(bc->slot[NB_BOOTCTL_A].state),
                       slot_state_name(bc->slot[NB_BOOTCTL_B].state), gold,
                       result[0] ? "\"last_result\":\"" : "", result, result[0] ? "\"," : "",
                       a->nonce);
}

bool nb__agent_build_checkin(struct nb_agent *a, struct nb_agent_action *out)
{
    uint8_t raw[16];
    struct nb_bootctl bc;
    if (nb__agent_need_login(a, NB__S_CHECKIN))
        return false;
    /* A fresh nonce per check-in: the instruction must echo it (E_FRESHNESS). */
    enum nb_err err = a->env.rng.ops->fill(a->env.rng.ctx, raw, sizeof raw);
    if (err == NB_OK)
        err = nb_hex_encode(raw, sizeof raw, a->nonce, sizeof a->nonce);
    if (err == NB_OK)
        err = nb_boot_control_load(&a->env.dev.bootctl, &bc, NULL);
    if (err == NB_OK && !write_checkin(a, &bc))
        err = NB_ELENGTH;
    if (err != NB_OK) {
        nb__agent_log(a, "check-in: cannot prepare it (%s)", nb_errname(err));
        nb__agent_done(a, err);
        return false;
    }
    nb__agent_request(out, "POST", "/api/v1/device/checkin", a->token, a->body, a->body_len,
                      NB_AGENT_JSON_MAX);
    return true;
}

static bool get_span(const json_t *bundle, const char *name, uint64_t *off, uint64_t *len)
{
    const json_t *o = json_object_get(bundle, name);
    return get_uint(o, "offset", NB_IMAGE_SIZE_MAX * 2, off) &&
           get_uint(o, "length", NB_IMAGE_SIZE_MAX * 2, len);
}

/* The bundle's locations: unsigned, so only bounded here; everything
 * fetched from them is checked against signed data. */
static bool parse_bundle(struct nb_agent *a, const json_t *b)
{
    const char *url = get_str(b, "url");
    if (url == NULL || strlen(url) > NB_AGENT_URL_MAX || url[0] == '\0')
        return false;
    for (const char *p = url; *p != '\0'; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    memcpy(a->url, url, strlen(url) + 1);
    return get_uint(b, "size", NB_IMAGE_SIZE_MAX * 2, &a->bundle_size) &&
           get_span(b, "envelope", &a->env_off, &a->env_len) &&
           get_span(b, "table", &a->table_off, &a->table_len) &&
           get_span(b, "frames", &a->frames_off, &a->frames_len);
}

static void parse_poll(struct nb_agent *a, const json_t *o)
{
    uint64_t v = 0;
    if (get_uint(o, "poll_after", POLL_MAX_S, &v))
        a->poll_after_s = (uint32_t)v;
    if (get_uint(o, "poll_jitter", POLL_MAX_S, &v))
        a->poll_jitter_s = (uint32_t)v;
}

void nb__agent_on_checkin(struct nb_agent *a, const struct nb_agent_response *r)
{
    uint64_t dep = 0;
    if (nb__agent_common_failure(a, r, NB__S_CHECKIN))
        return;
    json_t *o = r->status == 200 ? load_json(r) : NULL;
    const char *action = get_str(o, "action");
    if (action == NULL) {
        struct nb_agent_response bad = *r;
        bad.status = 502; /* not an answer we understand: later */
        nb__agent_retry(a, &bad, NB__S_CHECKIN);
        json_decref(o);
        return;
    }
    a->failures = 0;
    parse_poll(a, o);
    const char *instr = get_str(o, "instruction");
    uint64_t root_version = 0;
    if (get_uint(o, "root_version", INT32_MAX, &root_version) &&
        nb__agent_root_behind(a, root_version, strcmp(action, "install") == 0)) {
        json_decref(o); /* the walk first: the instruction may be signed by new keys */
        return;
    }
    if (strcmp(action, "install") == 0 && instr != NULL &&
        get_uint(o, "deployment_id", INT64_MAX, &dep) &&
        parse_bundle(a, json_object_get(o, "bundle"))) {
        nb__agent_on_install(a, (const uint8_t *)instr, strlen(instr), (int64_t)dep);
    } else {
        if (strcmp(action, "none") != 0)
            nb__agent_log(a, "check-in: unknown action '%s', ignored", action);
        nb__agent_finish_cycle(a, NB_OK);
    }
    json_decref(o);
}

/* ---- reports ---------------------------------------------------------------- */

void nb__agent_report(struct nb_agent *a, int64_t dep, const char *state, uint32_t progress,
                      enum nb_err code, const char *message, int after, bool must)
{
    char msg[NB_AGENT_RESULT_MAX + 1], msg_field[NB_AGENT_RESULT_MAX + 16] = "", id[64],
                                                                       code_field[48] = "";
    json_text(msg, sizeof msg, message);
    if (msg[0] != '\0') /* the server refuses an empty message */
        (void)snprintf(msg_field, sizeof msg_field, ",\"message\":\"%s\"", msg);
    /* The id names what is reported, so a report repeated after a lost
     * answer or a reboot is the same report (the server keeps one). */
    if (code != NB_OK)
        (void)snprintf(id, sizeof id, "d%lld-%s-%s", (long long)dep, state, nb_errname(code));
    else
        (void)snprintf(id, sizeof id, "d%lld-%s-%u", (long long)dep, state, (unsigned)progress);
    if (code != NB_OK)
        (void)snprintf(code_field, sizeof code_field, ",\"code\":\"%s\"", nb_errname(code));
    body_printf(
        a, "{\"report_id\":\"%s\",\"deployment_id\":%lld,\"state\":\"%s\",\"progress\":%u%s%s}", id,
        (long long)dep, state, (unsigned)progress, code_field, msg_field);
    a->report_must = must;
    a->report_next = after;
    a->state = NB__S_REPORT;
}

bool nb__agent_build_report(struct nb_agent *a, struct nb_agent_action *out)
{
    if (nb__agent_need_login(a, NB__S_REPORT))
        return false;
    nb__agent_request(out, "POST", "/api/v1/device/reports", a->token, a->body, a->body_len,
                      NB_AGENT_JSON_MAX);
    return true;
}

void nb__agent_on_report(struct nb_agent *a, const struct nb_agent_response *r)
{
    bool transient = r->err != NB_OK || r->status == 401 || r->status == 429 || r->status >= 500;
    if (transient && (a->report_must || r->status == 401)) {
        (void)nb__agent_common_failure(a, r, NB__S_REPORT);
        return;
    }
    if (r->err == NB_OK && r->status != 200)
        nb__agent_log(a, "report refused by the server (HTTP %d: %.*s), dropped", r->status,
                      r->body != NULL ? (int)(r->body_len < 200 ? r->body_len : 200) : 0,
                      r->body != NULL ? (const char *)r->body : "");
    if (!transient)
        a->failures = 0;
    if (a->report_must && !transient) {
        /* Delivered (or refused for good): the journal owes nothing more. */
        struct nb_journal_agent next = a->journal;
        next.owed = NB_JOURNAL_OWED_NONE;
        next.code = NB_OK;
        enum nb_err err = nb__agent_journal_put(a, &next);
        if (err != NB_OK) {
            nb__agent_done(a, err);
            return;
        }
    }
    a->state = a->report_next;
}
