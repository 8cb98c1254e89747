/* Unit tests for the agent core (lib/agent/) on a simulated device, driven
 * by a fake server and a virtual clock: polling with jitter, back-off and
 * Retry-After; a full update through reboot, health and commit; director
 * instruction refusals (SECURITY.md 16-18, 26, 27) each reported with its
 * code and leaving the other slot unbootable; a dropped answer mid-download
 * that re-fetches only that frame; power cuts at every flash operation of
 * the install and of the commit, each followed by a reboot and a resume.
 * Users in the loop: the install policies (auto, download-only, window on
 * the virtual wall clock, ask), the commands (install-now, schedule-at,
 * postpone, retry, cancel) and their refusals, the events, and a remedy
 * for every error code. */
#include "device_fixture.h"

#include <nobrick/agent.h>
#include <nobrick/codec.h>
#include <nobrick/encoding.h>
#include <nobrick/journal.h>
#include <nobrick/remedy.h>

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define FS 4096u
#define IMG_LEN (40u * 1024)
#define TABLE_CAP (16u + 80u * 64)
#define DEP 7

static struct bx_world W;
static struct bx_bundle B; /* 1.2.3, counter 4, thermo-v3, frames of 4 KiB */
static struct nb_bundle_header H;
static uint8_t image[IMG_LEN], image_sha[NB_SHA256_LEN];
static uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN], window[FS], table[TABLE_CAP];
static uint8_t resp_buf[64 * 1024];
static struct nb_codec codec;
static const struct dx_image factory = {"1.0.0", 1, 30000, 7, NULL};

