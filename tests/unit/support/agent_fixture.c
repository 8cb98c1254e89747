/* Test helpers for the agent core (see agent_fixture.h): one signed bundle
 * made once per test binary, a fake server answering the device API from
 * it (with forged instructions, outages and lost answers on demand), a
 * simulated device on a virtual clock, and the loop that drives the core. */
#include "agent_fixture.h"

#include <nobrick/encoding.h>
#include <nobrick/flash_sim.h>
#include <nobrick/journal.h>
#include <nobrick/trust.h>

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define TABLE_CAP (16u + 80u * 64)

static struct ax_fleet fleet = {.factory = {"1.0.0", 1, 30000, 7, NULL}};
static uint8_t image[AX_BATCH_FRAMES * AX_FS];
static uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN], window[AX_FS], table[TABLE_CAP];
static uint8_t resp_buf[AX_BATCH_FRAMES * AX_FS];
static struct nb_codec codec;
static char device_pub_hex[65];

const struct ax_fleet *ax_fleet(void)
{
    return &fleet;
}

/* ---- virtual clock and seeded random ---------------------------------------- */
static enum nb_err vc_now(void *ctx, uint64_t *out)
{
    *out = ((struct ax_vclock *)ctx)->ms;
    return NB_OK;
}
static enum nb_err vc_unix(void *ctx, int64_t *out)
{
    const struct ax_vclock *c = ctx;
    *out = c->unix_s + (int64_t)(c->ms / 1000);
    return NB_OK;
}
static const struct nb_clock_ops vclock_ops = {vc_now, vc_unix};

static enum nb_err vr_fill(void *ctx, void *buf, size_t len)
{
    uint64_t *s = ctx;
    for (size_t i = 0; i < len; i++) {
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        ((uint8_t *)buf)[i] = (uint8_t)*s;
    }
    return NB_OK;
}
static const struct nb_rng_ops vrng_ops = {vr_fill};

static enum nb_err sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    return nb_ed25519_sign(((const struct nb_keyfile *)ctx)->ed_seed, msg, len, sig);
}

/* ---- the fake server ----------------------------------------------------------- */
static void reply(struct nb_agent_response *r, int status, const char *json)
{
    size_t n = strlen(json);
    assert_true(n < sizeof resp_buf);
    memcpy(resp_buf, json, n);
    r->status = status;
    r->body_len = n;
}

static void hex(const uint8_t *in, size_t len, char *out)
{
    assert_int_equal(nb_hex_encode(in, len, out, 2 * len + 1), NB_OK);
}

static char *instruction(const struct ax_fake *f, const char *nonce, bool stranger)
{
    static char payload[2048], text[8192];
    char env_sha[65], bundle_sha[65];
    uint8_t d[32];
    assert_int_equal(nb_sha256(fleet.b.data + fleet.h.envelope_off, fleet.h.envelope_len, d),
                     NB_OK);
    hex(d, 32, env_sha);
    assert_int_equal(nb_sha256(fleet.b.data, fleet.b.len, d), NB_OK);
    hex(d, 32, bundle_sha);
    int64_t issued = FX_NOW, expires = FX_NOW + (f->tamper == AX_T_EXPIRED ? 50 : 3600);
    (void)snprintf(payload, sizeof payload,
                   "{\"type\":\"director\",\"spec\":1,\"device_id\":\"%s\",\"nonce\":\"%s\","
                   "\"deployment_id\":%d,\"release\":{\"version\":\"%s\",\"security_counter\":4,"
                   "\"envelope_sha256\":\"%s\",\"bundle_sha256\":\"%s\",\"bundle_size\":%zu},"
                   "\"issued_at\":%lld,\"expires\":%lld}",
                   f->tamper == AX_T_DEVICE ? fleet.w.other_device.keyid : fleet.w.device.keyid,
                   f->tamper == AX_T_NONCE ? "00112233445566778899aabbccddeeff" : nonce,
                   AX_DEPLOYMENT, f->tamper == AX_T_VERSION ? "9.9.9" : "1.2.3", env_sha,
                   bundle_sha, fleet.b.len, (long long)issued, (long long)expires);
    const struct nb_keyfile *signer[] = {stranger                ? f->stranger_key
                                         : f->tamper == AX_T_SIG ? &fleet.w.release
                                         : f->director != NULL   ? f->director
                                                                 : &fleet.w.director};
    fx_envelope(NB_PAYLOAD_DIRECTOR, payload, strlen(payload), signer, 1, text, sizeof text);
    return text;
}

