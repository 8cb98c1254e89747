/* Unit tests for server/director.c: an instruction verifies as a director
 * envelope under the root's director role (and not as any other type or
 * with another key), and its payload carries exactly the device, nonce,
 * deployment and release it was made for. */
#include "director.h"

#include <nobrick/director.h>

#include <nobrick/alloc.h>
#include <nobrick/envelope.h>
#include <nobrick/keyfile.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    char dir[64], key[128];
    struct nb_signer signer;
    struct nb_role role;
};

static int setup(void **state)
{
    struct fixture *f = nb_calloc(1, sizeof *f);
    memcpy(f->dir, "/tmp/nb-director-XXXXXX", 24);
    assert_non_null(mkdtemp(f->dir));
    char name[96];
    (void)snprintf(name, sizeof name, "%s/dir", f->dir);
    (void)snprintf(f->key, sizeof f->key, "%s/dir.key", f->dir);
    struct nb_keyfile k;
    struct nb_diag diag = {{0}};
    assert_int_equal(nb_keyfile_generate(NB_KEY_DIRECTOR, &k), NB_OK);
    assert_int_equal(nb_keyfile_save(&k, name, &diag), NB_OK);
    f->role.n_keys = 1;
    f->role.threshold = 1;
    memcpy(f->role.keys[0].keyid, k.keyid, sizeof k.keyid);
    memcpy(f->role.keys[0].pub, k.ed_pub, sizeof k.ed_pub);
    nb_keyfile_wipe(&k);
    assert_int_equal(nb_signer_open(f->key, &f->signer, &diag), NB_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[128];
    nb_signer_close(&f->signer);
    (void)unlink(f->key);
    (void)snprintf(p, sizeof p, "%s/dir.pub", f->dir);
    (void)unlink(p);
    (void)rmdir(f->dir);
    nb_free(f);
    return 0;
}

static struct store_release release(void)
{
    struct store_release r;
    memset(&r, 0, sizeof r);
    memcpy(r.version, "1.2.3", 6);
    r.security_counter = 7;
    memset(r.envelope_sha256, 'e', STORE_HASH_HEX);
    memset(r.bundle_sha256, 'b', STORE_HASH_HEX);
    r.bundle_size = 4096;
    return r;
}

static void test_signed_and_bound(void **state)
{
    struct fixture *f = *state;
    struct store_release r = release();
    struct director_instruction in = {
        "abcd", "00112233445566778899aabbccddeeff", 42, &r, 1000, 4600, 0, 0};
    char *text = NULL;
    size_t len = 0;
    struct nb_diag diag = {{0}};
    assert_int_equal(director_sign(&f->signer, &in, &text, &len, &diag), NB_OK);
    assert_int_equal(strlen(text), len);

    uint8_t *scratch = nb_malloc(NB_ENVELOPE_SCRATCH_LEN);
    struct nb_envelope *env = nb_malloc(sizeof *env);
    assert_int_equal(
        nb_envelope_parse((const uint8_t *)text, len, scratch, NB_ENVELOPE_SCRATCH_LEN, env, &diag),
        NB_OK);
    assert_int_equal(nb_envelope_verify(env, NB_PAYLOAD_DIRECTOR, &f->role, &diag), NB_OK);
    /* Not a release, and not under another key. */
    assert_int_equal(nb_envelope_verify(env, NB_PAYLOAD_RELEASE, &f->role, &diag), NB_EPARSE);
    struct nb_role other = f->role;
    other.keys[0].pub[0] ^= 1;
    assert_int_not_equal(nb_envelope_verify(env, NB_PAYLOAD_DIRECTOR, &other, &diag), NB_OK);

    json_error_t jerr;
    json_t *p =
        json_loadb((const char *)env->payload, env->payload_len, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "director");
    assert_string_equal(json_string_value(json_object_get(p, "device_id")), "abcd");
    assert_string_equal(json_string_value(json_object_get(p, "nonce")), in.nonce);
    assert_int_equal(json_integer_value(json_object_get(p, "deployment_id")), 42);
    assert_int_equal(json_integer_value(json_object_get(p, "issued_at")), 1000);
    assert_int_equal(json_integer_value(json_object_get(p, "expires")), 4600);
    json_t *rel = json_object_get(p, "release");
    assert_string_equal(json_string_value(json_object_get(rel, "version")), "1.2.3");
    assert_int_equal(json_integer_value(json_object_get(rel, "security_counter")), 7);
    assert_string_equal(json_string_value(json_object_get(rel, "envelope_sha256")),
                        r.envelope_sha256);
    json_decref(p);
    nb_free(env);
    nb_free(scratch);
    nb_free(text);
}

/* A download-only window: spec 2 with install_after and install_before,
 * which the device-side parser reads back; without one, spec 1. */
static void test_window_spec(void **state)
{
    struct fixture *f = *state;
    struct store_release r = release();
    char id[65];
    memset(id, 'a', 64);
    id[64] = '\0';
    struct director_instruction in = {
        id, "00112233445566778899aabbccddeeff", 42, &r, 1000, 4600, 7200, 14400};
    char *text = NULL;
    size_t len = 0;
    struct nb_diag diag = {{0}};
    assert_int_equal(director_sign(&f->signer, &in, &text, &len, &diag), NB_OK);
    uint8_t *scratch = nb_malloc(NB_ENVELOPE_SCRATCH_LEN);
    struct nb_envelope *env = nb_malloc(sizeof *env);
    assert_int_equal(
        nb_envelope_parse((const uint8_t *)text, len, scratch, NB_ENVELOPE_SCRATCH_LEN, env, &diag),
        NB_OK);
    struct nb_director d;
    assert_int_equal(nb_director_parse(env->payload, env->payload_len, &d, &diag), NB_OK);
    assert_int_equal(d.spec, 2);
    assert_int_equal(d.install_after, 7200);
    assert_int_equal(d.install_before, 14400);
    assert_int_equal(d.deployment_id, 42);
    assert_int_equal(d.expires, 4600);
    nb_free(text);
    in.install_after = in.install_before = 0;
    assert_int_equal(director_sign(&f->signer, &in, &text, &len, &diag), NB_OK);
    assert_int_equal(
        nb_envelope_parse((const uint8_t *)text, len, scratch, NB_ENVELOPE_SCRATCH_LEN, env, &diag),
        NB_OK);
    assert_int_equal(nb_director_parse(env->payload, env->payload_len, &d, &diag), NB_OK);
    assert_int_equal(d.spec, 1);
    assert_int_equal(d.install_after, 0);
    assert_int_equal(d.install_before, 0);
    nb_free(env);
    nb_free(scratch);
    nb_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signed_and_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_spec, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
