/* The attacks of SECURITY.md that target signed metadata, one named test
 * per case (caseNN_*): envelopes, thresholds, root rotation and the chain
 * walk. Every negative case also checks that the trusted root is unchanged
 * and that a good step still succeeds afterwards. */
#include "trust_fixture.h"

#include <nobrick/alloc.h>
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>
#include <nobrick/root.h>

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct nb_keyfile r1, r2, r3, rel, rel2, dir, atk;
static struct nb_root v1; /* root v1: {r1} threshold 1 */
static char text[FX_ENVELOPE_CAP];
static char edited[FX_ENVELOPE_CAP];

static int setup(void **state)
{
    (void)state;
    fx_key(&r1, NB_KEY_ROOT);
    fx_key(&r2, NB_KEY_ROOT);
    fx_key(&r3, NB_KEY_ROOT);
    fx_key(&rel, NB_KEY_RELEASE);
    fx_key(&rel2, NB_KEY_RELEASE);
    fx_key(&dir, NB_KEY_DIRECTOR);
    fx_key(&atk, NB_KEY_RELEASE);
    fx_root(&v1, 1, FX_NOW + 365 * FX_DAY, &r1, 1, 1, &rel, &dir);
    return 0;
}

/* nb_root_step that also asserts the global invariants of a failure:
 * the trusted root is unchanged and *out is not written. */
static enum nb_err step(const struct nb_root *trusted, const char *t, struct nb_root *out,
                        struct nb_diag *diag)
{
    struct nb_root before = *trusted, out_before = *out;
    nb_diag_clear(diag);
    enum nb_err err = nb_root_step(trusted, (const uint8_t *)t, strlen(t), fx_scratch(),
                                   NB_ENVELOPE_SCRATCH_LEN, out, diag);
    assert_memory_equal(&before, trusted, sizeof before);
    if (err != NB_OK)
        assert_memory_equal(&out_before, out, sizeof out_before);
    return err;
}

/* v2 of v1 with root keys {r2}, signed by both r1 (old) and r2 (new). */
static const char *good_v2(struct nb_root *v2)
{
    fx_root(v2, 2, FX_NOW + 365 * FX_DAY, &r2, 1, 1, &rel, &dir);
    const struct nb_keyfile *s[] = {&r1, &r2};
    fx_root_envelope(v2, s, 2, text, sizeof text);
    return text;
}

/* After a refused step, the next cycle with good data still succeeds. */
static void assert_good_step_still_works(void)
{
    struct nb_root v2, out;
    memset(&out, 0, sizeof out);
    assert_int_equal(step(&v1, good_v2(&v2), &out, NULL), NB_OK);
    assert_int_equal(out.version, 2);
}

/* edited = text with the first `from` replaced by `to`. */
static const char *edit(const char *from, const char *to)
{
    const char *p = strstr(text, from);
    assert_non_null(p);
    int n =
        snprintf(edited, sizeof edited, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof edited);
    return edited;
}

/* The base64 of the first signature in text, with its quotes. */
static void first_sig(char out[100])
{
    const char *p = strstr(text, "\"sig\":\"");
    assert_non_null(p);
    const char *end = strchr(p + 7, '"');
    assert_non_null(end);
    (void)snprintf(out, 100, "%.*s", (int)(end - p - 5), p + 6);
}

static enum nb_err parse_verify(const char *t, const char *type, const struct nb_role *role,
                                struct nb_diag *diag)
{
    struct nb_envelope env;
    nb_diag_clear(diag);
    enum nb_err err = nb_envelope_parse((const uint8_t *)t, strlen(t), fx_scratch(),
                                        NB_ENVELOPE_SCRATCH_LEN, &env, diag);
    if (err == NB_OK)
        err = nb_envelope_verify(&env, type, role, diag);
    return err;
}