/* ---- virtual clock and seeded random ---------------------------------------- */
struct vclock {
    uint64_t ms;
    int64_t unix_s;
};
static enum nb_err vc_now(void *ctx, uint64_t *out)
{
    *out = ((struct vclock *)ctx)->ms;
    return NB_OK;
}
static enum nb_err vc_unix(void *ctx, int64_t *out)
{
    const struct vclock *c = ctx;
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
enum tamper { T_NONE, T_DEVICE, T_NONCE, T_EXPIRED, T_SIG, T_VERSION, T_OLD_ISSUED };

struct fake {
    bool offer;
    enum tamper tamper;
    int down;            /* the next N requests fail at the transport */
    int busy;            /* the next N requests get 503 + Retry-After */
    int drop_frame;      /* this frame's first fetch is lost (-1: none) */
    bool stop_on_commit; /* stop offering once "committed" is reported */
    int checkins, meta_gets, frame_gets[64];
    char installed[64]; /* installed_version of the last check-in */
    char states[64][24], codes[64][24];
    int n_reports;
};

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

static char *instruction(const struct fake *f, const char *nonce)
{
    static char payload[2048], text[8192];
    char env_sha[65], bundle_sha[65];
    uint8_t d[32];
    assert_int_equal(nb_sha256(B.data + H.envelope_off, H.envelope_len, d), NB_OK);
    hex(d, 32, env_sha);
    assert_int_equal(nb_sha256(B.data, B.len, d), NB_OK);
    hex(d, 32, bundle_sha);
    int64_t issued = FX_NOW, expires = FX_NOW + (f->tamper == T_EXPIRED ? 50 : 3600);
    (void)snprintf(payload, sizeof payload,
                   "{\"type\":\"director\",\"spec\":1,\"device_id\":\"%s\",\"nonce\":\"%s\","
                   "\"deployment_id\":%d,\"release\":{\"version\":\"%s\",\"security_counter\":4,"
                   "\"envelope_sha256\":\"%s\",\"bundle_sha256\":\"%s\",\"bundle_size\":%zu},"
                   "\"issued_at\":%lld,\"expires\":%lld}",
                   f->tamper == T_DEVICE ? W.other_device.keyid : W.device.keyid,
                   f->tamper == T_NONCE ? "00112233445566778899aabbccddeeff" : nonce, DEP,
                   f->tamper == T_VERSION ? "9.9.9" : "1.2.3", env_sha, bundle_sha, B.len,
                   (long long)issued, (long long)expires);
    const struct nb_keyfile *signer[] = {f->tamper == T_SIG ? &W.release : &W.director};
    fx_envelope(NB_PAYLOAD_DIRECTOR, payload, strlen(payload), signer, 1, text, sizeof text);
    return text;
}

static void serve_checkin(struct fake *f, const struct nb_agent_request *q,
                          struct nb_agent_response *r)
{
    char url[64];
    json_t *in = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(in);
    const char *nonce = json_string_value(json_object_get(in, "nonce"));
    assert_non_null(nonce);
    (void)snprintf(f->installed, sizeof f->installed, "%s",
                   json_string_value(json_object_get(in, "installed_version")));
    f->checkins++;
    (void)snprintf(url, sizeof url, "/api/v1/device/releases/3/bundle");
    json_t *o =
        json_pack("{s:s, s:i, s:i}", "action", "none", "poll_after", 900, "poll_jitter", 180);
    if (f->offer) {
        json_object_set_new(o, "action", json_string("install"));
        json_object_set_new(o, "deployment_id", json_integer(DEP));
        json_object_set_new(o, "instruction", json_string(instruction(f, nonce)));
        json_object_set_new(
            o, "bundle",
            json_pack("{s:s, s:I, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}}", "url", url, "size",
                      (json_int_t)B.len, "envelope", "offset", (json_int_t)H.envelope_off, "length",
                      (json_int_t)H.envelope_len, "table", "offset", (json_int_t)H.table_off,
                      "length", (json_int_t)H.table_len, "frames", "offset",
                      (json_int_t)H.frames_off, "length", (json_int_t)H.frames_len));
    }
    size_t n = json_dumpb(o, (char *)resp_buf, sizeof resp_buf, JSON_COMPACT);
    assert_true(n > 0 && n < sizeof resp_buf);
    r->status = 200;
    r->body_len = n;
    json_decref(o);
    json_decref(in);
}

static void serve_report(struct fake *f, const struct nb_agent_request *q,
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

static void serve_range(struct fake *f, const struct nb_agent_request *q,
                        struct nb_agent_response *r)
{
    assert_true(q->range && q->range_last < B.len && q->range_first <= q->range_last);
    size_t n = (size_t)(q->range_last - q->range_first + 1);
    if (q->range_first == H.envelope_off) {
        f->meta_gets++;
    } else {
        for (uint32_t i = 0; i < 64; i++) {
            struct nb_frame_entry e;
            bx_entry(&B, i, &e);
            if (H.frames_off + e.stored_off != q->range_first)
                continue;
            if (f->frame_gets[i]++ == 0 && (int)i == f->drop_frame) {
                r->err = NB_ETIMEOUT; /* the answer never comes */
                return;
            }
            break;
        }
    }
    memcpy(resp_buf, B.data + q->range_first, n);
    r->status = 206;
    r->body_len = n;
}

static char device_pub_hex[65];

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
    assert_int_equal(nb_ed25519_verify(W.device.ed_pub, pae, pae_len, sig), NB_OK);
}

static void serve(struct fake *f, const struct nb_agent_request *q, struct nb_agent_response *r)
{
    json_t *in = q->body != NULL ? json_loadb(q->body, q->body_len, 0, NULL) : NULL;
    memset(r, 0, sizeof *r);
    r->body = resp_buf;
    if (f->down > 0) {
        f->down--;
        r->err = NB_EIO;
    } else if (f->busy > 0) {
        f->busy--;
        r->retry_after_s = 42;
        reply(r, 503, "{\"error\":{\"code\":\"E_BUSY\"}}");
    } else if (strcmp(q->path, "/api/v1/device/enrol") == 0) {
        check_signed(NB_AGENT_ENROL_TYPE, json_string_value(json_object_get(in, "public_key")),
                     json_string_value(json_object_get(in, "hw_class")),
                     json_string_value(json_object_get(in, "signature")));
        reply(r, 200, "{\"device_id\":\"x\",\"state\":\"active\"}");
    } else if (strcmp(q->path, "/api/v1/device/challenge") == 0) {
        reply(r, 200,
              "{\"challenge\":\"" /* 64 hex */
              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}");
    } else if (strcmp(q->path, "/api/v1/device/token") == 0) {
        /* The device proves its key: the signature is checked here. */
        check_signed(NB_AGENT_AUTH_TYPE, W.device.keyid,
                     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                     json_string_value(json_object_get(in, "signature")));
        reply(r, 200, "{\"token\":\"nbd_test\",\"expires_in\":900}");
    } else if (strcmp(q->path, "/api/v1/device/checkin") == 0) {
        serve_checkin(f, q, r);
    } else if (strcmp(q->path, "/api/v1/device/reports") == 0) {
        serve_report(f, q, r);
    } else {
        serve_range(f, q, r);
    }
    json_decref(in);
}

/* ---- the device and the driver loop ------------------------------------------------ */
struct rig {
    struct dx_device d;
    struct nb_dualrec journal;
    struct vclock clock;
    uint64_t seed;
    struct nb_agent a;
    uint64_t waits_ms[16]; /* lengths of the waits, in order */
    int n_waits;
    enum nb_agent_policy policy;
    uint16_t win_start, win_end;
    uint32_t reboot_delay_s;
    struct nb_agent_event ev[256]; /* the events, in order (progress after the first 8 dropped) */
    int n_ev, n_progress;
};

static void on_event(void *ctx, const struct nb_agent_event *ev)
{
    struct rig *g = ctx;
    if (ev->kind == NB_AGENT_EV_PROGRESS && g->n_progress++ >= 8)
        return;
    assert_true(g->n_ev < 256);
    g->ev[g->n_ev++] = *ev;
}

/* Index of the first event of kind k from index from on, or -1. */
static int ev_find(const struct rig *g, enum nb_agent_event_kind k, int from)
{
    for (int i = from; i < g->n_ev; i++)
        if (g->ev[i].kind == k)
            return i;
    return -1;
}

static void rig_provision(struct rig *g)
{
    struct nb_boot_result br;
    memset(g, 0, sizeof *g);
    dx_provision(&g->d, &W, &factory, false);
    assert_int_equal(dx_boot(&g->d, &br), NB_OK); /* writes the capabilities */
    g->clock.unix_s = FX_NOW + 100;
    g->seed = 0x9E3779B97F4A7C15u;
}

/* A new core, as after a power-on; running: what booted. */
static void rig_agent(struct rig *g, bool once, bool running_known, enum nb_bootctl_slot_id running)
{
    struct dx_device *d = &g->d;
    assert_int_equal(nb_dualrec_init(&g->journal, &d->flash, d->layout.journal[0],
                                     d->layout.journal[1], NB_JOURNAL_MAGIC),
                     NB_OK);
    struct nb_agent_config cfg = {.device_id = W.device.keyid,
                                  .public_key = device_pub_hex,
                                  .poll_interval_s = 60,
                                  .poll_jitter_s = 0,
                                  .backoff_min_s = 2,
                                  .backoff_max_s = 64,
                                  .frame_retries = 2,
                                  .once = once,
                                  .running_known = running_known,
                                  .running = running,
                                  .policy = g->policy,
                                  .window_start_min = g->win_start,
                                  .window_end_min = g->win_end,
                                  .reboot_delay_s = g->reboot_delay_s};
    struct nb_agent_env env = {
        .clock = {&vclock_ops, &g->clock},
        .rng = {&vrng_ops, &g->seed},
        .dev = {&d->flash, &d->layout, nb_bootctl_flash_control(&d->bootctl), &g->journal, &W.root,
                "thermo-v3", NULL, NULL, NULL, 3},
        .sign = sign_cb,
        .sign_ctx = &W.device,
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
    nb_agent_init(&g->a, &cfg, &env);
}

/* Runs the core until REBOOT or DONE (or max_waits waits); returns the last
 * action. health_ok answers HEALTH. */
static struct nb_agent_action drive(struct rig *g, struct fake *f, bool health_ok, int max_waits)
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

static void record(struct rig *g, struct nb_bootctl *bc)
{
    dx_record(&g->d, bc);
}

static struct nb_journal_agent journal_of(struct rig *g)
{
    struct nb_journal j;
    assert_int_equal(nb_journal_load(&g->journal, &j, NULL), NB_OK);
    return j.agent;
}

static bool reported(const struct fake *f, const char *state, const char *code)
{
    for (int i = 0; i < f->n_reports; i++)
        if (strcmp(f->states[i], state) == 0 && (code == NULL || strcmp(f->codes[i], code) == 0))
            return true;
    return false;
}

/* Power on (the bootloader) and check what booted. */
static void power_on(struct rig *g, enum nb_bootctl_slot_id want, const char *version)
{
    struct nb_boot_result br;
    dx_reboot(&g->d);
    assert_int_equal(dx_boot(&g->d, &br), NB_OK);
    assert_int_equal(br.slot, want);
    assert_string_equal(br.version, version);
}

static int group_setup(void **state)
{
    (void)state;
    struct bx_spec spec = {.frame_size = FS, .compression = NB_COMPRESSION_ZSTD};
    bx_world_init(&W);
    hex(W.device.ed_pub, 32, device_pub_hex);
    bx_image(image, IMG_LEN, 3, true);
    assert_int_equal(nb_sha256(image, IMG_LEN, image_sha), NB_OK);
    bx_create(&W, image, IMG_LEN, &spec, &B);
    bx_header(&B, &H);
    assert_int_equal(nb_codec_init(&codec), NB_OK);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    nb_codec_fini(&codec);
    bx_free(&B);
    return 0;
}

/* ---- tests -------------------------------------------------------------------------- */

/* Nothing to do: the next check-in comes poll_after + 0..jitter later (the
 * server's values, not the configured ones). Then the server vanishes:
 * waits grow 2, 4, 8, ... s (+ up to half at random), never past 64 s;
 * then a 503 with Retry-After: exactly its 42 s. */
static void test_poll_backoff_retry_after(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.drop_frame = -1};
    rig_provision(&g);
    rig_agent(&g, false, true, NB_BOOTCTL_A);
    drive(&g, &f, true, 1);
    assert_int_equal(f.checkins, 1);
    assert_true(g.waits_ms[0] >= 900000 && g.waits_ms[0] <= 1080000);
    f.down = 9;
    drive(&g, &f, true, 1 + 9);
    assert_int_equal(f.checkins, 1);
    uint64_t base = 2000;
    for (int i = 1; i <= 9; i++) {
        uint64_t w = g.waits_ms[i], cap = 64000;
        assert_true(w >= (base < cap ? base : cap) && w <= cap);
        assert_true(w <= base + base / 2);
        base *= 2;
    }
    assert_int_equal(g.waits_ms[9], 64000);
    f.busy = 1;
    drive(&g, &f, true, 1 + 9 + 2);
    assert_int_equal(g.waits_ms[10], 42000); /* Retry-After */
    assert_true(g.waits_ms[11] >= 900000);   /* then a normal poll */
    assert_int_equal(f.checkins, 2);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* A whole update: install into B (each frame fetched once), reboot, trial
 * boot, health passes, commit, "committed" reported, and only then a
 * check-in on the new version. */
static void test_full_update(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1, .stop_on_commit = true};
    struct nb_bootctl bc;
    rig_provision(&g);
    rig_agent(&g, true, true, NB_BOOTCTL_A);
    struct nb_agent_action act = drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_REBOOT);
    assert_int_equal(f.meta_gets, 1);
    for (uint32_t i = 0; i < IMG_LEN / FS; i++)
        assert_int_equal(f.frame_gets[i], 1);
    assert_true(reported(&f, "downloading", NULL) && reported(&f, "installing", NULL) &&
                reported(&f, "rebooting", NULL));
    assert_false(reported(&f, "committed", NULL));
    record(&g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_TRIAL);
    assert_memory_equal(bc.slot[NB_BOOTCTL_B].sha256, image_sha, 32);
    assert_int_equal(journal_of(&g).owed, NB_JOURNAL_OWED_TRIAL);
    assert_true(journal_of(&g).time_floor == FX_NOW);
    nb_agent_fini(&g.a);

