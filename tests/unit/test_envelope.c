/* Unit tests of the DSSE envelope (lib/core/envelope.c): PAE bytes, strict
 * parsing of every field, threshold counting and the writer. The attack
 * scenarios of SECURITY.md live in test_attacks_trust.c. */
#include "trust_fixture.h"

#include <nobrick/encoding.h>
#include <nobrick/envelope.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static char text[FX_ENVELOPE_CAP];
static char edited[FX_ENVELOPE_CAP];
static struct nb_keyfile k1, k2, k3;

static int setup(void **state)
{
    (void)state;
    fx_key(&k1, NB_KEY_RELEASE);
    fx_key(&k2, NB_KEY_RELEASE);
    fx_key(&k3, NB_KEY_RELEASE);
    return 0;
}

static enum nb_err parse(const char *t, struct nb_envelope *env, struct nb_diag *diag)
{
    nb_diag_clear(diag);
    return nb_envelope_parse((const uint8_t *)t, strlen(t), fx_scratch(), NB_ENVELOPE_SCRATCH_LEN,
                             env, diag);
}

/* edited = text with the first occurrence of from replaced by to. */
static const char *edit(const char *from, const char *to)
{
    const char *p = strstr(text, from);
    assert_non_null(p);
    int n =
        snprintf(edited, sizeof edited, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof edited);
    return edited;
}

static size_t sign2(const char *payload)
{
    const struct nb_keyfile *s[] = {&k1, &k2};
    return fx_envelope(NB_PAYLOAD_RELEASE, payload, strlen(payload), s, 2, text, sizeof text);
}

