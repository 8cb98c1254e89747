/* Unit tests of release metadata (lib/core/release.c, semver.c,
 * release_key.c): the strict parser and its caps, the writer, verification
 * against the release role, the hardware check, SemVer, and the content-key
 * wrap. Bundle-level attacks are in test_attacks_bundle.c. */
#include "trust_fixture.h"

#include <nobrick/release.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct nb_keyfile rootk, relk, dirk, other;
static struct nb_root root;
static char payload[NB_PAYLOAD_MAX + 1];
static char edited[NB_PAYLOAD_MAX + 256];
static char text[FX_ENVELOPE_CAP];

static int setup(void **state)
{
    (void)state;
    fx_key(&rootk, NB_KEY_ROOT);
    fx_key(&relk, NB_KEY_RELEASE);
    fx_key(&dirk, NB_KEY_DIRECTOR);
    fx_key(&other, NB_KEY_RELEASE);
    fx_root(&root, 1, FX_NOW + FX_DAY, &rootk, 1, 1, &relk, &dirk);
    return 0;
}

static void good_release(struct nb_release *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->version, "1.2.3-rc.1+build.7", 19);
    r->security_counter = 4;
    memcpy(r->hw_classes[0], "thermo-v3", 10);
    memcpy(r->hw_classes[1], "thermo_V4.b", 12);
    r->n_hw_classes = 2;
    memcpy(r->component, "system", 7);
    r->created = FX_NOW;
    r->image_size = 3 * 4096 - 100;
    memset(r->image_sha256, 0xab, NB_SHA256_LEN);
    r->frame_size = 4096;
    r->frame_count = 3;
    memset(r->table_sha256, 0xcd, NB_SHA256_LEN);
    r->compression = NB_COMPRESSION_ZSTD;
}

static size_t write_release(const struct nb_release *r, const struct nb_recipient *rcp, size_t n)
{
    size_t len = 0;
    struct nb_diag diag = {{0}};
    enum nb_err err = nb_release_write(r, rcp, n, payload, sizeof payload, &len, &diag);
    if (err != NB_OK)
        fail_msg("write: %s", diag.msg);
    return len;
}

/* Parses payload with the first `from` replaced by `to`. */
static enum nb_err parse_edited(const char *from, const char *to, struct nb_diag *diag)
{
    const char *p = strstr(payload, from);
    if (p == NULL)
        fail_msg("'%s' not in %s", from, payload);
    int n = snprintf(edited, sizeof edited, "%.*s%s%s", (int)(p - payload), payload, to,
                     p + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof edited);
    struct nb_release out;
    nb_diag_clear(diag);
    return nb_release_parse((const uint8_t *)edited, (size_t)n, &out, diag);
}

static void write_then_parse_round_trips(void **state)
{
    (void)state;
    struct nb_release r, back;
    good_release(&r);
    size_t len = write_release(&r, NULL, 0);
    assert_true(strncmp(payload,
                        "{\"type\":\"release\",\"spec\":1,\"version\":\"1.2.3-rc.1+build.7\",",
                        55) == 0);
    assert_int_equal(nb_release_parse((const uint8_t *)payload, len, &back, NULL), NB_OK);
    assert_memory_equal(&r, &back, sizeof r);
    /* A missing component means "system". */
    struct nb_diag d = {{0}};
    assert_int_equal(parse_edited("\"component\":\"system\",", "", &d), NB_OK);
    assert_int_equal(nb_release_write(&r, NULL, 0, payload, 20, &len, NULL), NB_ENOSPC);
}

static void encrypted_and_delta_round_trip(void **state)
{
    (void)state;
    struct nb_release r, back;
    struct nb_recipient rcp[2];
    uint8_t key[32], priv[32], pub[32];
    memset(key, 7, sizeof key);
    good_release(&r);
    r.encrypted = true;
    r.has_delta_base = true;
    r.delta_base_size = 5000;
    memset(r.delta_base_sha256, 0x11, 32);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(nb_x25519_keygen(priv, pub), NB_OK);
        assert_int_equal(nb_release_seal_key(key, pub, &rcp[i]), NB_OK);
    }
    size_t len = write_release(&r, rcp, 2);
    assert_int_equal(nb_release_parse((const uint8_t *)payload, len, &back, NULL), NB_OK);
    assert_true(back.encrypted);
    assert_int_equal(back.n_recipients, 2);
    assert_true(back.has_delta_base);
    assert_int_equal(back.delta_base_size, 5000);
    /* Recipients without encryption, or encryption without recipients. */
    assert_int_equal(nb_release_write(&r, NULL, 0, payload, sizeof payload, &len, NULL), NB_EINVAL);
    r.encrypted = false;
    assert_int_equal(nb_release_write(&r, rcp, 2, payload, sizeof payload, &len, NULL), NB_EINVAL);
    /* A delta needs zstd. */
    r.compression = NB_COMPRESSION_NONE;
    assert_int_equal(nb_release_write(&r, NULL, 0, payload, sizeof payload, &len, NULL), NB_EINVAL);
}