static void serve_checkin(struct ax_fake *f, const struct nb_agent_request *q,
                          struct nb_agent_response *r, const char *base, bool stranger)
{
    char url[64];
    json_t *in = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(in);
    const char *nonce = json_string_value(json_object_get(in, "nonce"));
    assert_non_null(nonce);
    (void)snprintf(f->installed, sizeof f->installed, "%s",
                   json_string_value(json_object_get(in, "installed_version")));
    if (f->checkins < 16)
        (void)snprintf(f->checkin_base[f->checkins], sizeof f->checkin_base[0], "%s", base);
    f->checkins++;
    (void)snprintf(url, sizeof url, "/api/v1/device/releases/3/bundle");
    json_t *o =
        json_pack("{s:s, s:i, s:i}", "action", "none", "poll_after", 900, "poll_jitter", 180);
    uint32_t rv = stranger ? f->stranger_root_version : f->root_version;
    if (rv != 0)
        json_object_set_new(o, "root_version", json_integer(rv));
    if (f->offer) {
        json_object_set_new(o, "action", json_string("install"));
        json_object_set_new(o, "deployment_id", json_integer(AX_DEPLOYMENT));
        json_object_set_new(o, "instruction", json_string(instruction(f, nonce, stranger)));
        json_object_set_new(
            o, "bundle",
            json_pack("{s:s, s:I, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}}", "url", url, "size",
                      (json_int_t)fleet.b.len, "envelope", "offset",
                      (json_int_t)fleet.h.envelope_off, "length", (json_int_t)fleet.h.envelope_len,
                      "table", "offset", (json_int_t)fleet.h.table_off, "length",
                      (json_int_t)fleet.h.table_len, "frames", "offset",
                      (json_int_t)fleet.h.frames_off, "length", (json_int_t)fleet.h.frames_len));
    }
    size_t n = json_dumpb(o, (char *)resp_buf, sizeof resp_buf, JSON_COMPACT);
    assert_true(n > 0 && n < sizeof resp_buf);
    r->status = 200;
    r->body_len = n;
    json_decref(o);
    json_decref(in);
}

static void serve_report(struct ax_fake *f, const struct nb_agent_request *q,
                         struct nb_agent_response *r)
{
    json_t *in = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(in);
    assert_true(f->n_reports < 64);
    const char *st = json_string_value(json_object_get(in, "state"));
    const char *code = json_string_value(json_object_get(in, "code"));
    (void)snprintf(f->states[f->n_reports], 24, "%s", st);
    (void)snprintf(f->codes[f->n_reports], 24, "%s", code != NULL ? code : "");
    f->n_reports++;
    if (f->stop_on_commit && strcmp(st, "committed") == 0)
        f->offer = false;
    json_decref(in);
    reply(r, 200, "{\"accepted\":true,\"duplicate\":false}");
}

static void serve_range(struct ax_fake *f, const struct nb_agent_request *q,
                        struct nb_agent_response *r)
{
    assert_true(q->range && q->range_last < fleet.b.len && q->range_first <= q->range_last);
    size_t n = (size_t)(q->range_last - q->range_first + 1);
    if (q->range_first == fleet.h.envelope_off) {
        f->meta_gets++;
    } else {
        assert_true(f->frame_reqs < 128);
        f->frame_first[f->frame_reqs] = q->range_first;
        f->frame_last[f->frame_reqs++] = q->range_last;
        for (uint32_t i = 0; i < 64; i++) {
            struct nb_frame_entry e;
            bx_entry(&fleet.b, i, &e);
            if (fleet.h.frames_off + e.stored_off != q->range_first)
                continue;
            if (f->frame_gets[i]++ == 0 && (int)i == f->drop_frame) {
                r->err = NB_ETIMEOUT; /* the answer never comes */
                return;
            }
            break;
        }
    }
    memcpy(resp_buf, fleet.b.data + q->range_first, n);
    r->status = 206;
    r->body_len = n;
    if (f->whole_once && q->range_first != fleet.h.envelope_off) {
        f->whole_once = false;
        r->status = 200;
    }
    if (f->flip_at >= q->range_first && f->flip_at <= q->range_last) {
        resp_buf[f->flip_at - q->range_first] ^= 0x10;
        f->flip_at = 0;
    }
    if (f->cut_at > q->range_first && f->cut_at <= q->range_last) {
        r->body_len = (size_t)(f->cut_at - q->range_first);
        f->cut_at = 0;
    }
}