    power_on(&g, NB_BOOTCTL_B, "1.2.3");
    rig_agent(&g, true, true, NB_BOOTCTL_B);
    act = drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_DONE);
    assert_int_equal(act.result, NB_OK);
    assert_true(reported(&f, "committed", NULL));
    assert_string_equal(f.installed, "1.2.3");
    record(&g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_GOOD);
    assert_int_equal(bc.primary, NB_BOOTCTL_B);
    assert_int_equal(bc.min_security_counter, 4);
    assert_int_equal(journal_of(&g).owed, NB_JOURNAL_OWED_NONE);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* The new image fails its health check: rejected, reboot into A, then
 * "rolled_back" with E_HEALTH; the counter is not raised. */
static void test_health_failure_rolls_back(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1};
    struct nb_bootctl bc;
    rig_provision(&g);
    rig_agent(&g, true, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    nb_agent_fini(&g.a);
    power_on(&g, NB_BOOTCTL_B, "1.2.3");
    rig_agent(&g, true, true, NB_BOOTCTL_B);
    assert_int_equal(drive(&g, &f, false, 100).what, NB_AGENT_REBOOT);
    assert_false(reported(&f, "committed", NULL));
    nb_agent_fini(&g.a);
    power_on(&g, NB_BOOTCTL_A, "1.0.0");
    f.offer = false;
    rig_agent(&g, true, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_DONE);
    assert_true(reported(&f, "rolled_back", "E_HEALTH"));
    assert_string_equal(f.installed, "1.0.0");
    record(&g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_BAD);
    assert_int_equal(bc.min_security_counter, 1);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* Each forged or stale instruction is refused with its code, reported,
 * nothing is fetched (or, for a release mismatch, nothing written), the
 * active slot is intact and B is not bootable; the next good cycle works. */
static void refusal(enum tamper t, enum nb_err want, bool fetches)
{
    struct rig g;
    struct fake f = {.offer = true, .tamper = t, .drop_frame = -1};
    struct nb_bootctl bc;
    rig_provision(&g);
    rig_agent(&g, true, true, NB_BOOTCTL_A);
    if (t == T_OLD_ISSUED) {
        /* A device that once accepted an instruction issued later. */
        struct nb_journal j;
        assert_int_equal(nb_journal_load(&g.journal, &j, NULL), NB_OK);
        j.agent.time_floor = FX_NOW + 50;
        assert_int_equal(nb_journal_store(&g.journal, &j), NB_OK);
    }
    struct nb_agent_action act = drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_DONE);
    assert_int_equal(act.result, want);
    assert_true(reported(&f, "failed", nb_errname(want)));
    int fe = ev_find(&g, NB_AGENT_EV_FAILED, 0);
    assert_true(fe >= 0);
    assert_int_equal(g.ev[fe].code, want); /* the UI is told, with the code */
    assert_int_equal(f.meta_gets, fetches ? 1 : 0);
    assert_int_equal(f.frame_gets[0], 0);
    record(&g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_EMPTY);
    assert_int_equal(bc.primary, NB_BOOTCTL_A);
    assert_true(dx_slot_intact(&g.d, NB_BOOTCTL_A, factory.len));
    nb_agent_fini(&g.a);
    f.tamper = T_NONE;
    rig_agent(&g, true, true, NB_BOOTCTL_A);
    g.clock.unix_s = t == T_OLD_ISSUED ? FX_NOW : g.clock.unix_s;
    act = drive(&g, &f, true, 100);
    if (t != T_OLD_ISSUED)
        assert_int_equal(act.what, NB_AGENT_REBOOT);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

static void test_refuse_other_device(void **state)
{
    (void)state;
    refusal(T_DEVICE, NB_ENOT_FOR_DEVICE, false);
}
static void test_refuse_old_nonce(void **state)
{
    (void)state;
    refusal(T_NONCE, NB_EFRESHNESS, false);
}
static void test_refuse_expired(void **state)
{
    (void)state;
    refusal(T_EXPIRED, NB_EEXPIRED, false);
}
static void test_refuse_bad_signature(void **state)
{
    (void)state;
    refusal(T_SIG, NB_ESIG, false);
}
static void test_refuse_release_mismatch(void **state)
{
    (void)state;
    refusal(T_VERSION, NB_EMISMATCH, true);
}
static void test_refuse_before_time_floor(void **state)
{
    (void)state;
    refusal(T_OLD_ISSUED, NB_EROLLBACK, false);
}

/* The answer for frame 4 is lost: after a back-off, frame 4 alone is
 * fetched again, no frame before it. */
static void test_resume_after_lost_answer(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = 4};
    rig_provision(&g);
    rig_agent(&g, true, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    for (uint32_t i = 0; i < IMG_LEN / FS; i++)
        assert_int_equal(f.frame_gets[i], i == 4 ? 2 : 1);
    assert_int_equal(f.meta_gets, 1);
    assert_int_equal(g.n_waits, 1);
    assert_true(g.waits_ms[0] >= 2000 && g.waits_ms[0] <= 3000);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* Flash operations (programs + erases) of the device so far. */
static uint64_t flash_ops(struct rig *g)
{
    struct nb_flash_sim_stats st;
    nb_flash_sim_stats(g->d.sim, &st);
    return st.programs + st.erases;
}

/* The power is cut at every flash operation of the online install (torn
 * on odd ones): the device boots the old image, and the next power-on's
 * agent finishes the job, fetching again only frames not already in B. */
static void test_power_cut_during_install(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1};
    rig_provision(&g);
    nb_flash_sim_reset_stats(g.d.sim);
    rig_agent(&g, true, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    uint64_t total = flash_ops(&g);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
    assert_true(total > 10);
    for (uint64_t cut = 0; cut < total; cut++) {
        struct nb_bootctl bc;
        struct fake f2 = {.offer = true, .drop_frame = -1};
        rig_provision(&g);
        nb_flash_sim_cut_after(g.d.sim, cut, cut % 2 == 1, cut + 1);
        rig_agent(&g, true, true, NB_BOOTCTL_A);
        struct nb_agent_action act = drive(&g, &f2, true, 100);
        assert_int_equal(act.what, NB_AGENT_DONE);
        assert_true(act.result == NB_EIO || act.result == NB_EPOWER);
        nb_agent_fini(&g.a);
        int gets_before = 0;
        for (int i = 0; i < 64; i++)
            gets_before += f2.frame_gets[i];
        /* A cut after the trial was armed boots it: the agent then checks
         * and commits it instead of installing. */
        struct nb_boot_result br;
        dx_reboot(&g.d);
        assert_int_equal(dx_boot(&g.d, &br), NB_OK);
        memset(f2.frame_gets, 0, sizeof f2.frame_gets);
        rig_agent(&g, true, true, br.slot);
        act = drive(&g, &f2, true, 100);
        record(&g, &bc);
        if (br.slot == NB_BOOTCTL_B) {
            assert_int_equal(act.result, NB_OK);
            assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_GOOD);
            assert_true(reported(&f2, "committed", NULL));
            nb_agent_fini(&g.a);
            dx_close(&g.d);
            continue;
        }
        assert_int_equal(act.what, NB_AGENT_REBOOT);
        int gets_after = 0;
        for (int i = 0; i < 64; i++)
            gets_after += f2.frame_gets[i];
        /* Frames verified in the slot before the cut are not fetched again
         * (the one being written when the power went may be). */
        assert_true(gets_after <= (int)(IMG_LEN / FS) - (gets_before > 1 ? gets_before - 1 : 0));
        assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_TRIAL);
        assert_memory_equal(bc.slot[NB_BOOTCTL_B].sha256, image_sha, 32);
        assert_true(dx_slot_intact(&g.d, NB_BOOTCTL_A, factory.len));
        nb_agent_fini(&g.a);
        dx_close(&g.d);
    }
}

