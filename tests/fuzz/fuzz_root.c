/* libFuzzer target: the input as a root payload (nb_root_parse), as the next
 * root after a fixed trusted v1 (nb_root_step), as a root taken on trust
 * (nb_root_load_trusted), and its lines as a chain (nb_root_walk). Oracles:
 * every accepted root keeps the parser's invariants and survives a
 * write/parse round trip; outputs are written only on success; a walk
 * accepts exactly consecutive versions. */
#include "fuzz_fixture.h"

#include <nobrick/root.h>

#define MAX_LINES 8
#define FZ_NOW ((int64_t)1700000000)

static uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN];
static char text1[NB_ROOT_PAYLOAD_MAX + 1];
static char text2[NB_ROOT_PAYLOAD_MAX + 1];
static struct nb_root trusted;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void setup(void)
{
    if (trusted.version == 0)
        fz_root(&trusted);
}

static bool is_lower_hex(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    }
    return true;
}

static void check_role(const struct nb_role *r)
{
    fz_require(r->n_keys >= 1 && r->n_keys <= NB_ROLE_MAX_KEYS, "role: 1..16 keys");
    fz_require(r->threshold >= 1 && r->threshold <= r->n_keys, "role: threshold 1..n_keys");
    for (size_t i = 0; i < r->n_keys; i++) {
        const struct nb_key *k = &r->keys[i];
        fz_require(fz_terminated(k->keyid, sizeof k->keyid) && k->keyid[0] != '\0' &&
                       is_lower_hex(k->keyid),
                   "role: keyid is 1-64 lowercase hex");
        fz_require(!nb_ed25519_pub_is_weak(k->pub), "role: no weak public key");
        for (size_t j = 0; j < i; j++)
            fz_require(strcmp(k->keyid, r->keys[j].keyid) != 0, "role: keyids unique");
    }
}

/* The invariants root.h promises of a parsed root. */
static void check_root(const struct nb_root *root)
{
    fz_require(root->version >= 1 && root->version <= INT32_MAX, "root: version 1..2^31-1");
    for (int r = 0; r < NB_ROLE_COUNT; r++)
        check_role(&root->roles[r]);
    fz_require(root->n_endpoints >= 1 && root->n_endpoints <= NB_ROOT_MAX_ENDPOINTS,
               "root: 1..8 endpoints");
    for (size_t i = 0; i < root->n_endpoints; i++) {
        const char *e = root->endpoints[i];
        fz_require(fz_terminated(e, NB_ENDPOINT_MAX + 1), "root: endpoint terminated");
        fz_require(strncmp(e, "https://", 8) == 0 || strncmp(e, "http://", 7) == 0,
                   "root: endpoint is http(s)");
    }
    char date[NB_ROOT_DATE_LEN];
    nb_root_date(root->expires, date);
    fz_require(fz_terminated(date, sizeof date), "root: date terminated");
    enum nb_err err = nb_root_check_expiry(root, FZ_NOW, NULL);
    fz_require(err == (FZ_NOW >= root->expires ? NB_EEXPIRED : NB_OK), "root: expiry");
}

/* write(root) parses, and writing that again gives the same bytes. */
static void check_round_trip(const struct nb_root *root)
{
    size_t len1 = 0, len2 = 0;
    struct nb_root again;
    fz_require(nb_root_write(root, text1, sizeof text1, &len1) == NB_OK, "a root can be written");
    fz_require(nb_root_parse((const uint8_t *)text1, len1, &again, NULL) == NB_OK,
               "a written root parses");
    fz_require(nb_root_write(&again, text2, sizeof text2, &len2) == NB_OK,
               "a re-parsed root can be written");
    fz_require(len1 == len2 && memcmp(text1, text2, len1) == 0, "root round trip is stable");
    fz_require(again.version == root->version && again.expires == root->expires &&
                   again.n_endpoints == root->n_endpoints,
               "root round trip keeps the fields");
}

static void check_parse(const uint8_t *data, size_t size)
{
    struct nb_root out;
    struct nb_diag diag = {{0}};
    memset(&out, FZ_POISON, sizeof out);
    enum nb_err err = nb_root_parse(data, size, &out, &diag);
    fz_check_diag(&diag);
    if (err != NB_OK) {
        fz_require(err == NB_EPARSE || err == NB_ELENGTH, "root parse: documented code");
        fz_require(fz_untouched(&out, sizeof out), "a failed root parse leaves *out alone");
        return;
    }
    check_root(&out);
    check_round_trip(&out);
}

/* Returns the step's result, for the walk's oracle. */
static enum nb_err check_step(const uint8_t *data, size_t size)
{
    struct nb_root out;
    struct nb_diag diag = {{0}};
    memset(&out, FZ_POISON, sizeof out);
    enum nb_err err = nb_root_step(&trusted, data, size, scratch, sizeof scratch, &out, &diag);
    fz_check_diag(&diag);
    if (err != NB_OK) {
        fz_require(fz_untouched(&out, sizeof out), "a failed step leaves *out alone");
        return err;
    }
    fz_require(out.version == trusted.version + 1, "a step goes exactly one version up");
    check_root(&out);
    return err;
}

static void check_load_trusted(const uint8_t *data, size_t size)
{
    struct nb_root out;
    struct nb_diag diag = {{0}};
    memset(&out, FZ_POISON, sizeof out);
    enum nb_err err = nb_root_load_trusted(data, size, scratch, sizeof scratch, &out, &diag);
    fz_check_diag(&diag);
    if (err != NB_OK) {
        fz_require(fz_untouched(&out, sizeof out), "a failed load leaves *out alone");
        return;
    }
    check_root(&out);
}

/* The input's lines as a chain from trusted. With one line the walk is the
 * step; a valid next root offered twice is accepted once, then a rollback. */
static void check_walk(const uint8_t *data, size_t size, enum nb_err step_err)
{
    const uint8_t *texts[MAX_LINES + 1];
    size_t lens[MAX_LINES + 1];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < MAX_LINES; i++) {
        if (i == size || data[i] == '\n') {
            texts[n] = data + start;
            lens[n++] = i - start;
            start = i + 1;
        }
    }
    if (n == 1) { /* the same root twice */
        texts[1] = texts[0];
        lens[1] = lens[0];
        n = 2;
    }
    struct nb_root out;
    size_t steps = 99;
    enum nb_err err =
        nb_root_walk(&trusted, texts, lens, n, scratch, sizeof scratch, &out, &steps, NULL);
    fz_require(steps <= n && (err == NB_OK) == (steps == n), "walk: steps and result agree");
    fz_require(out.version == trusted.version + steps, "walk: one version per step");
    if (steps == 0)
        fz_require(out.expires == trusted.expires && out.n_endpoints == trusted.n_endpoints,
                   "walk: no step keeps trusted");
    if (lens[0] == size) { /* one line: the walk repeats the step */
        fz_require(steps == (step_err == NB_OK ? 1u : 0u), "walk: first step as nb_root_step");
        fz_require(step_err != NB_OK || err == NB_EROLLBACK, "walk: a replay is a rollback");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    check_parse(data, size);
    enum nb_err step_err = check_step(data, size);
    check_load_trusted(data, size);
    check_walk(data, size, step_err);
    return 0;
}