static void case02_unsigned_or_garbage_signed(void **state)
{
    (void)state;
    struct nb_root v2, out;
    struct nb_diag d;
    memset(&out, 0, sizeof out);
    fx_root(&v2, 2, FX_NOW + FX_DAY, &r2, 1, 1, &rel, &dir);
    /* no signatures field at all: not an envelope */
    fx_root_envelope(&v2, NULL, 0, text, sizeof text);
    assert_int_equal(step(&v1, edit(",\"signatures\":[]", ""), &out, &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "missing field 'signatures'"));
    /* an empty list */
    assert_int_equal(step(&v1, text, &out, &d), NB_ESIG);
    assert_string_equal(d.msg, "signed by 0 of 1 required v1 root keys");
    /* random bytes as the signature, under the right keyid */
    const struct nb_keyfile *s[] = {&r1, &r2};
    fx_root_envelope(&v2, s, 2, text, sizeof text);
    uint8_t rnd[NB_ED25519_SIG_LEN];
    char b64[100], old[100], with[110];
    assert_int_equal(nb_random(rnd, sizeof rnd), NB_OK);
    assert_int_equal(nb_base64_encode(rnd, sizeof rnd, b64, sizeof b64), NB_OK);
    first_sig(old);
    (void)snprintf(with, sizeof with, "\"%s\"", b64);
    assert_int_equal(step(&v1, edit(old, with), &out, &d), NB_ESIG);
    /* the same for a release envelope */
    struct nb_role role;
    fx_role(&role, &rel, 1, 1);
    fx_envelope(NB_PAYLOAD_RELEASE, "{}", 2, NULL, 0, text, sizeof text);
    assert_int_equal(parse_verify(text, NB_PAYLOAD_RELEASE, &role, &d), NB_ESIG);
    assert_good_step_still_works();
}

static void case03_empty_signature(void **state)
{
    (void)state;
    struct nb_root v2, out;
    struct nb_diag d;
    char old[100];
    memset(&out, 0, sizeof out);
    good_v2(&v2);
    first_sig(old);
    /* a 0-byte signature is refused, never skipped as "nothing to check" */
    assert_int_equal(step(&v1, edit(old, "\"\""), &out, &d), NB_ESIG);
    assert_non_null(strstr(d.msg, "signature 1"));
    /* zero signatures with a threshold of one role key: E_SIG, never OK */
    struct nb_role role;
    fx_role(&role, &rel, 1, 1);
    struct nb_envelope env;
    const struct nb_keyfile *s[] = {&rel};
    fx_envelope(NB_PAYLOAD_RELEASE, "{}", 2, s, 1, text, sizeof text);
    assert_int_equal(nb_envelope_parse((const uint8_t *)text, strlen(text), fx_scratch(),
                                       NB_ENVELOPE_SCRATCH_LEN, &env, NULL),
                     NB_OK);
    env.n_sigs = 0; /* what a crypto layer returning "no signatures" yields */
    assert_int_equal(nb_envelope_verify(&env, NB_PAYLOAD_RELEASE, &role, NULL), NB_ESIG);
    assert_good_step_still_works();
}

static void case04_foreign_key(void **state)
{
    (void)state;
    struct nb_root v2, out;
    struct nb_diag d;
    memset(&out, 0, sizeof out);
    /* the attacker's valid signatures, under keyids copied from the trusted keys */
    struct nb_keyfile fake_r1 = atk, fake_rel = atk;
    memcpy(fake_r1.keyid, r1.keyid, sizeof fake_r1.keyid);
    memcpy(fake_rel.keyid, rel.keyid, sizeof fake_rel.keyid);
    fx_root(&v2, 2, FX_NOW + FX_DAY, &atk, 1, 1, &atk, &atk);
    const struct nb_keyfile *s[] = {&fake_r1, &atk};
    fx_root_envelope(&v2, s, 2, text, sizeof text);
    assert_int_equal(step(&v1, text, &out, &d), NB_ESIG);
    const struct nb_keyfile *sr[] = {&fake_rel};
    fx_envelope(NB_PAYLOAD_RELEASE, "{}", 2, sr, 1, text, sizeof text);
    assert_int_equal(parse_verify(text, NB_PAYLOAD_RELEASE, &v1.roles[NB_ROLE_RELEASE], &d),
                     NB_ESIG);
    assert_good_step_still_works();
}