/* The power is cut at every flash operation of the commit after the trial
 * boot: whatever the cut, the next power-ons end with B committed and
 * "committed" reported, never a trial reported as a success. */
static void test_power_cut_during_commit(void **state)
{
    (void)state;
    for (uint64_t cut = 0;; cut++) {
        struct rig g;
        struct fake f = {.offer = true, .drop_frame = -1, .stop_on_commit = true};
        struct nb_bootctl bc;
        rig_provision(&g);
        rig_agent(&g, true, true, NB_BOOTCTL_A);
        assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
        nb_agent_fini(&g.a);
        power_on(&g, NB_BOOTCTL_B, "1.2.3");
        nb_flash_sim_reset_stats(g.d.sim);
        nb_flash_sim_cut_after(g.d.sim, cut, cut % 2 == 1, cut + 7);
        rig_agent(&g, true, true, NB_BOOTCTL_B);
        struct nb_agent_action act = drive(&g, &f, true, 100);
        bool was_cut = nb_flash_sim_power_lost(g.d.sim);
        nb_agent_fini(&g.a);
        if (!was_cut) {
            assert_int_equal(act.result, NB_OK);
            dx_close(&g.d);
            assert_true(cut >= 2); /* the commit writes the record and the journal */
            break;
        }
        assert_false(strcmp(f.installed, "1.2.3") == 0 && !reported(&f, "committed", NULL));
        dx_reboot(&g.d);
        struct nb_boot_result br;
        assert_int_equal(dx_boot(&g.d, &br), NB_OK);
        assert_int_equal(br.slot, NB_BOOTCTL_B); /* a try left, or committed */
        rig_agent(&g, true, true, NB_BOOTCTL_B);
        act = drive(&g, &f, true, 100);
        assert_int_equal(act.what, NB_AGENT_DONE);
        assert_int_equal(act.result, NB_OK);
        assert_true(reported(&f, "committed", NULL));
        dx_record(&g.d, &bc);
        assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_GOOD);
        assert_int_equal(journal_of(&g).owed, NB_JOURNAL_OWED_NONE);
        nb_agent_fini(&g.a);
        dx_close(&g.d);
    }
}