/* The device signed PAE(type, "<x>:<y>") with its key (hex signature sig_hex). */
static void check_signed(const char *type, const char *x, const char *y, const char *sig_hex)
{
    char msg[256];
    uint8_t pae[512], sig[64];
    size_t pae_len = 0;
    (void)snprintf(msg, sizeof msg, "%s:%s", x, y);
    assert_int_equal(nb_pae(type, (const uint8_t *)msg, strlen(msg), pae, sizeof pae, &pae_len),
                     NB_OK);
    assert_non_null(sig_hex);
    assert_int_equal(nb_hex_decode(sig_hex, strlen(sig_hex), sig, 64), NB_OK);
    assert_int_equal(nb_ed25519_verify(fleet.w.device.ed_pub, pae, pae_len, sig), NB_OK);
}

/* GET /api/v1/device/roots/N from the chain the test gave. */
static void serve_root(struct ax_fake *f, const char *path, struct nb_agent_response *r)
{
    unsigned long v = strtoul(path + strlen("/api/v1/device/roots/"), NULL, 10);
    f->root_gets++;
    if (v < f->root_first || v - f->root_first >= f->n_roots) {
        reply(r, 404, "{\"error\":{\"code\":\"E_NOENT\"}}");
        return;
    }
    reply(r, 200, f->roots[v - f->root_first]);
}

/* Splits an absolute path into its base URL and the API path. */
static const char *split_base(const char *path, char *base, size_t cap)
{
    const char *api = strstr(path, "/api/");
    base[0] = '\0';
    if (strncmp(path, "http", 4) != 0 || api == NULL)
        return path;
    (void)snprintf(base, cap, "%.*s", (int)(api - path), path);
    return api;
}

static void serve(struct ax_fake *f, const struct nb_agent_request *q, struct nb_agent_response *r)
{
    char base[128];
    const char *path = split_base(q->path, base, sizeof base);
    bool stranger = f->stranger != NULL && strcmp(base, f->stranger) == 0;
    json_t *in = q->body != NULL ? json_loadb(q->body, q->body_len, 0, NULL) : NULL;
    memset(r, 0, sizeof *r);
    r->body = resp_buf;
    f->stranger_hits += stranger;
    f->stranger_reports += stranger && strcmp(path, "/api/v1/device/reports") == 0;
    if (f->dead != NULL && strcmp(base, f->dead) == 0) {
        f->dead_hits++;
        r->err = NB_EIO;
    } else if (f->down > 0) {
        f->down--;
        r->err = NB_EIO;
    } else if (f->busy > 0) {
        f->busy--;
        r->retry_after_s = 42;
        reply(r, 503, "{\"error\":{\"code\":\"E_BUSY\"}}");
    } else if (strncmp(path, "/api/v1/device/roots/", 21) == 0) {
        serve_root(f, path, r);
    } else if (strcmp(path, "/api/v1/device/enrol") == 0) {
        check_signed(NB_AGENT_ENROL_TYPE, json_string_value(json_object_get(in, "public_key")),
                     json_string_value(json_object_get(in, "hw_class")),
                     json_string_value(json_object_get(in, "signature")));
        reply(r, 200, "{\"device_id\":\"x\",\"state\":\"active\"}");
    } else if (strcmp(path, "/api/v1/device/challenge") == 0) {
        reply(r, 200,
              "{\"challenge\":\"" /* 64 hex */
              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}");
    } else if (strcmp(path, "/api/v1/device/token") == 0) {
        /* The device proves its key: the signature is checked here. */
        check_signed(NB_AGENT_AUTH_TYPE, fleet.w.device.keyid,
                     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                     json_string_value(json_object_get(in, "signature")));
        reply(r, 200, "{\"token\":\"nbd_test\",\"expires_in\":900}");
    } else if (strcmp(path, "/api/v1/device/checkin") == 0) {
        serve_checkin(f, q, r, base, stranger);
    } else if (strcmp(path, "/api/v1/device/reports") == 0) {
        serve_report(f, q, r);
    } else if (f->withdrawn) {
        f->offer = false; /* cancelled: no longer in the check-in answer either */
        reply(r, 403, "{\"error\":{\"code\":\"E_NOT_FOR_DEVICE\"}}");
    } else {
        serve_range(f, q, r);
    }
    json_decref(in);
}