static void case05_duplicated_signature(void **state)
{
    (void)state;
    struct nb_root trusted, v2, out;
    struct nb_diag d;
    struct nb_keyfile two[2] = {r1, r2};
    memset(&out, 0, sizeof out);
    fx_root(&trusted, 1, FX_NOW + FX_DAY, two, 2, 2, &rel, &dir);
    fx_root(&v2, 2, FX_NOW + FX_DAY, two, 2, 2, &rel, &dir);
    /* r1's valid signature listed twice: one key, counted once */
    const struct nb_keyfile *s[] = {&r1, &r1};
    fx_root_envelope(&v2, s, 2, text, sizeof text);
    assert_int_equal(step(&trusted, text, &out, &d), NB_ETHRESHOLD);
    assert_string_equal(d.msg, "signed by 1 of 2 required v1 root keys");
    /* the same signature bytes copied t times */
    char sig[100], triple[400];
    fx_root_envelope(&v2, s, 1, text, sizeof text);
    first_sig(sig);
    (void)snprintf(triple, sizeof triple, "%s},{\"keyid\":\"%s\",\"sig\":%s", sig, r1.keyid, sig);
    assert_int_equal(step(&trusted, edit(sig, triple), &out, &d), NB_ETHRESHOLD);
    const struct nb_keyfile *both[] = {&r1, &r2};
    fx_root_envelope(&v2, both, 2, text, sizeof text);
    assert_int_equal(step(&trusted, text, &out, &d), NB_OK);
}

static void case06_one_key_two_keyids(void **state)
{
    (void)state;
    struct nb_root root, parsed;
    char payload[8192];
    size_t len = 0;
    /* a root listing rel twice, under its keyid and another one */
    fx_root(&root, 1, FX_NOW + FX_DAY, &r1, 1, 1, &rel, &dir);
    struct nb_role *role = &root.roles[NB_ROLE_RELEASE];
    role->keys[1] = role->keys[0];
    memset(role->keys[1].keyid, 'a', NB_KEYID_MAX);
    role->n_keys = 2;
    role->threshold = 2;
    assert_int_equal(nb_root_write(&root, payload, sizeof payload, &len), NB_OK);
    assert_int_equal(nb_root_parse((const uint8_t *)payload, len, &parsed, NULL), NB_OK);
    /* two valid signatures by one key, one per keyid */
    struct nb_keyfile alias = rel;
    memcpy(alias.keyid, parsed.roles[NB_ROLE_RELEASE].keys[1].keyid, sizeof alias.keyid);
    const struct nb_keyfile *s[] = {&rel, &alias};
    fx_envelope(NB_PAYLOAD_RELEASE, "{}", 2, s, 2, text, sizeof text);
    struct nb_diag d;
    assert_int_equal(parse_verify(text, NB_PAYLOAD_RELEASE, &parsed.roles[NB_ROLE_RELEASE], &d),
                     NB_ETHRESHOLD);
    assert_string_equal(d.msg, "release envelope: 1 of 2 required keys signed (2 signatures)");
}

static void case07_threshold_zero(void **state)
{
    (void)state;
    struct nb_root v2, out;
    struct nb_diag d;
    memset(&out, 0, sizeof out);
    for (int r = 0; r < NB_ROLE_COUNT; r++) {
        fx_root(&v2, 2, FX_NOW + FX_DAY, &r2, 1, 1, &rel, &dir);
        v2.roles[r].threshold = 0;
        const struct nb_keyfile *s[] = {&r1, &r2};
        fx_root_envelope(&v2, s, 2, text, sizeof text);
        assert_int_equal(step(&v1, text, &out, &d), NB_EPARSE);
        assert_non_null(strstr(d.msg, "threshold"));
    }
    /* a role held in memory with threshold 0 accepts nothing, not everything */
    struct nb_role role;
    fx_role(&role, &rel, 1, 0);
    fx_envelope(NB_PAYLOAD_RELEASE, "{}", 2, NULL, 0, text, sizeof text);
    assert_int_equal(parse_verify(text, NB_PAYLOAD_RELEASE, &role, &d), NB_EPARSE);
    assert_good_step_still_works();
}