/* ---- users in the loop --------------------------------------------------------------- */

static enum nb_err command(struct rig *g, enum nb_agent_command_kind k, int64_t at_s,
                           uint32_t seconds)
{
    struct nb_agent_command c = {k, at_s, seconds};
    struct nb_diag d = {{0}};
    enum nb_err err = nb_agent_command(&g->a, &c, &d);
    assert_true(err == NB_OK || d.msg[0] != '\0'); /* a refusal says why */
    return err;
}

static int64_t wall(const struct rig *g)
{
    return g->clock.unix_s + (int64_t)(g->clock.ms / 1000);
}

static enum nb_bootctl_state slot_b(struct rig *g)
{
    struct nb_bootctl bc;
    record(g, &bc);
    return bc.slot[NB_BOOTCTL_B].state;
}

/* auto: available, progress up to every frame, installing, rebooting in
 * 0 s, with no wait and nothing asked. */
static void test_policy_auto(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1};
    rig_provision(&g);
    rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    assert_int_equal(g.n_waits, 0);
    int av = ev_find(&g, NB_AGENT_EV_AVAILABLE, 0), pr = ev_find(&g, NB_AGENT_EV_PROGRESS, 0);
    int in = ev_find(&g, NB_AGENT_EV_INSTALLING, 0), rb = ev_find(&g, NB_AGENT_EV_REBOOTING, 0);
    assert_true(av == 0 && pr > av && in > pr && rb > in);
    assert_string_equal(g.ev[av].version, "1.2.3");
    assert_int_equal(g.ev[av].bytes_total, H.frames_len);
    assert_int_equal(g.ev[rb].in_s, 0);
    assert_int_equal(ev_find(&g, NB_AGENT_EV_READY, 0), -1);
    assert_int_equal(slot_b(&g), NB_BOOTCTL_TRIAL);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* download-only: every frame is fetched and verified, then READY and a
 * hold that outlasts hours of waits with nothing armed; install-now
 * finishes it. Untimely commands are refused and change nothing. */