static void writer_refuses_what_devices_refuse(void **state)
{
    (void)state;
    struct nb_release r;
    size_t len;
    struct nb_diag d = {{0}};
    good_release(&r);
    memcpy(r.version, "1.2", 4);
    assert_int_equal(nb_release_write(&r, NULL, 0, payload, sizeof payload, &len, &d), NB_EINVAL);
    assert_non_null(strstr(d.msg, "version"));
    good_release(&r);
    memcpy(r.hw_classes[1], "thermo-v3", 10); /* duplicate */
    assert_int_equal(nb_release_write(&r, NULL, 0, payload, sizeof payload, &len, NULL), NB_EINVAL);
    good_release(&r);
    r.frame_count = 4;
    assert_int_equal(nb_release_write(&r, NULL, 0, payload, sizeof payload, &len, NULL), NB_EINVAL);
    good_release(&r);
    r.image_size = UINT64_MAX;
    assert_int_equal(nb_release_write(&r, NULL, 0, payload, sizeof payload, &len, NULL), NB_EINVAL);
    good_release(&r);
    memset(r.component, 'x', sizeof r.component); /* not terminated */
    assert_int_equal(nb_release_write(&r, NULL, 0, payload, sizeof payload, &len, NULL), NB_EINVAL);
}

static void strict_json_is_enforced(void **state)
{
    (void)state;
    struct nb_release r;
    struct nb_diag d = {{0}};
    good_release(&r);
    size_t len = write_release(&r, NULL, 0);
    (void)len;
    /* Duplicate key, unknown field, trailing bytes, wrong types. */
    assert_int_equal(parse_edited("\"spec\":1,", "\"spec\":1,\"spec\":1,", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"spec\":1,", "\"spec\":1,\"critical\":true,", &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "unknown field 'critical'"));
    assert_int_equal(parse_edited("\"compression\":\"zstd\"}", "\"compression\":\"zstd\"} ", &d),
                     NB_OK); /* JSON whitespace is not data */
    assert_int_equal(parse_edited("\"compression\":\"zstd\"}", "\"compression\":\"zstd\"}x", &d),
                     NB_EPARSE);
    assert_int_equal(parse_edited("\"compression\":\"zstd\"}", "\"compression\":\"zstd\"}{}", &d),
                     NB_EPARSE);
    assert_int_equal(parse_edited("\"security_counter\":4", "\"security_counter\":4.0", &d),
                     NB_EPARSE);
    assert_int_equal(parse_edited("\"security_counter\":4", "\"security_counter\":\"4\"", &d),
                     NB_EPARSE);
    assert_int_equal(parse_edited("\"type\":\"release\"", "\"type\":\"root\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"spec\":1", "\"spec\":2", &d), NB_EPARSE);
    assert_int_equal(
        parse_edited("\"image\":{\"size\":12188,", "\"image\":{\"size\":12188,\"x\":1,", &d),
        NB_EPARSE);
    assert_int_equal(parse_edited("\"created\":1700000000,", "", &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "missing field 'created'"));
    assert_int_equal(
        parse_edited("\"version\":\"1.2.3-rc.1+build.7\"", "\"version\":\"1.2.3\\u0000\"", &d),
        NB_EPARSE);
}