/* v1 {r1} -> v2 {r2} (keys rotated) -> v3 {r2, r3} threshold 2, release
 * key rotated to rel2. */
static void build_chain(char texts[2][FX_ENVELOPE_CAP], struct nb_root *v3)
{
    struct nb_root v2;
    fx_root(&v2, 2, FX_NOW + 548 * FX_DAY, &r2, 1, 1, &rel, &dir);
    const struct nb_keyfile *s2[] = {&r1, &r2};
    fx_root_envelope(&v2, s2, 2, texts[0], FX_ENVELOPE_CAP);
    struct nb_keyfile keys3[2] = {r2, r3};
    fx_root(v3, 3, FX_NOW + 3 * 365 * FX_DAY, keys3, 2, 2, &rel2, &dir);
    const struct nb_keyfile *s3[] = {&r2, &r3};
    fx_root_envelope(v3, s3, 2, texts[1], FX_ENVELOPE_CAP);
}

static void walk_chain_at(int64_t now)
{
    static char texts[2][FX_ENVELOPE_CAP];
    struct nb_root v3, reached;
    build_chain(texts, &v3);
    const uint8_t *ptrs[2] = {(const uint8_t *)texts[0], (const uint8_t *)texts[1]};
    size_t lens[2] = {strlen(texts[0]), strlen(texts[1])};
    size_t steps = 0;
    assert_int_equal(nb_root_walk(&v1, ptrs, lens, 2, fx_scratch(), NB_ENVELOPE_SCRATCH_LEN,
                                  &reached, &steps, NULL),
                     NB_OK);
    assert_int_equal(steps, 2);
    assert_int_equal(reached.version, 3);
    assert_int_equal(reached.roles[NB_ROLE_ROOT].threshold, 2);
    /* only the newest root must be current */
    assert_int_equal(nb_root_check_expiry(&reached, now, NULL), NB_OK);
    /* new targets: a release signed by the rotated release key */
    const struct nb_keyfile *s[] = {&rel2};
    fx_envelope(NB_PAYLOAD_RELEASE, "{\"v\":2}", 7, s, 1, text, sizeof text);
    assert_int_equal(parse_verify(text, NB_PAYLOAD_RELEASE, &reached.roles[NB_ROLE_RELEASE], NULL),
                     NB_OK);
    assert_int_equal(parse_verify(text, NB_PAYLOAD_RELEASE, &v1.roles[NB_ROLE_RELEASE], NULL),
                     NB_ESIG);
}

static void case08_root_rotation_happy(void **state)
{
    (void)state;
    walk_chain_at(FX_NOW);
    /* two years offline: v1 and v2 have expired, v3 has not */
    int64_t later = FX_NOW + 2 * 365 * FX_DAY;
    assert_int_equal(nb_root_check_expiry(&v1, later, NULL), NB_EEXPIRED);
    walk_chain_at(later);
    struct nb_root v2;
    good_v2(&v2);
    v2.expires = FX_NOW + 548 * FX_DAY;
    assert_int_equal(nb_root_check_expiry(&v2, later, NULL), NB_EEXPIRED);
}