static void test_policy_download_only(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1};
    struct nb_agent_status st;
    rig_provision(&g);
    g.policy = NB_AGENT_POLICY_DOWNLOAD_ONLY;
    rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(command(&g, NB_AGENT_CMD_CANCEL, 0, 0), NB_EINVAL); /* nothing yet */
    assert_int_equal(drive(&g, &f, true, 3).what, NB_AGENT_WAIT);
    for (uint32_t i = 0; i < IMG_LEN / FS; i++)
        assert_int_equal(f.frame_gets[i], 1);
    assert_true(ev_find(&g, NB_AGENT_EV_READY, 0) > ev_find(&g, NB_AGENT_EV_PROGRESS, 0));
    assert_int_equal(ev_find(&g, NB_AGENT_EV_INSTALLING, 0), -1);
    assert_int_not_equal(slot_b(&g), NB_BOOTCTL_TRIAL);
    assert_int_equal(f.checkins, 1); /* holding: no more check-ins */
    nb_agent_status(&g.a, &st);
    assert_string_equal(st.phase_name, "ready");
    assert_string_equal(st.version, "1.2.3");
    assert_int_equal(command(&g, NB_AGENT_CMD_RETRY, 0, 0), NB_EINVAL);
    assert_int_equal(command(&g, NB_AGENT_CMD_POSTPONE, 0, 0), NB_EINVAL);
    assert_int_equal(command(&g, NB_AGENT_CMD_INSTALL_NOW, 0, 0), NB_OK);
    int waits = g.n_waits;
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    assert_int_equal(g.n_waits, waits); /* at once */
    assert_true(ev_find(&g, NB_AGENT_EV_INSTALLING, 0) > 0);
    assert_int_equal(slot_b(&g), NB_BOOTCTL_TRIAL);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* window 02:00-03:00 UTC, the clock at 22:15: downloaded at once, then
 * scheduled for the next 02:00, re-checked hourly, installed and rebooted
 * inside the window after a 30 s countdown. */
