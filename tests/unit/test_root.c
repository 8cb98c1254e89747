/* Unit tests of root metadata (lib/core/root.c): the strict parser and its
 * caps, the writer, loading the trusted root, one chain step, the bounded
 * walk and expiry. Attack scenarios are in test_attacks_trust.c. */
#include "trust_fixture.h"

#include <nobrick/root.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct nb_keyfile rk1, rk2, rel, dir;
static char payload[NB_ROOT_PAYLOAD_MAX + 64];
static char edited[NB_ROOT_PAYLOAD_MAX + 256];
static char text[FX_ENVELOPE_CAP];

static int setup(void **state)
{
    (void)state;
    fx_key(&rk1, NB_KEY_ROOT);
    fx_key(&rk2, NB_KEY_ROOT);
    fx_key(&rel, NB_KEY_RELEASE);
    fx_key(&dir, NB_KEY_DIRECTOR);
    return 0;
}

static void make_root(struct nb_root *r, uint32_t version)
{
    struct nb_keyfile keys[2] = {rk1, rk2};
    fx_root(r, version, FX_NOW + 365 * FX_DAY, keys, 2, 2, &rel, &dir);
}

/* payload = the written root; returns its length. */
static size_t write_root(const struct nb_root *r)
{
    size_t len = 0;
    assert_int_equal(nb_root_write(r, payload, sizeof payload, &len), NB_OK);
    return len;
}

/* Parses payload with the first `from` replaced by `to`. */
static enum nb_err parse_edited(const char *from, const char *to, struct nb_diag *diag)
{
    const char *p = strstr(payload, from);
    assert_non_null(p);
    int n = snprintf(edited, sizeof edited, "%.*s%s%s", (int)(p - payload), payload, to,
                     p + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof edited);
    struct nb_root out;
    nb_diag_clear(diag);
    return nb_root_parse((const uint8_t *)edited, (size_t)n, &out, diag);
}

static void write_then_parse_round_trips(void **state)
{
    (void)state;
    struct nb_root r, back;
    make_root(&r, 7);
    memcpy(r.endpoints[1], "http://10.0.0.1:8080/ota", 25);
    r.n_endpoints = 2;
    size_t len = write_root(&r);
    assert_true(strncmp(payload, "{\"type\":\"root\",\"spec\":1,\"version\":7,\"expires\":", 46) ==
                0);
    assert_int_equal(nb_root_parse((const uint8_t *)payload, len, &back, NULL), NB_OK);
    assert_int_equal(back.version, 7);
    assert_int_equal(back.expires, r.expires);
    assert_int_equal(back.n_endpoints, 2);
    assert_string_equal(back.endpoints[1], "http://10.0.0.1:8080/ota");
    for (int i = 0; i < NB_ROLE_COUNT; i++) {
        assert_int_equal(back.roles[i].n_keys, r.roles[i].n_keys);
        assert_int_equal(back.roles[i].threshold, r.roles[i].threshold);
        assert_memory_equal(back.roles[i].keys, r.roles[i].keys,
                            r.roles[i].n_keys * sizeof(struct nb_key));
    }
    assert_int_equal(nb_root_write(&r, payload, 10, &len), NB_ENOSPC);
    assert_string_equal(nb_role_name(NB_ROLE_DIRECTOR), "director");
}