static void case09_rotation_bad_signatures(void **state)
{
    (void)state;
    struct nb_root v2, out;
    struct nb_diag d;
    memset(&out, 0, sizeof out);
    fx_root(&v2, 2, FX_NOW + FX_DAY, &r2, 1, 1, &rel, &dir);
    const struct nb_keyfile *only_new[] = {&r2};
    fx_root_envelope(&v2, only_new, 1, text, sizeof text);
    assert_int_equal(step(&v1, text, &out, &d), NB_ESIG);
    assert_string_equal(d.msg, "signed by 0 of 1 required v1 root keys");
    const struct nb_keyfile *only_old[] = {&r1};
    fx_root_envelope(&v2, only_old, 1, text, sizeof text);
    assert_int_equal(step(&v1, text, &out, &d), NB_ESIG);
    assert_string_equal(d.msg, "signed by 0 of 1 required v2 root keys (its own)");
    assert_int_equal(v1.version, 1); /* root stays at v1 */
    assert_good_step_still_works();
}

static void case10_root_version_games(void **state)
{
    (void)state;
    struct nb_root v, out;
    struct nb_diag d;
    memset(&out, 0, sizeof out);
    const struct nb_keyfile *s[] = {&r1};
    /* v3 offered while at v1, signed by the keys v1 trusts */
    fx_root(&v, 3, FX_NOW + FX_DAY, &r1, 1, 1, &rel, &dir);
    fx_root_envelope(&v, s, 1, text, sizeof text);
    assert_int_equal(step(&v1, text, &out, &d), NB_EROLLBACK);
    assert_string_equal(d.msg, "version 3 offered after v1, expected v2");
    /* v1 replayed while at v1 */
    fx_root_envelope(&v1, s, 1, text, sizeof text);
    assert_int_equal(step(&v1, text, &out, &d), NB_EROLLBACK);
    assert_good_step_still_works();
}

#define FLOOD 10000

static void case11_root_chain_flood(void **state)
{
    (void)state;
    /* 10,000 valid successive roots: v2 .. v10001, all signed by r1 */
    struct nb_root r;
    fx_root(&r, 2, FX_NOW + FX_DAY, &r1, 1, 1, &rel, &dir);
    const struct nb_keyfile *s[] = {&r1};
    size_t slot = fx_root_envelope(&r, s, 1, text, sizeof text) + 64;
    char *all = nb_malloc(FLOOD * slot);
    const uint8_t **ptrs = nb_malloc(FLOOD * sizeof *ptrs);
    size_t *lens = nb_malloc(FLOOD * sizeof *lens);
    assert_true(all != NULL && ptrs != NULL && lens != NULL);
    for (uint32_t i = 0; i < FLOOD; i++) {
        r.version = i + 2;
        lens[i] = fx_root_envelope(&r, s, 1, all + i * slot, slot);
        ptrs[i] = (const uint8_t *)(all + i * slot);
    }
    struct nb_root reached;
    size_t steps = 0;
    struct nb_diag d;
    nb_diag_clear(&d);
    assert_int_equal(nb_root_walk(&v1, ptrs, lens, FLOOD, fx_scratch(), NB_ENVELOPE_SCRATCH_LEN,
                                  &reached, &steps, &d),
                     NB_ELENGTH);
    assert_int_equal(steps, NB_ROOT_MAX_STEPS);
    assert_int_equal(reached.version, 1 + NB_ROOT_MAX_STEPS); /* accepted roots are kept */
    assert_non_null(strstr(d.msg, "256"));
    /* the next cycle resumes where the walk stopped */
    assert_int_equal(nb_root_walk(&reached, ptrs + steps, lens + steps, FLOOD - steps, fx_scratch(),
                                  NB_ENVELOPE_SCRATCH_LEN, &reached, &steps, NULL),
                     NB_ELENGTH);
    assert_int_equal(reached.version, 1 + 2 * NB_ROOT_MAX_STEPS);
    nb_free(lens);
    nb_free(ptrs);
    nb_free(all);
}

/* Counts jansson's allocations: every JSON decode allocates, so the count
 * shows whether the payload ever reached the JSON parser. */
static long json_allocs;
static void *counting_malloc(size_t len)
{
    json_allocs++;
    return nb_malloc(len);
}