static void test_policy_window(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1};
    rig_provision(&g);
    g.policy = NB_AGENT_POLICY_WINDOW;
    g.win_start = 2 * 60;
    g.win_end = 3 * 60;
    g.reboot_delay_s = 30;
    int64_t start = wall(&g), sod = start % 86400;
    assert_int_equal(sod, 22 * 3600 + 15 * 60);
    rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 2).what, NB_AGENT_WAIT);
    assert_int_equal(g.waits_ms[0], 3600000);
    int sc = ev_find(&g, NB_AGENT_EV_SCHEDULED, 0);
    assert_true(sc > ev_find(&g, NB_AGENT_EV_READY, 0));
    assert_true(g.ev[sc].at_s == start - sod + 86400 + 2 * 3600);
    assert_int_equal(ev_find(&g, NB_AGENT_EV_SCHEDULED, sc + 1), -1); /* told once */
    assert_int_equal(ev_find(&g, NB_AGENT_EV_INSTALLING, 0), -1);
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    int64_t at = wall(&g) % 86400;
    assert_true(at >= 2 * 3600 + 30 && at < 3 * 3600); /* rebooted inside the window */
    int rb = ev_find(&g, NB_AGENT_EV_REBOOTING, 0);
    assert_true(rb > 0 && g.ev[rb].in_s == 30);
    assert_int_equal(slot_b(&g), NB_BOOTCTL_TRIAL);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* ask: announced, nothing fetched while it waits (cellular data costs);
 * postpone 600 s schedules it; then it downloads and installs unasked. */
static void test_policy_ask_postpone(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1};
    rig_provision(&g);
    g.policy = NB_AGENT_POLICY_ASK;
    rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 3).what, NB_AGENT_WAIT);
    assert_int_equal(ev_find(&g, NB_AGENT_EV_AVAILABLE, 0), 0);
    assert_int_equal(f.meta_gets, 0);
    assert_int_equal(f.frame_gets[0], 0);
    struct nb_agent_status st;
    nb_agent_status(&g.a, &st);
    assert_string_equal(st.phase_name, "available");
    int64_t now = wall(&g);
    assert_int_equal(command(&g, NB_AGENT_CMD_POSTPONE, 0, 600), NB_OK);
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    int sc = ev_find(&g, NB_AGENT_EV_SCHEDULED, 0);
    assert_true(sc > 0 && g.ev[sc].at_s == now + 600);
    assert_true(wall(&g) >= now + 600);
    assert_int_equal(f.meta_gets, 1);
    assert_int_equal(slot_b(&g), NB_BOOTCTL_TRIAL);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* ask + schedule_at two hours ahead: nothing before, installed after. */
static void test_policy_schedule_at(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1};
    rig_provision(&g);
    g.policy = NB_AGENT_POLICY_ASK;
    rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 1).what, NB_AGENT_WAIT);
    int64_t at = wall(&g) + 7200;
    assert_int_equal(command(&g, NB_AGENT_CMD_SCHEDULE_AT, at, 0), NB_OK);
    assert_int_equal(drive(&g, &f, true, 2).what, NB_AGENT_WAIT); /* 3600 s, then 3600 s */
    assert_int_equal(f.meta_gets, 0);
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    assert_true(wall(&g) >= at);
    assert_int_equal(f.meta_gets, 1);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* cancel: the ready update is dropped (CANCELLED), the same deployment
 * offered at the next check-in is ignored; retry checks in at once and
 * takes it again, and the frames already in the slot are not fetched
 * again. */
static void test_policy_cancel_retry(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1};
    rig_provision(&g);
    g.policy = NB_AGENT_POLICY_DOWNLOAD_ONLY;
    rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 1).what, NB_AGENT_WAIT);
    assert_true(ev_find(&g, NB_AGENT_EV_READY, 0) > 0);
    assert_int_equal(command(&g, NB_AGENT_CMD_CANCEL, 0, 0), NB_OK);
    assert_int_equal(drive(&g, &f, true, 3).what, NB_AGENT_WAIT); /* polls on */
    assert_true(ev_find(&g, NB_AGENT_EV_CANCELLED, 0) > 0);
    assert_true(f.checkins >= 2);
    assert_int_equal(ev_find(&g, NB_AGENT_EV_AVAILABLE, 1), -1); /* not offered again */
    assert_int_equal(command(&g, NB_AGENT_CMD_INSTALL_NOW, 0, 0), NB_EINVAL);
    int checkins = f.checkins;
    /* The fake's instruction expires an hour after FX_NOW: the wall clock
     * (which may jump) is set back so the retried one is still valid. */
    g.clock.unix_s = FX_NOW + 100 - (int64_t)(g.clock.ms / 1000);
    assert_int_equal(command(&g, NB_AGENT_CMD_RETRY, 0, 0), NB_OK);
    assert_int_equal(drive(&g, &f, true, g.n_waits + 1).what, NB_AGENT_WAIT);
    assert_int_equal(f.checkins, checkins + 1);
    assert_true(ev_find(&g, NB_AGENT_EV_AVAILABLE, 1) > 0);
    for (uint32_t i = 0; i < IMG_LEN / FS; i++)
        assert_int_equal(f.frame_gets[i], 1);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* The countdown: "rebooting in 60 s"; postpone makes it 120 s more (a new
 * event); cancel is refused (the trial is armed); install-now reboots at
 * once. */