static void fields_are_validated(void **state)
{
    (void)state;
    struct nb_release r;
    struct nb_diag d = {{0}};
    good_release(&r);
    (void)write_release(&r, NULL, 0);
    assert_int_equal(parse_edited("1.2.3-rc.1+build.7", "01.2.3", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"thermo-v3\"", "\"thermo v3\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"thermo-v3\"", "\"\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"thermo_V4.b\"", "\"thermo-v3\"", &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "duplicate"));
    assert_int_equal(parse_edited("[\"thermo-v3\",\"thermo_V4.b\"]", "[]", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"system\"", "\"sys/tem\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"compression\":\"zstd\"", "\"compression\":\"gzip\"", &d),
                     NB_EPARSE);
    assert_int_equal(parse_edited("\"size\":4096", "\"size\":4097", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"size\":4096", "\"size\":2048", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"size\":4096", "\"size\":16777216", &d), NB_ELENGTH);
    assert_int_equal(parse_edited("\"count\":3", "\"count\":4", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"count\":3", "\"count\":2", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"size\":12188", "\"size\":0", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"security_counter\":4", "\"security_counter\":-1", &d),
                     NB_EPARSE);
    assert_int_equal(parse_edited("\"created\":1700000000", "\"created\":-5", &d), NB_EPARSE);
    assert_int_equal(parse_edited("abababab", "ABABABAB", &d), NB_EPARSE);
    assert_int_equal(parse_edited("cdcdcdcd", "cdcdcdc", &d), NB_EPARSE);
}

/* SECURITY.md 33: no value wraps; past a cap is E_LENGTH, past what JSON
 * integers carry is E_PARSE. */
static void caps_and_huge_numbers(void **state)
{
    (void)state;
    struct nb_release r;
    struct nb_diag d = {{0}};
    good_release(&r);
    (void)write_release(&r, NULL, 0);
    assert_int_equal(
        parse_edited("\"security_counter\":4", "\"security_counter\":9007199254740992", &d),
        NB_ELENGTH);
    assert_int_equal(parse_edited("\"size\":12188", "\"size\":9223372036854775808", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"size\":12188", "\"size\":1099511627777", &d), NB_ELENGTH);
    assert_int_equal(parse_edited("\"count\":3", "\"count\":4294967295", &d), NB_ELENGTH);
    assert_int_equal(parse_edited("\"count\":3", "\"count\":2147483649", &d), NB_ELENGTH);
    /* Within caps, but 3 frames do not cover them: refused, not wrapped. */
    assert_int_equal(parse_edited("\"size\":12188", "\"size\":4294967295", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"size\":12188", "\"size\":2147483649", &d), NB_EPARSE);
    /* 2^40 bytes in 4 KiB frames would be 2^28 frames: past the frame cap. */
    assert_int_equal(parse_edited("\"count\":3", "\"count\":268435456", &d), NB_ELENGTH);
    char ver[80];
    memset(ver, 0, sizeof ver);
    memcpy(ver, "\"1.2.3-", 7);
    memset(ver + 7, 'a', 60);
    ver[67] = '"';
    assert_int_equal(parse_edited("\"1.2.3-rc.1+build.7\"", ver, &d), NB_ELENGTH);
    char many[2000] = "[";
    for (int i = 0; i < 17; i++)
        (void)snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"c%d\"", i ? "," : "",
                       i);
    memcpy(many + strlen(many), "]", 2);
    assert_int_equal(parse_edited("[\"thermo-v3\",\"thermo_V4.b\"]", many, &d), NB_ELENGTH);
    assert_int_equal(nb_release_parse((const uint8_t *)payload, NB_PAYLOAD_MAX + 1, &r, &d),
                     NB_ELENGTH);
}

static void recipients_are_checked(void **state)
{
    (void)state;
    struct nb_release r;
    struct nb_recipient rcp[2];
    uint8_t key[32] = {1}, priv[32], pub[32];
    struct nb_diag d = {{0}};
    good_release(&r);
    r.encrypted = true;
    assert_int_equal(nb_x25519_keygen(priv, pub), NB_OK);
    assert_int_equal(nb_release_seal_key(key, pub, &rcp[0]), NB_OK);
    rcp[1] = rcp[0];
    size_t len;
    assert_int_equal(nb_release_write(&r, rcp, 2, payload, sizeof payload, &len, &d), NB_EINVAL);
    assert_non_null(strstr(d.msg, "duplicate keyid"));
    (void)write_release(&r, rcp, 1);
    assert_int_equal(parse_edited("\"aes-256-gcm\"", "\"aes-128-gcm\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"epk\":\"", "\"epk\":\"00", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"wrapped\":\"", "\"x\":1,\"wrapped\":\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"recipients\":[", "\"recipients\":[],\"y\":[", &d), NB_EPARSE);
}