static long allocs_of_step(const char *t, enum nb_err *err)
{
    struct nb_root out;
    json_allocs = 0;
    *err = nb_root_step(&v1, (const uint8_t *)t, strlen(t), fx_scratch(), NB_ENVELOPE_SCRATCH_LEN,
                        &out, NULL);
    return json_allocs;
}

static long allocs_of_envelope_parse(const char *t)
{
    struct nb_envelope env;
    json_allocs = 0;
    assert_int_equal(nb_envelope_parse((const uint8_t *)t, strlen(t), fx_scratch(),
                                       NB_ENVELOPE_SCRATCH_LEN, &env, NULL),
                     NB_OK);
    return json_allocs;
}

static void case29_verify_before_parse(void **state)
{
    (void)state;
    /* a malformed payload over the root cap, "signed" by the attacker under
     * r1's keyid: the parser would say E_LENGTH, the verifier says E_SIG */
    static char junk[NB_ROOT_PAYLOAD_MAX * 2];
    memset(junk, '[', sizeof junk - 1);
    struct nb_keyfile fake = atk;
    memcpy(fake.keyid, r1.keyid, sizeof fake.keyid);
    const struct nb_keyfile *s[] = {&fake};
    fx_envelope(NB_PAYLOAD_ROOT, junk, sizeof junk - 1, s, 1, text, sizeof text);
    struct nb_root out;
    memset(&out, 0, sizeof out);
    assert_int_equal(step(&v1, text, &out, NULL), NB_ESIG);
    assert_int_equal(nb_root_parse((const uint8_t *)junk, sizeof junk - 1, &out, NULL), NB_ELENGTH);
    /* instrument the JSON decoder: a small malformed payload with a bad
     * signature costs exactly the envelope's decoding, nothing more */
    json_malloc_t saved_malloc;
    json_free_t saved_free;
    json_get_alloc_funcs(&saved_malloc, &saved_free);
    json_set_alloc_funcs(counting_malloc, nb_free);
    enum nb_err err;
    fx_envelope(NB_PAYLOAD_ROOT, "{\"version\":[[[[", 15, s, 1, text, sizeof text);
    long envelope_only = allocs_of_envelope_parse(text);
    assert_true(envelope_only > 0);
    assert_int_equal(allocs_of_step(text, &err), envelope_only);
    assert_int_equal(err, NB_ESIG);
    /* control: once r1 really signs, the same payload reaches the parser */
    const struct nb_keyfile *good[] = {&r1};
    fx_envelope(NB_PAYLOAD_ROOT, "{\"version\":[[[[", 15, good, 1, text, sizeof text);
    envelope_only = allocs_of_envelope_parse(text);
    assert_true(allocs_of_step(text, &err) > envelope_only);
    assert_int_equal(err, NB_EPARSE);
    json_set_alloc_funcs(saved_malloc, saved_free);
}

