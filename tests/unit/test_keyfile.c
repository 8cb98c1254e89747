/* Unit tests of operator key files and the key-file signer
 * (lib/host/keyfile.c, lib/host/signer.c): round trips for every role, no
 * overwrite, permission and consistency checks, strict JSON. */
#include "trust_fixture.h"

#include <nobrick/alloc.h>
#include <nobrick/fileio.h>
#include <nobrick/keyfile.h>
#include <nobrick/signer.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];

static int setup(void **state)
{
    (void)state;
    (void)snprintf(dir, sizeof dir, "/tmp/nb-keyfile-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t cap, const char *name)
{
    (void)snprintf(out, cap, "%s/%s", dir, name);
}

static void write_text(const char *name, const char *text, mode_t mode)
{
    char p[256];
    path_of(p, sizeof p, name);
    assert_int_equal(nb_file_write_atomic(p, text, strlen(text), mode, false, NULL), NB_OK);
    assert_int_equal(chmod(p, mode), 0);
}

static void read_text(const char *name, char *out, size_t cap)
{
    char p[256];
    uint8_t *buf = NULL;
    size_t len = 0;
    path_of(p, sizeof p, name);
    assert_int_equal(nb_file_read(p, 4096, &buf, &len, NULL), NB_OK);
    assert_true(len < cap);
    memcpy(out, buf, len + 1);
    nb_free(buf);
}

static void roles_parse_and_name(void **state)
{
    (void)state;
    enum nb_key_role r;
    assert_int_equal(nb_key_role_parse("director", &r), NB_OK);
    assert_int_equal(r, NB_KEY_DIRECTOR);
    assert_string_equal(nb_key_role_name(NB_KEY_DEVICE), "device");
    assert_int_equal(nb_key_role_parse("admin", &r), NB_EINVAL);
    assert_int_equal(nb_key_role_parse("", &r), NB_EINVAL);
}

static void save_load_round_trips_every_role(void **state)
{
    (void)state;
    const char *names[] = {"root", "release", "director", "device"};
    for (int i = 0; i < 4; i++) {
        struct nb_keyfile k, sec, pub;
        fx_key(&k, (enum nb_key_role)i);
        char base[256], p[300];
        path_of(base, sizeof base, names[i]);
        assert_int_equal(nb_keyfile_save(&k, base, NULL), NB_OK);
        (void)snprintf(p, sizeof p, "%s.key", base);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(nb_keyfile_load(p, &sec, NULL), NB_OK);
        assert_true(sec.secret);
        assert_int_equal(sec.role, i);
        assert_string_equal(sec.keyid, k.keyid);
        assert_memory_equal(sec.ed_seed, k.ed_seed, sizeof k.ed_seed);
        assert_memory_equal(sec.ed_pub, k.ed_pub, sizeof k.ed_pub);
        (void)snprintf(p, sizeof p, "%s.pub", base);
        assert_int_equal(nb_keyfile_load(p, &pub, NULL), NB_OK);
        assert_false(pub.secret);
        assert_memory_equal(pub.ed_pub, k.ed_pub, sizeof k.ed_pub);
        assert_int_equal(pub.has_x25519, i == NB_KEY_DEVICE);
        if (i == NB_KEY_DEVICE) {
            assert_memory_equal(sec.x_priv, k.x_priv, sizeof k.x_priv);
            assert_memory_equal(pub.x_pub, k.x_pub, sizeof k.x_pub);
            assert_memory_not_equal(k.x_pub, k.ed_pub, sizeof k.x_pub);
        }
        nb_keyfile_wipe(&sec);
        assert_false(sec.secret);
    }
}

static void save_never_overwrites(void **state)
{
    (void)state;
    struct nb_keyfile k;
    char base[256];
    fx_key(&k, NB_KEY_RELEASE);
    path_of(base, sizeof base, "twice");
    assert_int_equal(nb_keyfile_save(&k, base, NULL), NB_OK);
    fx_key(&k, NB_KEY_RELEASE);
    struct nb_diag d;
    nb_diag_clear(&d);
    assert_int_equal(nb_keyfile_save(&k, base, &d), NB_EEXIST);
    assert_non_null(strstr(d.msg, "already exists"));
    write_text("only-pub.pub", "{}", 0644);
    path_of(base, sizeof base, "only-pub");
    assert_int_equal(nb_keyfile_save(&k, base, NULL), NB_EEXIST);
    char p[300];
    (void)snprintf(p, sizeof p, "%s.key", base);
    assert_int_equal(access(p, F_OK), -1); /* no half pair left behind */
}

static void load_refuses_readable_secret(void **state)
{
    (void)state;
    struct nb_keyfile k, out;
    char base[256], p[300];
    fx_key(&k, NB_KEY_ROOT);
    path_of(base, sizeof base, "lax");
    assert_int_equal(nb_keyfile_save(&k, base, NULL), NB_OK);
    (void)snprintf(p, sizeof p, "%s.key", base);
    assert_int_equal(chmod(p, 0640), 0);
    struct nb_diag d;
    nb_diag_clear(&d);
    assert_int_equal(nb_keyfile_load(p, &out, &d), NB_EINVAL);
    assert_non_null(strstr(d.msg, "chmod 600"));
}

static void load_refuses_edited_files(void **state)
{
    (void)state;
    struct nb_keyfile k, out;
    char base[256], text[1024], bad[1100], p[300];
    fx_key(&k, NB_KEY_RELEASE);
    path_of(base, sizeof base, "edit");
    assert_int_equal(nb_keyfile_save(&k, base, NULL), NB_OK);
    read_text("edit.pub", text, sizeof text);
    path_of(p, sizeof p, "bad.pub");
    /* another key's keyid */
    struct nb_keyfile other;
    fx_key(&other, NB_KEY_RELEASE);
    char *kid = strstr(text, k.keyid);
    assert_non_null(kid);
    memcpy(kid, other.keyid, 64);
    write_text("bad.pub", text, 0644);
    assert_int_equal(nb_keyfile_load(p, &out, NULL), NB_EPARSE);
    memcpy(kid, k.keyid, 64);
    /* unknown field, duplicate field, trailing bytes, wrong type, role */
    (void)snprintf(bad, sizeof bad, "{\"x\":1,%s", text + 1);
    write_text("bad.pub", bad, 0644);
    assert_int_equal(nb_keyfile_load(p, &out, NULL), NB_EPARSE);
    (void)snprintf(bad, sizeof bad, "{\"role\":\"release\",%s", text + 1);
    write_text("bad.pub", bad, 0644);
    assert_int_equal(nb_keyfile_load(p, &out, NULL), NB_EPARSE);
    (void)snprintf(bad, sizeof bad, "%s{}", text);
    write_text("bad.pub", bad, 0644);
    assert_int_equal(nb_keyfile_load(p, &out, NULL), NB_EPARSE);
    write_text("bad.pub", "{\"type\":\"ssh-key\"}", 0644);
    assert_int_equal(nb_keyfile_load(p, &out, NULL), NB_EPARSE);
    char *role = strstr(text, "\"release\"");
    memcpy(role, "\"device\" ", 9); /* a device key needs x25519 */
    write_text("bad.pub", text, 0644);
    assert_int_equal(nb_keyfile_load(p, &out, NULL), NB_EPARSE);
    path_of(p, sizeof p, "missing.pub");
    assert_int_equal(nb_keyfile_load(p, &out, NULL), NB_ENOENT);
}

static void signer_signs_with_key_file(void **state)
{
    (void)state;
    struct nb_keyfile k;
    char base[256], p[300];
    fx_key(&k, NB_KEY_RELEASE);
    path_of(base, sizeof base, "signer");
    assert_int_equal(nb_keyfile_save(&k, base, NULL), NB_OK);
    (void)snprintf(p, sizeof p, "%s.key", base);
    struct nb_signer s;
    assert_int_equal(nb_signer_open(p, &s, NULL), NB_OK);
    assert_string_equal(s.keyid, k.keyid);
    assert_string_equal(s.label, p);
    struct nb_signature sig;
    const uint8_t msg[] = "DSSEv1 1 t 1 x";
    assert_int_equal(nb_signer_sign_envelope(&s, msg, sizeof msg - 1, &sig, NULL), NB_OK);
    assert_string_equal(sig.keyid, k.keyid);
    assert_int_equal(nb_ed25519_verify(k.ed_pub, msg, sizeof msg - 1, sig.sig), NB_OK);
    nb_signer_close(&s);
    assert_null(s.ops);
    nb_signer_close(&s); /* twice is safe */
    (void)snprintf(p, sizeof p, "%s.pub", base);
    assert_int_equal(nb_signer_open(p, &s, NULL), NB_EINVAL);
    /* No token here: whatever the build, opening it fails with a reason. */
    struct nb_diag d;
    nb_diag_clear(&d);
    assert_int_not_equal(nb_signer_open("pkcs11:token=none;object=none", &s, &d), NB_OK);
    assert_true(d.msg[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roles_parse_and_name),
        cmocka_unit_test(save_load_round_trips_every_role),
        cmocka_unit_test(save_never_overwrites),
        cmocka_unit_test(load_refuses_readable_secret),
        cmocka_unit_test(load_refuses_edited_files),
        cmocka_unit_test(signer_signs_with_key_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
