/* The content-key wrap of encrypted releases (include/nobrick/release.h):
 * one random AES-256 key per release, sealed to each device or group X25519
 * key with an ephemeral X25519 exchange, HKDF-SHA256 and AES-256-GCM. The
 * wrap gives confidentiality only; authenticity of the frames comes from the
 * signed frame table (SECURITY.md "A symmetric MAC proves nothing"). */
#include <nobrick/encoding.h>
#include <nobrick/release.h>

#include <jansson.h>
#include <string.h>

#define INFO_LEN (sizeof NB_KEY_WRAP_INFO - 1)

/* Each KEK encrypts exactly one key, so a fixed nonce never repeats. */
static const uint8_t zero_nonce[NB_GCM_NONCE_LEN];

/* KEK = HKDF-SHA256(ikm = shared, salt = epk || R, info): binding both
 * public keys stops a wrapped key being replayed to another recipient. */
static enum nb_err derive_kek(const uint8_t shared[NB_X25519_LEN], const uint8_t epk[NB_X25519_LEN],
                              const uint8_t rpub[NB_X25519_LEN], uint8_t kek[NB_AES256_KEY_LEN])
{
    uint8_t salt[2 * NB_X25519_LEN];
    memcpy(salt, epk, NB_X25519_LEN);
    memcpy(salt + NB_X25519_LEN, rpub, NB_X25519_LEN);
    return nb_hkdf_sha256(shared, NB_X25519_LEN, salt, sizeof salt, NB_KEY_WRAP_INFO, INFO_LEN, kek,
                          NB_AES256_KEY_LEN);
}

/* The keyid a recipient entry is found by: hex SHA-256 of its X25519 key. */
static enum nb_err x25519_keyid(const uint8_t pub[NB_X25519_LEN], char out[NB_KEYID_MAX + 1])
{
    uint8_t digest[NB_SHA256_LEN];
    enum nb_err err = nb_sha256(pub, NB_X25519_LEN, digest);
    if (err == NB_OK)
        err = nb_hex_encode(digest, sizeof digest, out, NB_KEYID_MAX + 1);
    return err;
}

enum nb_err nb_release_seal_key(const uint8_t content_key[NB_AES256_KEY_LEN],
                                const uint8_t recipient_pub[NB_X25519_LEN],
                                struct nb_recipient *out)
{
    uint8_t e[NB_X25519_LEN], shared[NB_X25519_LEN], kek[NB_AES256_KEY_LEN];
    struct nb_recipient r;
    memset(&r, 0, sizeof r);
    enum nb_err err = nb_x25519_keygen(e, r.epk);
    if (err == NB_OK) {
        err = nb_x25519(e, recipient_pub, shared);
        if (err == NB_EDECRYPT) /* all-zero secret: a small-order recipient key */
            err = NB_EINVAL;
    }
    if (err == NB_OK)
        err = derive_kek(shared, r.epk, recipient_pub, kek);
    if (err == NB_OK)
        err = nb_aes256gcm_seal(kek, zero_nonce, NB_KEY_WRAP_INFO, INFO_LEN, content_key,
                                NB_AES256_KEY_LEN, r.wrapped, r.wrapped + NB_AES256_KEY_LEN);
    if (err == NB_OK)
        err = x25519_keyid(recipient_pub, r.keyid);
    if (err == NB_OK)
        *out = r;
    nb_wipe(e, sizeof e);
    nb_wipe(shared, sizeof shared);
    nb_wipe(kek, sizeof kek);
    return err;
}

/* This device's entry in the recipients of a payload, decoded. */
static enum nb_err find_entry(const uint8_t *payload, size_t len, const char *keyid,
                              uint8_t epk[NB_X25519_LEN], uint8_t wrapped[NB_WRAPPED_KEY_LEN],
                              struct nb_diag *diag)
{
    json_t *root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *arr = json_object_get(json_object_get(root, "encryption"), "recipients");
    enum nb_err err = NB_OK;
    if (!json_is_array(arr))
        err = nb_diag_set(diag, NB_EPARSE, "release: not encrypted (no recipients)");
    const json_t *entry = NULL;
    for (size_t i = 0; err == NB_OK && entry == NULL && i < json_array_size(arr); i++) {
        const json_t *r = json_array_get(arr, i);
        const char *id = json_string_value(json_object_get(r, "keyid"));
        if (id != NULL && strcmp(id, keyid) == 0)
            entry = r;
    }
    if (err == NB_OK && entry == NULL)
        err = nb_diag_set(diag, NB_EDECRYPT,
                          "this device (x25519 keyid %.16s) is not a recipient of this release",
                          keyid);
    if (err == NB_OK) {
        const json_t *e = json_object_get(entry, "epk"), *w = json_object_get(entry, "wrapped");
        if (nb_hex_decode(json_string_value(e) ? json_string_value(e) : "", json_string_length(e),
                          epk, NB_X25519_LEN) != NB_OK ||
            nb_hex_decode(json_string_value(w) ? json_string_value(w) : "", json_string_length(w),
                          wrapped, NB_WRAPPED_KEY_LEN) != NB_OK)
            err =
                nb_diag_set(diag, NB_EPARSE, "release: recipient %.16s: bad epk or wrapped", keyid);
    }
    json_decref(root);
    return err;
}

enum nb_err nb_release_unwrap_key(const uint8_t *payload, size_t len,
                                  const uint8_t my_priv[NB_X25519_LEN],
                                  const uint8_t my_pub[NB_X25519_LEN],
                                  uint8_t content_key_out[NB_AES256_KEY_LEN], struct nb_diag *diag)
{
    uint8_t derived[NB_X25519_LEN], epk[NB_X25519_LEN], wrapped[NB_WRAPPED_KEY_LEN];
    uint8_t shared[NB_X25519_LEN], kek[NB_AES256_KEY_LEN], key[NB_AES256_KEY_LEN];
    char keyid[NB_KEYID_MAX + 1];
    enum nb_err err = nb_x25519_public(my_priv, derived);
    if (err == NB_OK && !nb_ct_equal(derived, my_pub, NB_X25519_LEN))
        err = nb_diag_set(diag, NB_EINVAL,
                          "device key: x25519 public key does not match the "
                          "private key");
    if (err == NB_OK)
        err = x25519_keyid(my_pub, keyid);
    if (err == NB_OK)
        err = find_entry(payload, len, keyid, epk, wrapped, diag);
    if (err == NB_OK && nb_x25519(my_priv, epk, shared) != NB_OK)
        err = nb_diag_set(diag, NB_EDECRYPT, "content key: bad ephemeral key for this device");
    if (err == NB_OK)
        err = derive_kek(shared, epk, my_pub, kek);
    if (err == NB_OK &&
        nb_aes256gcm_open(kek, zero_nonce, NB_KEY_WRAP_INFO, INFO_LEN, wrapped, NB_AES256_KEY_LEN,
                          wrapped + NB_AES256_KEY_LEN, key) != NB_OK)
        err = nb_diag_set(diag, NB_EDECRYPT,
                          "content key does not unwrap for this device "
                          "(corrupt, or sealed to another key)");
    if (err == NB_OK)
        memcpy(content_key_out, key, sizeof key);
    nb_wipe(shared, sizeof shared);
    nb_wipe(kek, sizeof kek);
    nb_wipe(key, sizeof key);
    return err;
}