static void case30_type_confusion(void **state)
{
    (void)state;
    struct nb_diag d;
    /* valid release bytes re-wrapped as another type: the PAE differs */
    const struct nb_keyfile *s[] = {&rel};
    fx_envelope(NB_PAYLOAD_RELEASE, "{\"type\":\"release\"}", 18, s, 1, text, sizeof text);
    const char *as_director = edit(NB_PAYLOAD_RELEASE, NB_PAYLOAD_DIRECTOR);
    struct nb_role shared; /* even where one key serves both roles */
    fx_role(&shared, &rel, 1, 1);
    assert_int_equal(parse_verify(as_director, NB_PAYLOAD_DIRECTOR, &shared, &d), NB_ESIG);
    assert_int_equal(parse_verify(as_director, NB_PAYLOAD_RELEASE, &shared, &d), NB_EPARSE);
    /* re-wrapped as a root: refused at the first signature check */
    struct nb_root out;
    memset(&out, 0, sizeof out);
    assert_int_equal(step(&v1, edit(NB_PAYLOAD_RELEASE, NB_PAYLOAD_ROOT), &out, &d), NB_ESIG);
    /* a director document submitted as release metadata */
    const struct nb_keyfile *sd[] = {&dir};
    fx_envelope(NB_PAYLOAD_DIRECTOR, "{\"type\":\"director\"}", 19, sd, 1, text, sizeof text);
    assert_int_equal(parse_verify(text, NB_PAYLOAD_RELEASE, &v1.roles[NB_ROLE_RELEASE], &d),
                     NB_EPARSE);
    assert_int_equal(parse_verify(edit(NB_PAYLOAD_DIRECTOR, NB_PAYLOAD_RELEASE), NB_PAYLOAD_RELEASE,
                                  &v1.roles[NB_ROLE_RELEASE], &d),
                     NB_ESIG);
    /* a root signed by root keys but with a release payload type */
    struct nb_root v2;
    fx_root(&v2, 2, FX_NOW + FX_DAY, &r1, 1, 1, &rel, &dir);
    char payload[4096];
    size_t len = 0;
    assert_int_equal(nb_root_write(&v2, payload, sizeof payload, &len), NB_OK);
    const struct nb_keyfile *sr[] = {&r1};
    fx_envelope(NB_PAYLOAD_RELEASE, payload, len, sr, 1, text, sizeof text);
    assert_int_equal(step(&v1, text, &out, &d), NB_EPARSE);
    assert_good_step_still_works();
}

/* Signs a hand-edited v2 payload (the written one with from -> to) with the
 * old and new root keys, and steps to it from v1. */
static enum nb_err step_edited_payload(const char *from, const char *to)
{
    struct nb_root v2, out;
    char payload[4096], changed[4200];
    size_t len = 0;
    fx_root(&v2, 2, FX_NOW + FX_DAY, &r1, 1, 1, &rel, &dir);
    assert_int_equal(nb_root_write(&v2, payload, sizeof payload, &len), NB_OK);
    const char *p = strstr(payload, from);
    assert_non_null(p);
    int n = snprintf(changed, sizeof changed, "%.*s%s%s", (int)(p - payload), payload, to,
                     p + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof changed);
    const struct nb_keyfile *s[] = {&r1};
    fx_envelope(NB_PAYLOAD_ROOT, changed, (size_t)n, s, 1, text, sizeof text);
    memset(&out, 0, sizeof out);
    return step(&v1, text, &out, NULL);
}

static void case31_duplicate_and_unknown_keys(void **state)
{
    (void)state;
    assert_int_equal(step_edited_payload("\"version\":2", "\"version\":2,\"version\":99"),
                     NB_EPARSE);
    assert_int_equal(step_edited_payload("\"version\":2", "\"version\":99,\"version\":2"),
                     NB_EPARSE);
    assert_int_equal(step_edited_payload("\"spec\":1", "\"spec\":1,\"critical\":true"), NB_EPARSE);
    assert_int_equal(step_edited_payload("\"threshold\":1", "\"threshold\":1,\"threshold\":0"),
                     NB_EPARSE);
    assert_int_equal(step_edited_payload("\"keyid\":", "\"paths\":[],\"keyid\":"), NB_EPARSE);
    assert_int_equal(step_edited_payload("\"]}", "\"]} \n"), NB_OK);    /* whitespace is fine */
    assert_int_equal(step_edited_payload("\"]}", "\"]}{}"), NB_EPARSE); /* trailing bytes */
    /* and in the envelope itself */
    struct nb_root v2, out;
    memset(&out, 0, sizeof out);
    good_v2(&v2);
    assert_int_equal(
        step(&v1, edit("\"payload\":", "\"payload\":\"e30=\",\"payload\":"), &out, NULL),
        NB_EPARSE);
    good_v2(&v2);
    assert_int_equal(step(&v1, edit("\"signatures\":", "\"sigs\":[],\"signatures\":"), &out, NULL),
                     NB_EPARSE);
    assert_good_step_still_works();
}

