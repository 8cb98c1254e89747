/* libFuzzer target: envelope text through nb_envelope_parse, then
 * nb_envelope_verify_counted against a fixed role that lists one key under
 * two keyids (SECURITY.md 6). Oracles: the distinct valid keys are recounted
 * here, a smaller scratch caps the payload, a failed parse leaves *env alone,
 * and write(parse(x)) parses back to the same envelope. */
#include "fuzz_fixture.h"

#include <nobrick/envelope.h>

#define SMALL_PAYLOAD_CAP 1024

static uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN];
static uint8_t scratch2[NB_ENVELOPE_SCRATCH_LEN];
static char text2[NB_ENVELOPE_MAX + 1];
static struct nb_role role;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ROOT1 under its keyid, ROOT2, and ROOT1 again under a made-up keyid:
 * threshold 2 must need two different keys, not one key twice. */
static void setup(void)
{
    if (role.n_keys != 0)
        return;
    fz_key(FZ_SEED_ROOT1, &role.keys[0]);
    fz_key(FZ_SEED_ROOT2, &role.keys[1]);
    role.keys[2] = role.keys[0];
    memset(role.keys[2].keyid, '0', NB_KEYID_MAX);
    role.keys[2].keyid[NB_KEYID_MAX] = '\0';
    role.n_keys = 3;
    role.threshold = 2;
}

/* Distinct public keys of r with at least one signature that names one of
 * the key's ids and verifies over the PAE: what the threshold counts. */
static size_t recount(const struct nb_envelope *env, const struct nb_role *r)
{
    const uint8_t *seen[NB_ROLE_MAX_KEYS];
    size_t n = 0;
    for (size_t k = 0; k < r->n_keys; k++) {
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup = dup || memcmp(seen[i], r->keys[k].pub, NB_ED25519_PUB_LEN) == 0;
        for (size_t s = 0; !dup && s < env->n_sigs; s++) {
            if (strcmp(env->sigs[s].keyid, r->keys[k].keyid) == 0 &&
                nb_ed25519_verify(r->keys[k].pub, env->pae, env->pae_len, env->sigs[s].sig) ==
                    NB_OK) {
                seen[n++] = r->keys[k].pub;
                break;
            }
        }
    }
    return n;
}

static void check_verify(const struct nb_envelope *env)
{
    struct nb_diag diag = {{0}};
    size_t n_valid = 99;
    enum nb_err err = nb_envelope_verify_counted(env, env->payload_type, &role, &n_valid, &diag);
    fz_check_diag(&diag);
    size_t n = recount(env, &role);
    fz_require(n_valid == n, "verify counts the distinct valid keys");
    enum nb_err want = n >= role.threshold ? NB_OK : n == 0 ? NB_ESIG : NB_ETHRESHOLD;
    fz_require(err == want, "verify result follows the count");
    fz_require(nb_envelope_verify(env, env->payload_type, &role, NULL) == err,
               "verify and verify_counted agree");

    /* Type confusion (SECURITY.md 30) and threshold 0 (SECURITY.md 7). */
    const char *other =
        strcmp(env->payload_type, NB_PAYLOAD_RELEASE) == 0 ? NB_PAYLOAD_ROOT : NB_PAYLOAD_RELEASE;
    fz_require(nb_envelope_verify(env, other, &role, NULL) == NB_EPARSE,
               "another payload type is refused");
    struct nb_role zero = role;
    zero.threshold = 0;
    fz_require(nb_envelope_verify(env, env->payload_type, &zero, NULL) == NB_EPARSE,
               "threshold 0 is refused");
}

/* write(env) parses back to env. */
static void check_round_trip(const struct nb_envelope *env)
{
    size_t len = 0;
    fz_require(nb_envelope_write(env->payload_type, env->payload, env->payload_len, env->sigs,
                                 env->n_sigs, text2, sizeof text2, &len) == NB_OK,
               "a parsed envelope can be written");
    struct nb_envelope env2;
    fz_require(nb_envelope_parse((const uint8_t *)text2, len, scratch2, sizeof scratch2, &env2,
                                 NULL) == NB_OK,
               "a written envelope parses");
    fz_require(strcmp(env->payload_type, env2.payload_type) == 0, "round trip: type");
    fz_require(env->payload_len == env2.payload_len &&
                   memcmp(env->payload, env2.payload, env->payload_len) == 0,
               "round trip: payload");
    fz_require(env->pae_len == env2.pae_len && memcmp(env->pae, env2.pae, env->pae_len) == 0,
               "round trip: PAE");
    fz_require(env->n_sigs == env2.n_sigs, "round trip: signature count");
    for (size_t i = 0; i < env->n_sigs; i++) {
        fz_require(strcmp(env->sigs[i].keyid, env2.sigs[i].keyid) == 0 &&
                       memcmp(env->sigs[i].sig, env2.sigs[i].sig, NB_ED25519_SIG_LEN) == 0,
                   "round trip: signature");
    }
}

/* A scratch with room for SMALL_PAYLOAD_CAP payload bytes gives the same
 * envelope when the payload fits, NB_ELENGTH when it does not. */
static void check_small_scratch(const uint8_t *data, size_t size, const struct nb_envelope *env)
{
    struct nb_envelope small;
    enum nb_err err = nb_envelope_parse(data, size, scratch2, NB_PAE_HEADER_MAX + SMALL_PAYLOAD_CAP,
                                        &small, NULL);
    if (env->payload_len > SMALL_PAYLOAD_CAP) {
        fz_require(err == NB_ELENGTH, "a payload over the scratch is NB_ELENGTH");
        return;
    }
    fz_require(err == NB_OK && small.payload_len == env->payload_len &&
                   memcmp(small.payload, env->payload, env->payload_len) == 0,
               "a payload within the scratch parses the same");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    struct nb_envelope env;
    struct nb_diag diag = {{0}};
    memset(&env, FZ_POISON, sizeof env);
    enum nb_err err = nb_envelope_parse(data, size, scratch, sizeof scratch, &env, &diag);
    fz_check_diag(&diag);
    if (err != NB_OK) {
        fz_require(err == NB_EPARSE || err == NB_ELENGTH || err == NB_ESIG,
                   "parse fails with a documented code");
        fz_require(fz_untouched(&env, sizeof env), "a failed parse leaves *env alone");
        return 0;
    }
    fz_require(env.n_sigs <= NB_ENVELOPE_MAX_SIGS && env.payload_len <= NB_PAYLOAD_MAX,
               "parse respects its caps");
    fz_require(env.payload >= scratch && env.payload + env.payload_len <= scratch + sizeof scratch,
               "payload lies in the scratch");
    check_verify(&env);
    check_round_trip(&env);
    check_small_scratch(data, size, &env);
    return 0;
}
