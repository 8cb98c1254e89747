/* Tokens and device authentication (auth.h). A token's secret is shown
 * once and never stored; lookups go by its hash. A device proves its
 * identity by signing a one-time challenge inside a DSSE pre-authentication
 * encoding, so the signature can never be replayed as any other document. */
#include "auth.h"

#include <nobrick/encoding.h>
#include <nobrick/envelope.h>

#include <stdio.h>
#include <string.h>

enum nb_err auth_hash(const char *token, char out[STORE_HASH_HEX + 1])
{
    uint8_t d[NB_SHA256_LEN];
    enum nb_err err = nb_sha256(token, strlen(token), d);
    if (err == NB_OK)
        err = nb_hex_encode(d, sizeof d, out, STORE_HASH_HEX + 1);
    return err;
}

static bool well_formed(const char *token)
{
    if (strlen(token) != AUTH_TOKEN_LEN ||
        (strncmp(token, "nbt_", 4) != 0 && strncmp(token, "nbd_", 4) != 0))
        return false;
    for (size_t i = 4; i < AUTH_TOKEN_LEN; i++) {
        char c = token[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

enum nb_err auth_check(struct store *st, const char *token, int64_t now, struct auth_principal *out)
{
    char hash[STORE_HASH_HEX + 1];
    struct store_token t;
    if (!well_formed(token))
        return NB_EUNAUTHORIZED;
    enum nb_err err = auth_hash(token, hash);
    if (err == NB_OK)
        err = st->ops->token_find(st, hash, &t);
    if (err == NB_ENOENT)
        return NB_EUNAUTHORIZED;
    if (err != NB_OK)
        return err;
    if (t.revoked || (t.expires_at != 0 && t.expires_at <= now))
        return NB_EUNAUTHORIZED;
    /* The prefix must agree with the kind stored: a device token is never
     * an API token, whatever its row says. */
    if ((t.role == STORE_ROLE_DEVICE) != (token[2] == 'd'))
        return NB_EUNAUTHORIZED;
    memset(out, 0, sizeof *out);
    out->role = t.role;
    out->token_id = t.id;
    memcpy(out->device_id, t.device_id, sizeof out->device_id);
    if (t.role == STORE_ROLE_DEVICE)
        (void)snprintf(out->actor, sizeof out->actor, "device:%.16s", t.device_id);
    else
        (void)snprintf(out->actor, sizeof out->actor, "token:%lld (%.40s)", (long long)t.id,
                       t.name);
    return NB_OK;
}

bool auth_allows(enum store_role have, enum store_role need)
{
    if (have == STORE_ROLE_DEVICE || need == STORE_ROLE_DEVICE)
        return have == need;
    return (int)have >= (int)need;
}

static enum nb_err new_secret(const char *prefix, char out[AUTH_TOKEN_LEN + 1])
{
    uint8_t raw[32];
    memcpy(out, prefix, 4);
    enum nb_err err = nb_random(raw, sizeof raw);
    if (err == NB_OK)
        err = nb_hex_encode(raw, sizeof raw, out + 4, AUTH_TOKEN_LEN + 1 - 4);
    nb_wipe(raw, sizeof raw);
    return err;
}

static enum nb_err store_token(struct store *st, const char *prefix, struct store_token *t,
                               const struct store_audit *au, char token_out[AUTH_TOKEN_LEN + 1])
{
    char secret[AUTH_TOKEN_LEN + 1];
    enum nb_err err = new_secret(prefix, secret);
    if (err == NB_OK)
        err = auth_hash(secret, t->hash);
    if (err == NB_OK)
        err = st->ops->token_add(st, t, au);
    if (err == NB_OK)
        memcpy(token_out, secret, sizeof secret);
    nb_wipe(secret, sizeof secret);
    return err;
}

enum nb_err auth_create_api_token(struct store *st, enum store_role role, const char *name,
                                  int64_t now, const struct store_audit *au,
                                  char token_out[AUTH_TOKEN_LEN + 1], int64_t *id_out)
{
    if (role == STORE_ROLE_DEVICE)
        return NB_EINVAL;
    struct store_token t;
    memset(&t, 0, sizeof t);
    t.role = role;
    (void)snprintf(t.name, sizeof t.name, "%s", name);
    t.created_at = now;
    enum nb_err err = store_token(st, "nbt_", &t, au, token_out);
    if (err == NB_OK && id_out != NULL)
        *id_out = t.id;
    return err;
}

enum nb_err auth_create_device_token(struct store *st, const char *device_id, int64_t now,
                                     uint32_t ttl_s, char token_out[AUTH_TOKEN_LEN + 1])
{
    struct store_token t;
    memset(&t, 0, sizeof t);
    t.role = STORE_ROLE_DEVICE;
    (void)snprintf(t.name, sizeof t.name, "device");
    (void)snprintf(t.device_id, sizeof t.device_id, "%s", device_id);
    t.created_at = now;
    t.expires_at = now + (int64_t)ttl_s;
    return store_token(st, "nbd_", &t, NULL, token_out);
}

enum nb_err auth_new_challenge(char out[AUTH_CHALLENGE_HEX + 1])
{
    uint8_t raw[AUTH_CHALLENGE_HEX / 2];
    enum nb_err err = nb_random(raw, sizeof raw);
    if (err == NB_OK)
        err = nb_hex_encode(raw, sizeof raw, out, AUTH_CHALLENGE_HEX + 1);
    return err;
}

/* Verifies sig_hex by pubkey_hex over PAE(type, a ":" b). */
static enum nb_err verify_pair(const char *type, const char *pubkey_hex, const char *a,
                               const char *b, const char *sig_hex)
{
    uint8_t pub[NB_ED25519_PUB_LEN], sig[NB_ED25519_SIG_LEN];
    char payload[2 * STORE_NAME_MAX + AUTH_CHALLENGE_HEX + 2];
    uint8_t pae[NB_PAE_HEADER_MAX + sizeof payload];
    size_t pae_len = 0;
    int n = snprintf(payload, sizeof payload, "%s:%s", a, b);
    if (n < 0 || (size_t)n >= sizeof payload)
        return NB_ESIG;
    if (nb_hex_decode(pubkey_hex, strlen(pubkey_hex), pub, sizeof pub) != NB_OK ||
        nb_hex_decode(sig_hex, strlen(sig_hex), sig, sizeof sig) != NB_OK)
        return NB_ESIG;
    if (nb_pae(type, (const uint8_t *)payload, (size_t)n, pae, sizeof pae, &pae_len) != NB_OK)
        return NB_ESIG;
    return nb_ed25519_verify(pub, pae, pae_len, sig);
}

enum nb_err auth_verify_device(const char *pubkey_hex, const char *device_id, const char *challenge,
                               const char *sig_hex)
{
    return verify_pair(AUTH_PAYLOAD_TYPE, pubkey_hex, device_id, challenge, sig_hex);
}

enum nb_err auth_verify_enrol(const char *pubkey_hex, const char *hw_class, const char *sig_hex)
{
    return verify_pair(AUTH_ENROL_TYPE, pubkey_hex, pubkey_hex, hw_class, sig_hex);
}

struct store_audit auth_audit(const struct auth_principal *who, int64_t now, const char *action,
                              const char *object)
{
    struct store_audit au;
    memset(&au, 0, sizeof au);
    au.at = now;
    memcpy(au.actor, who->actor, sizeof au.actor);
    (void)snprintf(au.action, sizeof au.action, "%s", action);
    (void)snprintf(au.object, sizeof au.object, "%s", object);
    return au;
}