/* ---- the device and the driver loop ------------------------------------------------ */

static void on_event(void *ctx, const struct nb_agent_event *ev)
{
    struct ax_rig *g = ctx;
    if (ev->kind == NB_AGENT_EV_PROGRESS && g->n_progress++ >= 8)
        return;
    assert_true(g->n_ev < 256);
    g->ev[g->n_ev++] = *ev;
}

int ax_ev_find(const struct ax_rig *g, enum nb_agent_event_kind k, int from)
{
    for (int i = from; i < g->n_ev; i++)
        if (g->ev[i].kind == k)
            return i;
    return -1;
}

void ax_rig_provision(struct ax_rig *g)
{
    struct nb_boot_result br;
    memset(g, 0, sizeof *g);
    dx_provision(&g->d, &fleet.w, &fleet.factory, false);
    assert_int_equal(dx_boot(&g->d, &br), NB_OK); /* writes the capabilities */
    g->clock.unix_s = FX_NOW + 100;
    g->seed = 0x9E3779B97F4A7C15u;
}

void ax_rig_agent(struct ax_rig *g, bool once, bool running_known, enum nb_bootctl_slot_id running)
{
    struct dx_device *d = &g->d;
    assert_int_equal(nb_dualrec_init(&g->journal, &d->flash, d->layout.journal[0],
                                     d->layout.journal[1], NB_JOURNAL_MAGIC),
                     NB_OK);
    struct nb_agent_config cfg = {.device_id = fleet.w.device.keyid,
                                  .public_key = device_pub_hex,
                                  .poll_interval_s = 60,
                                  .poll_jitter_s = 0,
                                  .backoff_min_s = 2,
                                  .backoff_max_s = 64,
                                  .frame_retries = 2,
                                  .fetch_max_bytes = g->fetch_max,
                                  .once = once,
                                  .running_known = running_known,
                                  .running = running,
                                  .policy = g->policy,
                                  .window_start_min = g->win_start,
                                  .window_end_min = g->win_end,
                                  .reboot_delay_s = g->reboot_delay_s,
                                  .server = g->server,
                                  .failover = g->failover};
    struct nb_agent_env env = {
        .clock = {&vclock_ops, &g->clock},
        .rng = {&vrng_ops, &g->seed},
        .dev = {&d->flash, &d->layout, nb_bootctl_flash_control(&d->bootctl), &g->journal,
                &fleet.w.root, "thermo-v3", NULL, NULL, NULL, 3},
        .sign = sign_cb,
        .sign_ctx = &fleet.w.device,
        .event = on_event,
        .event_ctx = g,
        .scratch = scratch,
        .scratch_len = sizeof scratch,
        .window = window,
        .window_cap = sizeof window,
        .table = table,
        .table_cap = sizeof table,
        .codec = &codec,
    };
    if (g->walk) {
        static uint8_t text[NB_TRUST_ROOT_MAX];
        size_t len = 0;
        assert_int_equal(nb_trust_load(&d->trust, text, sizeof text, &len, scratch, sizeof scratch,
                                       &g->root, NULL),
                         NB_OK);
        env.dev.root = &g->root;
        env.trust = &d->trust;
        env.root = &g->root;
        static uint8_t envelope[NB_ENVELOPE_MAX];
        env.envelope = envelope;
        env.envelope_cap = sizeof envelope;
    }
    nb_agent_init(&g->a, &cfg, &env);
}