static void case32_degenerate_signatures(void **state)
{
    (void)state;
    struct nb_root v2, out;
    char sig[100], zero[110], b64[100];
    uint8_t raw[NB_ED25519_SIG_LEN];
    size_t raw_len = 0;
    memset(&out, 0, sizeof out);
    /* all-zero signature under r1's keyid */
    good_v2(&v2);
    first_sig(sig);
    memset(raw, 0, sizeof raw);
    assert_int_equal(nb_base64_encode(raw, sizeof raw, b64, sizeof b64), NB_OK);
    (void)snprintf(zero, sizeof zero, "\"%s\"", b64);
    assert_int_equal(step(&v1, edit(sig, zero), &out, NULL), NB_ESIG);
    /* S + L: the same signature in a malleated form */
    static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,       0xd6,
                                  0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, [31] = 0x10};
    assert_int_equal(nb_base64_decode(sig + 1, strlen(sig) - 2, raw, sizeof raw, &raw_len), NB_OK);
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        carry += (unsigned)raw[32 + i] + L[i];
        raw[32 + i] = (uint8_t)carry;
        carry >>= 8;
    }
    assert_int_equal(nb_base64_encode(raw, sizeof raw, b64, sizeof b64), NB_OK);
    (void)snprintf(zero, sizeof zero, "\"%s\"", b64);
    assert_int_equal(step(&v1, edit(sig, zero), &out, NULL), NB_ESIG);
    /* a small-order public key (the identity point) in a root: refused at
     * parse, and a role holding one anyway verifies nothing with R=identity, S=0 */
    fx_root(&v2, 2, FX_NOW + FX_DAY, &r1, 1, 1, &rel, &dir);
    memset(v2.roles[NB_ROLE_RELEASE].keys[0].pub, 0, NB_ED25519_PUB_LEN);
    v2.roles[NB_ROLE_RELEASE].keys[0].pub[0] = 1;
    const struct nb_keyfile *s[] = {&r1};
    fx_root_envelope(&v2, s, 1, text, sizeof text);
    struct nb_diag d;
    assert_int_equal(step(&v1, text, &out, &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "small-order"));
    struct nb_envelope env;
    fx_envelope(NB_PAYLOAD_RELEASE, "{}", 2, NULL, 0, text, sizeof text);
    assert_int_equal(nb_envelope_parse((const uint8_t *)text, strlen(text), fx_scratch(),
                                       NB_ENVELOPE_SCRATCH_LEN, &env, NULL),
                     NB_OK);
    env.n_sigs = 1;
    memcpy(env.sigs[0].keyid, v2.roles[NB_ROLE_RELEASE].keys[0].keyid, NB_KEYID_MAX + 1);
    memset(env.sigs[0].sig, 0, NB_ED25519_SIG_LEN);
    env.sigs[0].sig[0] = 1; /* R = identity, S = 0 */
    assert_int_equal(nb_envelope_verify(&env, NB_PAYLOAD_RELEASE, &v2.roles[NB_ROLE_RELEASE], NULL),
                     NB_ESIG);
    assert_good_step_still_works();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(case02_unsigned_or_garbage_signed),
        cmocka_unit_test(case03_empty_signature),
        cmocka_unit_test(case04_foreign_key),
        cmocka_unit_test(case05_duplicated_signature),
        cmocka_unit_test(case06_one_key_two_keyids),
        cmocka_unit_test(case07_threshold_zero),
        cmocka_unit_test(case08_root_rotation_happy),
        cmocka_unit_test(case09_rotation_bad_signatures),
        cmocka_unit_test(case10_root_version_games),
        cmocka_unit_test(case11_root_chain_flood),
        cmocka_unit_test(case29_verify_before_parse),
        cmocka_unit_test(case30_type_confusion),
        cmocka_unit_test(case31_duplicate_and_unknown_keys),
        cmocka_unit_test(case32_degenerate_signatures),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
