/* Test helpers for signed metadata (see trust_fixture.h): keys, roles, roots
 * and envelopes signed by whichever keys a scenario needs. Signing goes
 * through the same nb_pae and nb_envelope_write the tools use. */
#include "trust_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

void fx_key(struct nb_keyfile *k, enum nb_key_role role)
{
    assert_int_equal(nb_keyfile_generate(role, k), NB_OK);
}

void fx_role_key(struct nb_key *out, const struct nb_keyfile *k)
{
    memset(out, 0, sizeof *out);
    memcpy(out->keyid, k->keyid, sizeof out->keyid);
    memcpy(out->pub, k->ed_pub, sizeof out->pub);
}

void fx_role(struct nb_role *role, const struct nb_keyfile *keys, size_t n, uint32_t threshold)
{
    assert_true(n <= NB_ROLE_MAX_KEYS);
    memset(role, 0, sizeof *role);
    for (size_t i = 0; i < n; i++)
        fx_role_key(&role->keys[i], &keys[i]);
    role->n_keys = n;
    role->threshold = threshold;
}

void fx_root(struct nb_root *root, uint32_t version, int64_t expires,
             const struct nb_keyfile *root_keys, size_t n_root, uint32_t root_threshold,
             const struct nb_keyfile *release_key, const struct nb_keyfile *director_key)
{
    memset(root, 0, sizeof *root);
    root->version = version;
    root->expires = expires;
    fx_role(&root->roles[NB_ROLE_ROOT], root_keys, n_root, root_threshold);
    fx_role(&root->roles[NB_ROLE_RELEASE], release_key, 1, 1);
    fx_role(&root->roles[NB_ROLE_DIRECTOR], director_key, 1, 1);
    memcpy(root->endpoints[0], "https://ota.example.com", sizeof "https://ota.example.com");
    root->n_endpoints = 1;
}

static uint8_t pae_buf[NB_ENVELOPE_SCRATCH_LEN];
static uint8_t scratch_buf[NB_ENVELOPE_SCRATCH_LEN];

size_t fx_envelope(const char *type, const void *payload, size_t len,
                   const struct nb_keyfile *const *signers, size_t n, char *out, size_t cap)
{
    struct nb_signature sigs[NB_ENVELOPE_MAX_SIGS];
    size_t pae_len = 0;
    assert_true(n <= NB_ENVELOPE_MAX_SIGS);
    assert_int_equal(nb_pae(type, payload, len, pae_buf, sizeof pae_buf, &pae_len), NB_OK);
    for (size_t i = 0; i < n; i++) {
        assert_true(signers[i]->secret);
        memcpy(sigs[i].keyid, signers[i]->keyid, sizeof sigs[i].keyid);
        assert_int_equal(nb_ed25519_sign(signers[i]->ed_seed, pae_buf, pae_len, sigs[i].sig),
                         NB_OK);
    }
    size_t out_len = 0;
    assert_int_equal(nb_envelope_write(type, payload, len, sigs, n, out, cap, &out_len), NB_OK);
    return out_len;
}

size_t fx_root_envelope(const struct nb_root *root, const struct nb_keyfile *const *signers,
                        size_t n, char *out, size_t cap)
{
    static char payload[NB_ROOT_PAYLOAD_MAX];
    size_t len = 0;
    assert_int_equal(nb_root_write(root, payload, sizeof payload, &len), NB_OK);
    return fx_envelope(NB_PAYLOAD_ROOT, payload, len, signers, n, out, cap);
}

uint8_t *fx_scratch(void)
{
    return scratch_buf;
}
