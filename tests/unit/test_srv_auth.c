/* Unit tests for server/auth.c: API and device tokens stored as hashes and
 * refused when unknown, malformed, revoked or expired; the role order; and
 * the device login signature (right key, right device, right challenge,
 * right payload type only). */
#include "auth.h"

#include <nobrick/alloc.h>
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    char dir[64], db[128];
    struct store st;
};

static int setup(void **state)
{
    struct fixture *f = nb_calloc(1, sizeof *f);
    memcpy(f->dir, "/tmp/nb-auth-XXXXXX", 20);
    assert_non_null(mkdtemp(f->dir));
    (void)snprintf(f->db, sizeof f->db, "%s/db", f->dir);
    char url[160];
    (void)snprintf(url, sizeof url, "sqlite:%s", f->db);
    struct nb_diag diag = {{0}};
    assert_int_equal(store_open(url, &f->st, &diag), NB_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[160];
    store_close(&f->st);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        (void)snprintf(p, sizeof p, "%s%s", f->db, suffixes[i]);
        (void)unlink(p);
    }
    (void)rmdir(f->dir);
    nb_free(f);
    return 0;
}

static void test_api_tokens(void **state)
{
    struct fixture *f = *state;
    char tok[AUTH_TOKEN_LEN + 1], hash[STORE_HASH_HEX + 1];
    int64_t id = 0;
    assert_int_equal(auth_create_api_token(&f->st, STORE_ROLE_OPERATOR, "ci", 100, NULL, tok, &id),
                     NB_OK);
    assert_int_equal(strncmp(tok, "nbt_", 4), 0);
    assert_int_equal(strlen(tok), AUTH_TOKEN_LEN);
    /* Only the hash is stored. */
    struct store_token t;
    assert_int_equal(auth_hash(tok, hash), NB_OK);
    assert_int_equal(f->st.ops->token_find(&f->st, hash, &t), NB_OK);
    assert_int_equal(f->st.ops->token_find(&f->st, tok, &t), NB_ENOENT);

    struct auth_principal who;
    assert_int_equal(auth_check(&f->st, tok, 200, &who), NB_OK);
    assert_int_equal(who.role, STORE_ROLE_OPERATOR);
    assert_int_equal(who.token_id, id);
    assert_string_equal(who.actor, "token:1 (ci)");
    tok[10] = tok[10] == 'a' ? 'b' : 'a';
    assert_int_equal(auth_check(&f->st, tok, 200, &who), NB_EUNAUTHORIZED);
    assert_int_equal(auth_check(&f->st, "", 200, &who), NB_EUNAUTHORIZED);
    assert_int_equal(auth_check(&f->st, "nbt_XYZ", 200, &who), NB_EUNAUTHORIZED);
    tok[10] = tok[10] == 'a' ? 'b' : 'a';
    assert_int_equal(f->st.ops->token_revoke(&f->st, id, NULL), NB_OK);
    assert_int_equal(auth_check(&f->st, tok, 200, &who), NB_EUNAUTHORIZED);
    assert_int_equal(auth_create_api_token(&f->st, STORE_ROLE_DEVICE, "x", 1, NULL, tok, &id),
                     NB_EINVAL);
}

static void test_device_tokens_expire(void **state)
{
    struct fixture *f = *state;
    char tok[AUTH_TOKEN_LEN + 1];
    struct auth_principal who;
    assert_int_equal(auth_create_device_token(&f->st, "dev1", 1000, 60, tok), NB_OK);
    assert_int_equal(strncmp(tok, "nbd_", 4), 0);
    assert_int_equal(auth_check(&f->st, tok, 1059, &who), NB_OK);
    assert_int_equal(who.role, STORE_ROLE_DEVICE);
    assert_string_equal(who.device_id, "dev1");
    assert_int_equal(auth_check(&f->st, tok, 1060, &who), NB_EUNAUTHORIZED);
    /* The same secret presented as an API token is another, unknown token. */
    memcpy(tok, "nbt_", 4);
    assert_int_equal(auth_check(&f->st, tok, 1000, &who), NB_EUNAUTHORIZED);
}