static void pae_matches_dsse_vector(void **state)
{
    (void)state;
    uint8_t out[128];
    size_t len = 0;
    const char *want = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
    assert_int_equal(nb_pae("http://example.com/HelloWorld", (const uint8_t *)"hello world", 11,
                            out, sizeof out, &len),
                     NB_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
    assert_int_equal(nb_pae("t", (const uint8_t *)"x", 1, out, 5, &len), NB_ENOSPC);
}

static void keyid_is_sha256_hex(void **state)
{
    (void)state;
    char id[NB_KEYID_MAX + 1];
    uint8_t digest[NB_SHA256_LEN], raw[NB_SHA256_LEN];
    assert_int_equal(nb_keyid(k1.ed_pub, id), NB_OK);
    assert_int_equal(strlen(id), 64);
    assert_int_equal(nb_sha256(k1.ed_pub, sizeof k1.ed_pub, digest), NB_OK);
    assert_int_equal(nb_hex_decode(id, 64, raw, sizeof raw), NB_OK);
    assert_memory_equal(raw, digest, sizeof digest);
}

static void write_then_parse_round_trips(void **state)
{
    (void)state;
    const char *payload = "{\"hello\":\"world\"}";
    size_t len = sign2(payload);
    assert_int_equal(strlen(text), len);
    assert_true(strncmp(text, "{\"payloadType\":\"", 16) == 0); /* field order */
    assert_non_null(strstr(text, "\",\"payload\":\""));
    struct nb_envelope env;
    struct nb_diag diag;
    assert_int_equal(parse(text, &env, &diag), NB_OK);
    assert_string_equal(env.payload_type, NB_PAYLOAD_RELEASE);
    assert_int_equal(env.payload_len, strlen(payload));
    assert_memory_equal(env.payload, payload, env.payload_len);
    assert_int_equal(env.n_sigs, 2);
    assert_string_equal(env.sigs[0].keyid, k1.keyid);
    /* pae is contiguous and ends with the payload itself */
    uint8_t pae[256];
    size_t pae_len = 0;
    assert_int_equal(
        nb_pae(NB_PAYLOAD_RELEASE, env.payload, env.payload_len, pae, sizeof pae, &pae_len), NB_OK);
    assert_int_equal(env.pae_len, pae_len);
    assert_memory_equal(env.pae, pae, pae_len);
    assert_ptr_equal(env.pae + env.pae_len, env.payload + env.payload_len);
}

static void parse_refuses_malformed(void **state)
{
    (void)state;
    struct nb_envelope env;
    struct nb_diag diag;
    sign2("{}");
    char trailing[FX_ENVELOPE_CAP + 8];
    (void)snprintf(trailing, sizeof trailing, "%s x", text);
    assert_int_equal(parse(trailing, &env, &diag), NB_EPARSE);
    assert_int_equal(
        parse(edit("{\"payloadType\"", "{\"payloadType\":\"x\",\"payloadType\""), &env, &diag),
        NB_EPARSE); /* duplicate key */
    assert_int_equal(parse(edit("{\"payloadType\"", "{\"extra\":1,\"payloadType\""), &env, &diag),
                     NB_EPARSE);
    assert_non_null(strstr(diag.msg, "unknown field 'extra'"));
    assert_int_equal(parse("{\"payloadType\":\"a\",\"payload\":\"e30=\"}", &env, &diag), NB_EPARSE);
    assert_non_null(strstr(diag.msg, "missing field 'signatures'"));
    assert_int_equal(parse(edit("\"payload\":\"", "\"payload\":\"!"), &env, &diag), NB_EPARSE);
    assert_int_equal(parse(edit("\"payload\":\"e30=\"", "\"payload\":\"\""), &env, &diag),
                     NB_EPARSE); /* empty payload */
    assert_int_equal(parse(edit("\"payload\":\"e30=\"", "\"payload\":\"e31=\""), &env, &diag),
                     NB_EPARSE); /* non-zero unused bits: one payload, one encoding */
    assert_int_equal(parse(edit("\"payload\":\"e30=\"", "\"payload\":7"), &env, &diag), NB_EPARSE);
    assert_int_equal(parse(edit(NB_PAYLOAD_RELEASE, "a b"), &env, &diag), NB_EPARSE);
    assert_int_equal(parse(edit("\"keyid\":\"", "\"keyid\":\"X"), &env, &diag), NB_EPARSE);
    assert_int_equal(parse(edit("\"keyid\":\"", "\"keyid\":1,\"k\":\""), &env, &diag), NB_EPARSE);
    assert_int_equal(parse("[]", &env, &diag), NB_EPARSE);
    assert_int_equal(parse("", &env, &diag), NB_EPARSE);
}

static void parse_signature_not_64_bytes_is_esig(void **state)
{
    (void)state;
    struct nb_envelope env;
    struct nb_diag diag;
    sign2("{}");
    const char *p = strstr(text, "\"sig\":\"");
    assert_non_null(p);
    char sig[100];
    (void)snprintf(sig, sizeof sig, "%.96s", p);
    *strchr(sig + 7, '"') = '\0';
    char with_short[128];
    (void)snprintf(with_short, sizeof with_short, "\"sig\":\"AAAA");
    assert_int_equal(parse(edit(sig, with_short), &env, &diag), NB_ESIG);
    assert_non_null(strstr(diag.msg, "signature 1"));
}

static void parse_enforces_caps(void **state)
{
    (void)state;
    struct nb_envelope env;
    struct nb_diag diag;
    /* over NB_ENVELOPE_MAX: refused before JSON parsing */
    static char big[NB_ENVELOPE_MAX + 2];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(parse(big, &env, &diag), NB_ELENGTH);
    /* too many signatures */
    const struct nb_keyfile *s[NB_ENVELOPE_MAX_SIGS + 1];
    for (size_t i = 0; i < NB_ENVELOPE_MAX_SIGS + 1; i++)
        s[i] = &k1;
    fx_envelope(NB_PAYLOAD_RELEASE, "{}", 2, s, NB_ENVELOPE_MAX_SIGS, text, sizeof text);
    assert_int_equal(parse(text, &env, &diag), NB_OK);
    assert_int_equal(parse(edit("[{", "[{\"keyid\":\"ab\",\"sig\":\"\"},{"), &env, &diag),
                     NB_ELENGTH);
    /* scratch too small for the payload */
    sign2("{\"a\":\"0123456789\"}");
    assert_int_equal(nb_envelope_parse((const uint8_t *)text, strlen(text), fx_scratch(),
                                       NB_PAE_HEADER_MAX + 4, &env, &diag),
                     NB_ELENGTH);
}

static void verify_counts_threshold(void **state)
{
    (void)state;
    struct nb_envelope env;
    struct nb_diag diag;
    struct nb_role role;
    struct nb_keyfile keys[3] = {k1, k2, k3};
    sign2("{\"v\":1}");
    assert_int_equal(parse(text, &env, &diag), NB_OK);
    fx_role(&role, keys, 3, 2);
    assert_int_equal(nb_envelope_verify(&env, NB_PAYLOAD_RELEASE, &role, &diag), NB_OK);
    fx_role(&role, keys, 3, 3);
    nb_diag_clear(&diag);
    assert_int_equal(nb_envelope_verify(&env, NB_PAYLOAD_RELEASE, &role, &diag), NB_ETHRESHOLD);
    assert_string_equal(diag.msg, "release envelope: 2 of 3 required keys signed (2 signatures)");
    size_t n_valid = 9;
    assert_int_equal(nb_envelope_verify_counted(&env, NB_PAYLOAD_RELEASE, &role, &n_valid, NULL),
                     NB_ETHRESHOLD);
    assert_int_equal(n_valid, 2);
    fx_role(&role, &keys[2], 1, 1);
    assert_int_equal(nb_envelope_verify(&env, NB_PAYLOAD_RELEASE, &role, NULL), NB_ESIG);
}

static void verify_refuses_type_and_threshold_zero(void **state)
{
    (void)state;
    struct nb_envelope env;
    struct nb_diag diag;
    struct nb_role role;
    sign2("{}");
    assert_int_equal(parse(text, &env, &diag), NB_OK);
    fx_role(&role, &k1, 1, 1);
    nb_diag_clear(&diag);
    assert_int_equal(nb_envelope_verify(&env, NB_PAYLOAD_DIRECTOR, &role, &diag), NB_EPARSE);
    assert_non_null(strstr(diag.msg, "payload type"));
    role.threshold = 0;
    assert_int_equal(nb_envelope_verify(&env, NB_PAYLOAD_RELEASE, &role, NULL), NB_EPARSE);
}

static void verify_refuses_tampered_payload(void **state)
{
    (void)state;
    struct nb_envelope env;
    struct nb_role role;
    sign2("{\"version\":1}");
    assert_int_equal(parse(text, &env, NULL), NB_OK);
    fx_role(&role, &k1, 1, 1);
    assert_int_equal(nb_envelope_verify(&env, NB_PAYLOAD_RELEASE, &role, NULL), NB_OK);
    ((uint8_t *)env.payload)[env.payload_len - 2] ^= 1; /* scratch is ours */
    assert_int_equal(nb_envelope_verify(&env, NB_PAYLOAD_RELEASE, &role, NULL), NB_ESIG);
}

static void write_reports_short_buffer(void **state)
{
    (void)state;
    char small[128];
    size_t len = 0;
    struct nb_signature sig;
    memset(&sig, 0, sizeof sig);
    memcpy(sig.keyid, "ab", 3);
    assert_int_equal(nb_envelope_write(NB_PAYLOAD_RELEASE, (const uint8_t *)"{}", 2, &sig, 1, small,
                                       sizeof small, &len),
                     NB_ENOSPC);
    assert_int_equal(
        nb_envelope_write(NB_PAYLOAD_RELEASE, (const uint8_t *)"{}", 2, NULL, 0, small, 20, &len),
        NB_ENOSPC);
    assert_int_equal(nb_envelope_write(NB_PAYLOAD_RELEASE, (const uint8_t *)"{}", 2, NULL, 0, small,
                                       sizeof small, &len),
                     NB_OK);
    assert_string_equal(small, "{\"payloadType\":\"" NB_PAYLOAD_RELEASE
                               "\",\"payload\":\"e30=\",\"signatures\":[]}");
    assert_int_equal(len, strlen(small));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pae_matches_dsse_vector),
        cmocka_unit_test(keyid_is_sha256_hex),
        cmocka_unit_test(write_then_parse_round_trips),
        cmocka_unit_test(parse_refuses_malformed),
        cmocka_unit_test(parse_signature_not_64_bytes_is_esig),
        cmocka_unit_test(parse_enforces_caps),
        cmocka_unit_test(verify_counts_threshold),
        cmocka_unit_test(verify_refuses_type_and_threshold_zero),
        cmocka_unit_test(verify_refuses_tampered_payload),
        cmocka_unit_test(write_reports_short_buffer),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