static void test_policy_reboot_countdown(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1};
    rig_provision(&g);
    g.reboot_delay_s = 60;
    rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 1).what, NB_AGENT_WAIT);
    assert_int_equal(g.waits_ms[0], 60000);
    assert_int_equal(command(&g, NB_AGENT_CMD_POSTPONE, 0, 120), NB_OK);
    int second = ev_find(&g, NB_AGENT_EV_REBOOTING, ev_find(&g, NB_AGENT_EV_REBOOTING, 0) + 1);
    assert_true(second > 0 && g.ev[second].in_s == 120);
    assert_int_equal(command(&g, NB_AGENT_CMD_CANCEL, 0, 0), NB_EINVAL);
    assert_int_equal(drive(&g, &f, true, 2).what, NB_AGENT_WAIT);
    assert_int_equal(g.waits_ms[1], 120000);
    assert_int_equal(command(&g, NB_AGENT_CMD_POSTPONE, 0, 500), NB_OK);
    assert_int_equal(command(&g, NB_AGENT_CMD_INSTALL_NOW, 0, 0), NB_OK);
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    assert_int_equal(g.n_waits, 2);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* Health failure and success reach the UI: FAILED with E_HEALTH and the
 * failing check, SUCCEEDED on commit. */
static void test_events_health(void **state)
{
    (void)state;
    struct rig g;
    struct fake f = {.offer = true, .drop_frame = -1};
    rig_provision(&g);
    rig_agent(&g, true, true, NB_BOOTCTL_A);
    assert_int_equal(drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    nb_agent_fini(&g.a);
    power_on(&g, NB_BOOTCTL_B, "1.2.3");
    g.n_ev = 0;
    rig_agent(&g, true, true, NB_BOOTCTL_B);
    assert_int_equal(drive(&g, &f, false, 100).what, NB_AGENT_REBOOT);
    int fe = ev_find(&g, NB_AGENT_EV_FAILED, 0);
    assert_true(fe >= 0 && g.ev[fe].code == NB_EHEALTH && g.ev[fe].retry_in_s == 0);
    assert_string_equal(g.ev[fe].version, "1.2.3");
    assert_non_null(strstr(g.ev[fe].detail, "20-app"));
    assert_int_equal(ev_find(&g, NB_AGENT_EV_SUCCEEDED, 0), -1);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* Every error code in err.h has its own remedy: a sentence and what to do,
 * neither empty nor "something went wrong". */
static void test_remedy_table_covers_err_h(void **state)
{
    (void)state;
    static const enum nb_err codes[] = {
#define NB_ERR_CODE(e, v, name, text) e,
        NB_ERR_TABLE(NB_ERR_CODE)
#undef NB_ERR_CODE
    };
    size_t n = 0;
    const struct nb_remedy *t = nb_remedy_table(&n);
    assert_int_equal(n, sizeof codes / sizeof codes[0] - 1); /* all but NB_OK */
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (codes[i] == NB_OK)
            continue;
        const struct nb_remedy *r = nb_remedy_for(codes[i]);
        assert_int_equal(r->code, codes[i]);
        assert_true(r >= t && r < t + n);
        assert_true(strlen(r->sentence) > 10 && strlen(r->what_to_do) > 5);
        assert_null(strstr(r->sentence, "something went wrong"));
    }
    assert_int_equal(nb_remedy_for((enum nb_err) - 999)->code, NB_EINVAL); /* the fallback */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll_backoff_retry_after),
        cmocka_unit_test(test_full_update),
        cmocka_unit_test(test_health_failure_rolls_back),
        cmocka_unit_test(test_refuse_other_device),
        cmocka_unit_test(test_refuse_old_nonce),
        cmocka_unit_test(test_refuse_expired),
        cmocka_unit_test(test_refuse_bad_signature),
        cmocka_unit_test(test_refuse_release_mismatch),
        cmocka_unit_test(test_refuse_before_time_floor),
        cmocka_unit_test(test_resume_after_lost_answer),
        cmocka_unit_test(test_power_cut_during_install),
        cmocka_unit_test(test_power_cut_during_commit),
        cmocka_unit_test(test_policy_auto),
        cmocka_unit_test(test_policy_download_only),
        cmocka_unit_test(test_policy_window),
        cmocka_unit_test(test_policy_ask_postpone),
        cmocka_unit_test(test_policy_schedule_at),
        cmocka_unit_test(test_policy_cancel_retry),
        cmocka_unit_test(test_policy_reboot_countdown),
        cmocka_unit_test(test_events_health),
        cmocka_unit_test(test_remedy_table_covers_err_h),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