static void parse_refuses_bad_fields(void **state)
{
    (void)state;
    struct nb_root r;
    struct nb_diag d;
    make_root(&r, 1);
    write_root(&r);
    assert_int_equal(parse_edited("\"spec\":1", "\"spec\":2", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"type\":\"root\"", "\"type\":\"release\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"version\":1", "\"version\":0", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"version\":1", "\"version\":2147483648", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"version\":1", "\"version\":1.0", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"version\":1", "\"version\":\"1\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"expires\":", "\"expires\":-", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"version\":1", "\"version\":99999999999999999999999", &d),
                     NB_EPARSE);
    assert_int_equal(parse_edited("{\"type\"", "{\"x\":0,\"type\"", &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "unknown field 'x'"));
    assert_int_equal(parse_edited("\"threshold\":2", "\"threshold\":3", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"threshold\":1", "\"threshold\":1,\"paths\":[]", &d),
                     NB_EPARSE);
    assert_int_equal(parse_edited("\"keyid\":", "\"kid\":", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"ed25519\":\"", "\"ed25519\":\"A", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"ed25519\":\"", "\"ed25519\":\"00", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"keyid\":\"", "\"keyid\":\"Z", &d), NB_EPARSE);
    assert_int_equal(parse_edited(",\"director\":", ",\"director2\":", &d), NB_EPARSE);
    assert_int_equal(parse_edited("\"endpoints\":[", "\"endpoints\":[],\"e\":[", &d), NB_EPARSE);
    assert_int_equal(parse_edited("]}", "],\"x\":1}", &d), NB_EPARSE); /* in a role */
    assert_int_equal(parse_edited("\"roles\":{", "\"roles\":{\"root\":{},", &d), NB_EPARSE);
    char rk2_id[80];
    (void)snprintf(rk2_id, sizeof rk2_id, "\"keyid\":\"%s\"", rk2.keyid);
    char rk1_id[80];
    (void)snprintf(rk1_id, sizeof rk1_id, "\"keyid\":\"%s\"", rk1.keyid);
    assert_int_equal(parse_edited(rk2_id, rk1_id, &d), NB_EPARSE); /* duplicate keyid */
    assert_non_null(strstr(d.msg, "duplicate keyid"));
}

static void parse_checks_endpoints(void **state)
{
    (void)state;
    struct nb_root r;
    struct nb_diag d;
    make_root(&r, 1);
    write_root(&r);
    const char *from = "\"https://ota.example.com\"";
    assert_int_equal(parse_edited(from, "\"ftp://ota.example.com\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited(from, "\"https://\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited(from, "\"https://a b\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited(from, "\"https://a\\tb\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited(from, "\"https://\\u00e9.example\"", &d), NB_EPARSE);
    assert_int_equal(parse_edited(from, "1", &d), NB_EPARSE);
    assert_int_equal(parse_edited("[\"https://ota.example.com\"]", "[]", &d), NB_EPARSE);
    assert_int_equal(parse_edited(from, "\"http://x\"", &d), NB_OK);
    char longest[NB_ENDPOINT_MAX + 8];
    memset(longest, 'a', sizeof longest);
    memcpy(longest, "\"https://", 9);
    longest[NB_ENDPOINT_MAX + 1] = '"';
    longest[NB_ENDPOINT_MAX + 2] = '\0';
    assert_int_equal(parse_edited(from, longest, &d), NB_OK);
    longest[NB_ENDPOINT_MAX + 1] = 'a';
    longest[NB_ENDPOINT_MAX + 2] = '"';
    longest[NB_ENDPOINT_MAX + 3] = '\0';
    assert_int_equal(parse_edited(from, longest, &d), NB_ELENGTH);
}

static void parse_enforces_list_caps(void **state)
{
    (void)state;
    struct nb_root r;
    struct nb_diag d;
    make_root(&r, 1);
    write_root(&r);
    char many[1024];
    size_t off = 0;
    for (int i = 0; i <= NB_ROOT_MAX_ENDPOINTS; i++)
        off += (size_t)snprintf(many + off, sizeof many - off, "%c\"https://e\"", i ? ',' : '[');
    (void)snprintf(many + off, sizeof many - off, "]");
    assert_int_equal(parse_edited("[\"https://ota.example.com\"]", many, &d), NB_ELENGTH);
    /* 17 keys in the root role: refused by count, before any key is read */
    struct nb_keyfile keys[NB_ROLE_MAX_KEYS + 1];
    for (size_t i = 0; i < NB_ROLE_MAX_KEYS + 1; i++)
        keys[i] = (i % 2) ? rk1 : rk2;
    fx_role(&r.roles[NB_ROLE_ROOT], keys, NB_ROLE_MAX_KEYS, 1);
    write_root(&r);
    char extra[200];
    (void)snprintf(extra, sizeof extra, "{\"keyid\":\"ab\",\"ed25519\":\"%.64s\"},{\"keyid\":",
                   strstr(payload, "\"ed25519\":\"") + 11);
    struct nb_root out;
    assert_int_equal(parse_edited("{\"keyid\":", extra, &d), NB_ELENGTH);
    /* the whole payload */
    static uint8_t big[NB_ROOT_PAYLOAD_MAX + 1];
    memset(big, ' ', sizeof big);
    assert_int_equal(nb_root_parse(big, sizeof big, &out, NULL), NB_ELENGTH);
}