static void the_cap_on_recipients_fits_a_payload(void **state)
{
    (void)state;
    static struct nb_recipient rcp[NB_RELEASE_MAX_RECIPIENTS];
    struct nb_release r, back;
    good_release(&r);
    r.encrypted = true;
    for (size_t i = 0; i < NB_RELEASE_MAX_RECIPIENTS; i++) {
        memset(&rcp[i], 0x5a, sizeof rcp[i]);
        (void)snprintf(rcp[i].keyid, sizeof rcp[i].keyid, "%064zx", i);
    }
    for (size_t i = 0; i < NB_RELEASE_MAX_HW_CLASSES; i++) {
        memset(r.hw_classes[i], 'h', NB_HW_CLASS_MAX);
        r.hw_classes[i][0] = (char)('a' + i);
        r.hw_classes[i][NB_HW_CLASS_MAX] = '\0';
    }
    r.n_hw_classes = NB_RELEASE_MAX_HW_CLASSES;
    size_t len = write_release(&r, rcp, NB_RELEASE_MAX_RECIPIENTS);
    assert_true(len <= NB_PAYLOAD_MAX);
    assert_int_equal(nb_release_parse((const uint8_t *)payload, len, &back, NULL), NB_OK);
    assert_int_equal(back.n_recipients, NB_RELEASE_MAX_RECIPIENTS);
    /* One more is refused at the cap: the first entry again, keyid changed. */
    const char *first = strstr(payload, "\"recipients\":[") + 14;
    size_t head = (size_t)(first - payload), one = (size_t)(strchr(first, '}') + 1 - first);
    char *big = edited;
    memcpy(big, payload, head);
    memcpy(big + head, first, one);
    big[head + one] = ',';
    memcpy(big + head + one + 1, first, len - head);
    big[head + 10] = 'f';
    assert_int_equal(nb_release_parse((const uint8_t *)big, len + one + 1, &back, NULL),
                     NB_ELENGTH);
}

static void verify_checks_the_signature_before_parsing(void **state)
{
    (void)state;
    struct nb_release r, out;
    const uint8_t *pl = NULL;
    size_t pl_len = 0;
    struct nb_diag d = {{0}};
    good_release(&r);
    size_t len = write_release(&r, NULL, 0);
    const struct nb_keyfile *good[] = {&relk}, *bad[] = {&other}, *rootonly[] = {&rootk};
    size_t n = fx_envelope(NB_PAYLOAD_RELEASE, payload, len, good, 1, text, sizeof text);
    assert_int_equal(nb_release_verify(&root, (const uint8_t *)text, n, fx_scratch(),
                                       NB_ENVELOPE_SCRATCH_LEN, &out, &pl, &pl_len, &d),
                     NB_OK);
    assert_int_equal(pl_len, len);
    assert_memory_equal(pl, payload, len);
    assert_string_equal(out.version, r.version);
    n = fx_envelope(NB_PAYLOAD_RELEASE, payload, len, bad, 1, text, sizeof text);
    assert_int_equal(nb_release_verify(&root, (const uint8_t *)text, n, fx_scratch(),
                                       NB_ENVELOPE_SCRATCH_LEN, &out, NULL, NULL, NULL),
                     NB_ESIG);
    n = fx_envelope(NB_PAYLOAD_RELEASE, payload, len, rootonly, 1, text, sizeof text);
    assert_int_equal(nb_release_verify(&root, (const uint8_t *)text, n, fx_scratch(),
                                       NB_ENVELOPE_SCRATCH_LEN, &out, NULL, NULL, NULL),
                     NB_ESIG);
    /* Type confusion: release bytes under the root type (SECURITY.md 30). */
    n = fx_envelope(NB_PAYLOAD_ROOT, payload, len, good, 1, text, sizeof text);
    assert_int_equal(nb_release_verify(&root, (const uint8_t *)text, n, fx_scratch(),
                                       NB_ENVELOPE_SCRATCH_LEN, &out, NULL, NULL, NULL),
                     NB_EPARSE);
    /* Garbage payload, bad signature: E_SIG, not E_PARSE (29). */
    n = fx_envelope(NB_PAYLOAD_RELEASE, "{{{{", 4, bad, 1, text, sizeof text);
    assert_int_equal(nb_release_verify(&root, (const uint8_t *)text, n, fx_scratch(),
                                       NB_ENVELOPE_SCRATCH_LEN, &out, NULL, NULL, NULL),
                     NB_ESIG);
    /* Garbage payload, good signature: then the parser refuses it. */
    n = fx_envelope(NB_PAYLOAD_RELEASE, "{{{{", 4, good, 1, text, sizeof text);
    assert_int_equal(nb_release_verify(&root, (const uint8_t *)text, n, fx_scratch(),
                                       NB_ENVELOPE_SCRATCH_LEN, &out, NULL, NULL, NULL),
                     NB_EPARSE);
}