static void test_roles(void **state)
{
    (void)state;
    assert_true(auth_allows(STORE_ROLE_ADMIN, STORE_ROLE_OPERATOR));
    assert_true(auth_allows(STORE_ROLE_OPERATOR, STORE_ROLE_VIEWER));
    assert_false(auth_allows(STORE_ROLE_VIEWER, STORE_ROLE_OPERATOR));
    assert_false(auth_allows(STORE_ROLE_OPERATOR, STORE_ROLE_ADMIN));
    assert_false(auth_allows(STORE_ROLE_DEVICE, STORE_ROLE_VIEWER));
    assert_false(auth_allows(STORE_ROLE_ADMIN, STORE_ROLE_DEVICE));
    assert_true(auth_allows(STORE_ROLE_DEVICE, STORE_ROLE_DEVICE));
}

static void sign(const uint8_t seed[32], const char *type, const char *payload, char *sig_hex)
{
    uint8_t pae[256], sig[NB_ED25519_SIG_LEN];
    size_t len = 0;
    assert_int_equal(nb_pae(type, (const uint8_t *)payload, strlen(payload), pae, sizeof pae, &len),
                     NB_OK);
    assert_int_equal(nb_ed25519_sign(seed, pae, len, sig), NB_OK);
    assert_int_equal(nb_hex_encode(sig, sizeof sig, sig_hex, 2 * NB_ED25519_SIG_LEN + 1), NB_OK);
}

static void test_device_signature(void **state)
{
    (void)state;
    uint8_t seed[32], pub[32], seed2[32], pub2[32];
    char pub_hex[65], ch[AUTH_CHALLENGE_HEX + 1], sig[129];
    assert_int_equal(nb_ed25519_keygen(seed, pub), NB_OK);
    assert_int_equal(nb_ed25519_keygen(seed2, pub2), NB_OK);
    assert_int_equal(nb_hex_encode(pub, 32, pub_hex, sizeof pub_hex), NB_OK);
    assert_int_equal(auth_new_challenge(ch), NB_OK);
    char payload[200];
    (void)snprintf(payload, sizeof payload, "dev1:%s", ch);
    sign(seed, AUTH_PAYLOAD_TYPE, payload, sig);
    assert_int_equal(auth_verify_device(pub_hex, "dev1", ch, sig), NB_OK);
    assert_int_equal(auth_verify_device(pub_hex, "dev2", ch, sig), NB_ESIG);
    char ch2[AUTH_CHALLENGE_HEX + 1];
    assert_int_equal(auth_new_challenge(ch2), NB_OK);
    assert_int_equal(auth_verify_device(pub_hex, "dev1", ch2, sig), NB_ESIG);
    sign(seed2, AUTH_PAYLOAD_TYPE, payload, sig); /* another device's key */
    assert_int_equal(auth_verify_device(pub_hex, "dev1", ch, sig), NB_ESIG);
    sign(seed, NB_PAYLOAD_DIRECTOR, payload, sig); /* another payload type */
    assert_int_equal(auth_verify_device(pub_hex, "dev1", ch, sig), NB_ESIG);
    assert_int_equal(auth_verify_device(pub_hex, "dev1", ch, "00"), NB_ESIG);

    /* Enrolment: signed by the enrolled key, for that hardware class. */
    (void)snprintf(payload, sizeof payload, "%s:thermo", pub_hex);
    sign(seed, AUTH_ENROL_TYPE, payload, sig);
    assert_int_equal(auth_verify_enrol(pub_hex, "thermo", sig), NB_OK);
    assert_int_equal(auth_verify_enrol(pub_hex, "valve", sig), NB_ESIG);
    sign(seed, AUTH_PAYLOAD_TYPE, payload, sig); /* a login signature is no enrolment */
    assert_int_equal(auth_verify_enrol(pub_hex, "thermo", sig), NB_ESIG);
    sign(seed2, AUTH_ENROL_TYPE, payload, sig);
    assert_int_equal(auth_verify_enrol(pub_hex, "thermo", sig), NB_ESIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_tokens_expire, setup, teardown),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_device_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