static void load_trusted_needs_its_own_signatures(void **state)
{
    (void)state;
    struct nb_root r, out;
    struct nb_diag d;
    make_root(&r, 1);
    const struct nb_keyfile *both[] = {&rk1, &rk2};
    size_t len = fx_root_envelope(&r, both, 2, text, sizeof text);
    assert_int_equal(nb_root_load_trusted((const uint8_t *)text, len, fx_scratch(),
                                          NB_ENVELOPE_SCRATCH_LEN, &out, NULL),
                     NB_OK);
    assert_int_equal(out.version, 1);
    len = fx_root_envelope(&r, both, 1, text, sizeof text);
    nb_diag_clear(&d);
    assert_int_equal(nb_root_load_trusted((const uint8_t *)text, len, fx_scratch(),
                                          NB_ENVELOPE_SCRATCH_LEN, &out, &d),
                     NB_ETHRESHOLD);
    assert_string_equal(d.msg, "signed by 1 of 2 required v1 root keys (its own)");
    const struct nb_keyfile *other[] = {&rel};
    len = fx_root_envelope(&r, other, 1, text, sizeof text);
    assert_int_equal(nb_root_load_trusted((const uint8_t *)text, len, fx_scratch(),
                                          NB_ENVELOPE_SCRATCH_LEN, &out, NULL),
                     NB_ESIG);
    len = fx_envelope(NB_PAYLOAD_RELEASE, "{}", 2, both, 2, text, sizeof text);
    assert_int_equal(nb_root_load_trusted((const uint8_t *)text, len, fx_scratch(),
                                          NB_ENVELOPE_SCRATCH_LEN, &out, NULL),
                     NB_EPARSE);
}

static void step_accepts_next_version_only(void **state)
{
    (void)state;
    struct nb_root v1, v2, out;
    struct nb_diag d;
    make_root(&v1, 1);
    make_root(&v2, 2);
    const struct nb_keyfile *both[] = {&rk1, &rk2};
    size_t len = fx_root_envelope(&v2, both, 2, text, sizeof text);
    assert_int_equal(nb_root_step(&v1, (const uint8_t *)text, len, fx_scratch(),
                                  NB_ENVELOPE_SCRATCH_LEN, &out, NULL),
                     NB_OK);
    assert_int_equal(out.version, 2);
    out.version = 99;
    nb_diag_clear(&d);
    assert_int_equal(nb_root_step(&v2, (const uint8_t *)text, len, fx_scratch(),
                                  NB_ENVELOPE_SCRATCH_LEN, &out, &d),
                     NB_EROLLBACK);
    assert_int_equal(out.version, 99); /* untouched on failure */
    assert_string_equal(d.msg, "version 2 offered after v2, expected v3");
}