static void hardware_class_check(void **state)
{
    (void)state;
    struct nb_release r;
    struct nb_diag d = {{0}};
    good_release(&r);
    assert_int_equal(nb_release_check_hw(&r, "thermo_V4.b", NULL), NB_OK);
    assert_int_equal(nb_release_check_hw(&r, "thermo-v2", &d), NB_EINCOMPAT);
    assert_string_equal(d.msg,
                        "bundle is for hardware classes thermo-v3, thermo_V4.b, this device is "
                        "thermo-v2");
    r.n_hw_classes = 1;
    nb_diag_clear(&d);
    assert_int_equal(nb_release_check_hw(&r, "thermo-v2", &d), NB_EINCOMPAT);
    assert_string_equal(d.msg, "bundle is for hardware class thermo-v3, this device is thermo-v2");
}

static void semver_parses_strictly(void **state)
{
    (void)state;
    static const char *const good[] = {"0.0.0",
                                       "1.2.3",
                                       "10.20.30",
                                       "1.0.0-alpha",
                                       "1.0.0-alpha.1",
                                       "1.0.0-0.3.7",
                                       "1.0.0-x.7.z.92",
                                       "1.0.0+20130313144700",
                                       "1.0.0-beta+exp.sha.5114f85",
                                       "1.0.0+21AF26D3----117B344092BD",
                                       "1.0.0-a-b.--",
                                       "18446744073709551615.0.0"};
    static const char *const bad[] = {
        "",       "1",      "1.2",    "1.2.3.4",   "01.2.3",     "1.02.3",
        "1.2.03", "1.2.3-", "1.2.3+", "1.2.3-01",  "1.2.3-a..b", "1.2.3-a_b",
        "v1.2.3", " 1.2.3", "1.2.3 ", "1.2.3+a+b", "-1.2.3",     "18446744073709551616.0.0",
        "1.2.-3"};
    struct nb_semver v;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (nb_semver_parse(good[i], &v) != NB_OK)
            fail_msg("refused %s", good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (nb_semver_parse(bad[i], &v) != NB_EPARSE)
            fail_msg("accepted %s", bad[i]);
    }
    assert_int_equal(nb_semver_parse("1.0.0-beta+exp.sha.5114f85", &v), NB_OK);
    assert_int_equal(v.major, 1);
    assert_string_equal(v.pre, "beta");
    assert_string_equal(v.build, "exp.sha.5114f85");
    char longv[80];
    memset(longv, '1', sizeof longv);
    memcpy(longv, "1.2.3-", 6);
    longv[64] = '\0';
    assert_int_equal(nb_semver_parse(longv, &v), NB_ELENGTH);
}

static void semver_precedence(void **state)
{
    (void)state;
    /* semver.org's example order, plus numbers past 32 bits and builds. */
    static const char *const order[] = {"1.0.0-alpha",   "1.0.0-alpha.1", "1.0.0-alpha.beta",
                                        "1.0.0-beta",    "1.0.0-beta.2",  "1.0.0-beta.11",
                                        "1.0.0-rc.1",    "1.0.0",         "1.0.1",
                                        "1.1.0",         "2.0.0",         "2.0.10",
                                        "4294967296.0.0"};
    size_t n = sizeof order / sizeof order[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            struct nb_semver a, b;
            assert_int_equal(nb_semver_parse(order[i], &a), NB_OK);
            assert_int_equal(nb_semver_parse(order[j], &b), NB_OK);
            int c = nb_semver_cmp(&a, &b);
            int want = (i > j) - (i < j);
            if ((c > 0) - (c < 0) != want)
                fail_msg("%s vs %s: %d", order[i], order[j], c);
        }
    }
    struct nb_semver a, b;
    assert_int_equal(nb_semver_parse("1.0.0+a", &a), NB_OK);
    assert_int_equal(nb_semver_parse("1.0.0+b", &b), NB_OK);
    assert_int_equal(nb_semver_cmp(&a, &b), 0);
}