struct nb_agent_action ax_drive(struct ax_rig *g, struct ax_fake *f, bool health_ok, int max_waits)
{
    struct nb_agent_action act;
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(nb_agent_step(&g->a, &act), NB_OK);
        if (act.what == NB_AGENT_HTTP) {
            struct nb_agent_response r;
            serve(f, &act.req, &r);
            assert_true(r.err != NB_OK || r.body_len <= act.req.max_body);
            nb_agent_on_response(&g->a, &r);
        } else if (act.what == NB_AGENT_WAIT) {
            assert_true(act.until_ms >= g->clock.ms);
            if (g->n_waits < 16)
                g->waits_ms[g->n_waits] = act.until_ms - g->clock.ms;
            g->n_waits++;
            g->clock.ms = act.until_ms;
            if (g->n_waits >= max_waits)
                return act;
        } else if (act.what == NB_AGENT_HEALTH) {
            nb_agent_on_health(&g->a, health_ok, health_ok ? NULL : "20-app: exited with 1");
        } else {
            return act;
        }
    }
    fail_msg("the agent never stopped");
    return act;
}

uint64_t ax_install_flash_ops(struct ax_rig *g, uint32_t fetch_max)
{
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    struct nb_flash_sim_stats st;
    ax_rig_provision(g);
    nb_flash_sim_reset_stats(g->d.sim);
    g->fetch_max = fetch_max;
    ax_rig_agent(g, true, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(g, &f, true, 100).what, NB_AGENT_REBOOT);
    nb_flash_sim_stats(g->d.sim, &st);
    nb_agent_fini(&g->a);
    dx_close(&g->d);
    return st.programs + st.erases;
}

uint32_t ax_trusted_version(struct ax_rig *g)
{
    static uint8_t text[NB_TRUST_ROOT_MAX];
    struct nb_root r;
    size_t len = 0;
    assert_int_equal(
        nb_trust_load(&g->d.trust, text, sizeof text, &len, scratch, sizeof scratch, &r, NULL),
        NB_OK);
    return r.version;
}

void ax_record(struct ax_rig *g, struct nb_bootctl *bc)
{
    dx_record(&g->d, bc);
}

struct nb_journal_agent ax_journal_of(struct ax_rig *g)
{
    struct nb_journal j;
    assert_int_equal(nb_journal_load(&g->journal, &j, NULL), NB_OK);
    return j.agent;
}

bool ax_reported(const struct ax_fake *f, const char *state, const char *code)
{
    for (int i = 0; i < f->n_reports; i++)
        if (strcmp(f->states[i], state) == 0 && (code == NULL || strcmp(f->codes[i], code) == 0))
            return true;
    return false;
}

void ax_power_on(struct ax_rig *g, enum nb_bootctl_slot_id want, const char *version)
{
    struct nb_boot_result br;
    dx_reboot(&g->d);
    assert_int_equal(dx_boot(&g->d, &br), NB_OK);
    assert_int_equal(br.slot, want);
    assert_string_equal(br.version, version);
}

static int group_setup(size_t img_len, bool compressible, enum nb_compression compression)
{
    struct bx_spec spec = {.frame_size = AX_FS, .compression = compression};
    bx_world_init(&fleet.w);
    hex(fleet.w.device.ed_pub, 32, device_pub_hex);
    fleet.img_len = img_len;
    bx_image(image, img_len, 3, compressible);
    assert_int_equal(nb_sha256(image, img_len, fleet.image_sha), NB_OK);
    bx_create(&fleet.w, image, img_len, &spec, &fleet.b);
    bx_header(&fleet.b, &fleet.h);
    assert_int_equal(nb_codec_init(&codec), NB_OK);
    return 0;
}

int ax_group_setup(void **state)
{
    (void)state;
    return group_setup(AX_IMG_LEN, true, NB_COMPRESSION_ZSTD);
}

int ax_group_setup_batch(void **state)
{
    (void)state;
    return group_setup(AX_BATCH_FRAMES * AX_FS, false, NB_COMPRESSION_NONE);
}

int ax_group_teardown(void **state)
{
    (void)state;
    nb_codec_fini(&codec);
    bx_free(&fleet.b);
    return 0;
}