static void walk_stops_at_first_failure(void **state)
{
    (void)state;
    static char texts[3][FX_ENVELOPE_CAP];
    const uint8_t *ptrs[3];
    size_t lens[3];
    const struct nb_keyfile *both[] = {&rk1, &rk2};
    struct nb_root v1, r, out;
    make_root(&v1, 1);
    for (uint32_t i = 0; i < 3; i++) {
        make_root(&r, i == 2 ? 5 : i + 2); /* v2, v3, then a skipped v5 */
        lens[i] = fx_root_envelope(&r, both, 2, texts[i], sizeof texts[i]);
        ptrs[i] = (const uint8_t *)texts[i];
    }
    size_t steps = 0;
    assert_int_equal(
        nb_root_walk(&v1, ptrs, lens, 3, fx_scratch(), NB_ENVELOPE_SCRATCH_LEN, &out, &steps, NULL),
        NB_EROLLBACK);
    assert_int_equal(steps, 2);
    assert_int_equal(out.version, 3);
    assert_int_equal(
        nb_root_walk(&v1, ptrs, lens, 2, fx_scratch(), NB_ENVELOPE_SCRATCH_LEN, &v1, &steps, NULL),
        NB_OK); /* out aliasing trusted */
    assert_int_equal(v1.version, 3);
}

/* The release keys a next root drops, by public key: none when it keeps
 * them (in any order, with more beside), each one it leaves out. */
static void dropped_release_keys_by_public_key(void **state)
{
    (void)state;
    struct nb_root old, next;
    size_t idx[NB_ROLE_MAX_KEYS];
    make_root(&old, 1);
    make_root(&next, 2);
    assert_int_equal(nb_root_dropped_release_keys(&old, &next, idx), 0);

    /* three keys to play release keys with: rel and the two root keys */
    const struct nb_key k_rel = old.roles[NB_ROLE_RELEASE].keys[0],
                        k1 = old.roles[NB_ROLE_ROOT].keys[0], k2 = old.roles[NB_ROLE_ROOT].keys[1];
    struct nb_role *o = &old.roles[NB_ROLE_RELEASE], *n = &next.roles[NB_ROLE_RELEASE];
    o->keys[1] = k2; /* old: rel, k2 */
    o->n_keys = 2;
    n->keys[0] = k1; /* next: k1, rel: drops k2 */
    n->keys[1] = k_rel;
    n->n_keys = 2;
    assert_int_equal(nb_root_dropped_release_keys(&old, &next, idx), 1);
    assert_int_equal(idx[0], 1);
    n->keys[0] = k2; /* next: k2, rel: both kept, the order changed */
    assert_int_equal(nb_root_dropped_release_keys(&old, &next, idx), 0);
    n->keys[0] = k1; /* next: k1 alone: drops both */
    n->n_keys = 1;
    assert_int_equal(nb_root_dropped_release_keys(&old, &next, idx), 2);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
}

static void expiry_and_dates(void **state)
{
    (void)state;
    struct nb_root r;
    struct nb_diag d;
    make_root(&r, 4);
    r.expires = 1700006400; /* 2023-11-15T00:00:00Z */
    assert_int_equal(nb_root_check_expiry(&r, r.expires - 1, NULL), NB_OK);
    nb_diag_clear(&d);
    assert_int_equal(nb_root_check_expiry(&r, r.expires, &d), NB_EEXPIRED);
    assert_string_equal(d.msg, "root v4 expired on 2023-11-15");
    char date[NB_ROOT_DATE_LEN];
    nb_root_date(0, date);
    assert_string_equal(date, "1970-01-01");
    nb_root_date(951782400, date); /* leap day */
    assert_string_equal(date, "2000-02-29");
    nb_root_date(-1, date);
    assert_string_equal(date, "1969-12-31");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_then_parse_round_trips),
        cmocka_unit_test(parse_refuses_bad_fields),
        cmocka_unit_test(parse_checks_endpoints),
        cmocka_unit_test(parse_enforces_list_caps),
        cmocka_unit_test(load_trusted_needs_its_own_signatures),
        cmocka_unit_test(step_accepts_next_version_only),
        cmocka_unit_test(walk_stops_at_first_failure),
        cmocka_unit_test(expiry_and_dates),
        cmocka_unit_test(dropped_release_keys_by_public_key),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