static void key_wrap_round_trip_and_failures(void **state)
{
    (void)state;
    uint8_t key[32], got[32], priv[32], pub[32], priv2[32], pub2[32];
    struct nb_recipient rcp[2];
    struct nb_release r;
    struct nb_diag d = {{0}};
    assert_int_equal(nb_random(key, sizeof key), NB_OK);
    assert_int_equal(nb_x25519_keygen(priv, pub), NB_OK);
    assert_int_equal(nb_x25519_keygen(priv2, pub2), NB_OK);
    assert_int_equal(nb_release_seal_key(key, pub, &rcp[0]), NB_OK);
    assert_int_equal(nb_release_seal_key(key, pub2, &rcp[1]), NB_OK);
    /* Fresh ephemeral keys: two seals to one key differ. */
    struct nb_recipient again;
    assert_int_equal(nb_release_seal_key(key, pub, &again), NB_OK);
    assert_memory_not_equal(again.epk, rcp[0].epk, 32);
    good_release(&r);
    r.encrypted = true;
    size_t len = write_release(&r, rcp, 2);
    assert_int_equal(nb_release_unwrap_key((const uint8_t *)payload, len, priv2, pub2, got, &d),
                     NB_OK);
    assert_memory_equal(got, key, 32);
    /* Not a recipient (SECURITY.md 36). */
    uint8_t priv3[32], pub3[32];
    assert_int_equal(nb_x25519_keygen(priv3, pub3), NB_OK);
    nb_diag_clear(&d);
    assert_int_equal(nb_release_unwrap_key((const uint8_t *)payload, len, priv3, pub3, got, &d),
                     NB_EDECRYPT);
    assert_non_null(strstr(d.msg, "not a recipient"));
    /* A mismatched pair is a caller error. */
    assert_int_equal(nb_release_unwrap_key((const uint8_t *)payload, len, priv, pub2, got, NULL),
                     NB_EINVAL);
    /* Corrupt wrapped key, and a wrapped key moved to another keyid. */
    rcp[0].wrapped[5] ^= 1;
    len = write_release(&r, rcp, 2);
    nb_diag_clear(&d);
    assert_int_equal(nb_release_unwrap_key((const uint8_t *)payload, len, priv, pub, got, &d),
                     NB_EDECRYPT);
    rcp[0].wrapped[5] ^= 1;
    memcpy(rcp[0].wrapped, rcp[1].wrapped, sizeof rcp[0].wrapped);
    memcpy(rcp[0].epk, rcp[1].epk, sizeof rcp[0].epk);
    len = write_release(&r, rcp, 2);
    assert_int_equal(nb_release_unwrap_key((const uint8_t *)payload, len, priv, pub, got, NULL),
                     NB_EDECRYPT);
    /* No encryption at all. */
    r.encrypted = false;
    len = write_release(&r, NULL, 0);
    assert_int_equal(nb_release_unwrap_key((const uint8_t *)payload, len, priv, pub, got, NULL),
                     NB_EPARSE);
    /* A small-order recipient key cannot be sealed to. */
    uint8_t zero[32] = {0};
    assert_int_equal(nb_release_seal_key(key, zero, &again), NB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_then_parse_round_trips),
        cmocka_unit_test(encrypted_and_delta_round_trip),
        cmocka_unit_test(writer_refuses_what_devices_refuse),
        cmocka_unit_test(strict_json_is_enforced),
        cmocka_unit_test(fields_are_validated),
        cmocka_unit_test(caps_and_huge_numbers),
        cmocka_unit_test(recipients_are_checked),
        cmocka_unit_test(the_cap_on_recipients_fits_a_payload),
        cmocka_unit_test(verify_checks_the_signature_before_parsing),
        cmocka_unit_test(hardware_class_check),
        cmocka_unit_test(semver_parses_strictly),
        cmocka_unit_test(semver_precedence),
        cmocka_unit_test(key_wrap_round_trip_and_failures),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
