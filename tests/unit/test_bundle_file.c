/* Unit tests of bundle files on a host (lib/host/bundle_create.c,
 * bundle_file.c): create then verify round trips over the edge sizes and
 * every mode, encrypted bundles with and without the device key, inspect,
 * the root chain, several signers, and what create refuses. Attacks on a
 * bundle's bytes are in test_attacks_bundle.c and test_bitflip.c. */
#include "bundle_fixture.h"

#include <nobrick/alloc.h>
#include <nobrick/fileio.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define MIB (1024u * 1024u)

static struct bx_world w;
static uint8_t *image;
static char text[FX_ENVELOPE_CAP];

static int setup(void **state)
{
    (void)state;
    bx_world_init(&w);
    image = nb_malloc(2 * MIB);
    bx_image(image, 2 * MIB, 1, true);
    return image == NULL;
}

static int teardown(void **state)
{
    (void)state;
    nb_free(image);
    return 0;
}

static void round_trip(size_t len, uint32_t frame_size, enum nb_compression c, bool encrypt)
{
    struct bx_spec spec = {frame_size, c, encrypt, NULL};
    struct bx_bundle b;
    struct nb_diag d = {{0}};
    bx_create(&w, image, len, &spec, &b);
    struct nb_bundle_reader r;
    struct nb_bundle_verified v;
    nb_bundle_reader_from_mem(&r, b.data, b.len);
    enum nb_err err = nb_bundle_file_verify(&w.root, &r, encrypt ? w.device.x_priv : NULL,
                                            encrypt ? w.device.x_pub : NULL, &v, &d);
    if (err != NB_OK)
        fail_msg("%zu bytes, frames of %u: %s (%s)", len, frame_size, d.msg, nb_errname(err));
    uint32_t fs = frame_size != 0 ? frame_size : NB_FRAME_SIZE_DEFAULT;
    assert_int_equal(v.rel.image_size, len);
    assert_int_equal(v.rel.frame_size, fs);
    assert_int_equal(v.rel.frame_count, (len + fs - 1) / fs);
    assert_int_equal(v.file_len, b.len);
    assert_true(v.decrypted);
    assert_string_equal(v.rel.version, "1.2.3");
    assert_int_equal(v.rel.encrypted, encrypt);
    uint8_t digest[32];
    assert_int_equal(nb_sha256(image, len, digest), NB_OK);
    assert_memory_equal(v.rel.image_sha256, digest, 32);
    bx_free(&b);
}

static void small_frames_at_the_edges(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 4095, 4096, 4097, 3 * 4096 - 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        round_trip(sizes[i], 4096, NB_COMPRESSION_ZSTD, false);
        round_trip(sizes[i], 4096, NB_COMPRESSION_NONE, false);
        round_trip(sizes[i], 4096, NB_COMPRESSION_ZSTD, true);
        round_trip(sizes[i], 4096, NB_COMPRESSION_NONE, true);
    }
}

static void default_frames_at_the_edges(void **state)
{
    (void)state;
    round_trip(1, 0, NB_COMPRESSION_ZSTD, false);
    round_trip(MIB, 0, NB_COMPRESSION_ZSTD, false);
    round_trip(MIB + 1, 0, NB_COMPRESSION_ZSTD, false);
    round_trip(MIB + 1, 0, NB_COMPRESSION_ZSTD, true);
    round_trip(2 * MIB, 8 * MIB, NB_COMPRESSION_NONE, false);
}

static void incompressible_image(void **state)
{
    (void)state;
    uint8_t *noise = nb_malloc(5 * 4096 + 7);
    assert_non_null(noise);
    bx_image(noise, 5 * 4096 + 7, 9, false);
    struct bx_spec spec = {4096, NB_COMPRESSION_ZSTD, true, NULL};
    struct bx_bundle b;
    uint8_t *saved = image;
    image = noise;
    bx_create(&w, noise, 5 * 4096 + 7, &spec, &b);
    assert_int_equal(bx_verify(&w, b.data, b.len, true, NULL), NB_OK);
    image = saved;
    bx_free(&b);
    nb_free(noise);
}

static void encrypted_without_the_device_key(void **state)
{
    (void)state;
    struct bx_spec spec = {4096, NB_COMPRESSION_ZSTD, true, NULL};
    struct bx_bundle b;
    bx_create(&w, image, 10000, &spec, &b);
    struct nb_bundle_reader r;
    struct nb_bundle_verified v;
    nb_bundle_reader_from_mem(&r, b.data, b.len);
    assert_int_equal(nb_bundle_file_verify(&w.root, &r, NULL, NULL, &v, NULL), NB_OK);
    assert_false(v.decrypted);
    /* Stored bytes are still checked without the key. */
    struct nb_bundle_header h;
    bx_header(&b, &h);
    b.data[h.frames_off + 5] ^= 1;
    struct nb_diag d = {{0}};
    assert_int_equal(bx_verify(&w, b.data, b.len, false, &d), NB_EHASH);
    assert_string_equal(d.msg, "hash mismatch in frame 0 (stored bytes)");
    b.data[h.frames_off + 5] ^= 1;
    /* Another device cannot decrypt (SECURITY.md 36). */
    nb_bundle_reader_from_mem(&r, b.data, b.len);
    nb_diag_clear(&d);
    assert_int_equal(
        nb_bundle_file_verify(&w.root, &r, w.other_device.x_priv, w.other_device.x_pub, &v, &d),
        NB_EDECRYPT);
    assert_non_null(strstr(d.msg, "not a recipient"));
    bx_free(&b);
}

static void verify_from_a_file(void **state)
{
    (void)state;
    char dir[256], path[300];
    struct bx_spec spec = {4096, NB_COMPRESSION_ZSTD, false, NULL};
    struct bx_bundle b;
    struct nb_diag d = {{0}};
    bx_create(&w, image, 3 * 4096 + 5, &spec, &b);
    bx_tmpdir(dir, sizeof dir);
    (void)snprintf(path, sizeof path, "%s/b.nbb", dir);
    assert_int_equal(nb_file_write_atomic(path, b.data, b.len, 0644, false, &d), NB_OK);
    struct nb_bundle_reader r;
    assert_int_equal(nb_bundle_reader_open_file(&r, path, &d), NB_OK);
    assert_int_equal(r.len, b.len);
    assert_int_equal(nb_bundle_file_verify(&w.root, &r, NULL, NULL, NULL, &d), NB_OK);
    nb_bundle_reader_close(&r);
    nb_bundle_reader_close(&r); /* twice is safe */
    (void)snprintf(path, sizeof path, "%s/missing.nbb", dir);
    assert_int_equal(nb_bundle_reader_open_file(&r, path, &d), NB_ENOENT);
    assert_int_equal(nb_bundle_reader_open_file(&r, dir, &d), NB_EIO);
    bx_tmpdir_remove(dir);
    bx_free(&b);
}

static void inspect_reports_the_release(void **state)
{
    (void)state;
    struct bx_spec spec = {4096, NB_COMPRESSION_ZSTD, true, NULL};
    struct bx_bundle b;
    bx_create(&w, image, 3 * 4096 - 10, &spec, &b);
    struct nb_bundle_reader r;
    struct nb_bundle_info in;
    nb_bundle_reader_from_mem(&r, b.data, b.len);
    assert_int_equal(nb_bundle_file_inspect(&r, &in, NULL), NB_OK);
    assert_int_equal(in.hdr.total_len, b.len);
    assert_int_equal(in.rel.frame_count, 3);
    assert_int_equal(in.rel.security_counter, 4);
    assert_string_equal(in.rel.hw_classes[0], "thermo-v3");
    assert_true(in.rel.encrypted);
    assert_int_equal(in.rel.n_recipients, 1);
    assert_int_equal(in.n_sigs, 1);
    assert_string_equal(in.sig_keyids[0], w.release.keyid);
    assert_true(in.stored_min > NB_GCM_TAG_LEN && in.stored_min <= in.stored_max);
    /* Inspect needs no root, but still refuses a table that is not the
     * release's. */
    struct nb_bundle_header h;
    bx_header(&b, &h);
    b.data[h.table_off + 20] ^= 1;
    assert_int_equal(nb_bundle_file_inspect(&r, &in, NULL), NB_EHASH);
    bx_free(&b);
}

/* Root v1 trusts release key A; v2 (signed by v1's and its own root key)
 * moves the release role to key B. */
static void root_chain_from_files(void **state)
{
    (void)state;
    char dir[256], p1[300], p2[300], bad[300];
    struct nb_keyfile root2, rel2;
    struct nb_root r1 = w.root, r2, got;
    struct nb_diag d = {{0}};
    fx_key(&root2, NB_KEY_ROOT);
    fx_key(&rel2, NB_KEY_RELEASE);
    fx_root(&r2, 2, FX_NOW + 365 * FX_DAY, &root2, 1, 1, &rel2, &w.director);
    bx_tmpdir(dir, sizeof dir);
    (void)snprintf(p1, sizeof p1, "%s/root1.json", dir);
    (void)snprintf(p2, sizeof p2, "%s/root2.json", dir);
    (void)snprintf(bad, sizeof bad, "%s/nope.json", dir);
    const struct nb_keyfile *s1[] = {&w.root_key}, *s2[] = {&w.root_key, &root2};
    size_t n = fx_root_envelope(&r1, s1, 1, text, sizeof text);
    assert_int_equal(nb_file_write_atomic(p1, text, n, 0644, false, &d), NB_OK);
    n = fx_root_envelope(&r2, s2, 2, text, sizeof text);
    assert_int_equal(nb_file_write_atomic(p2, text, n, 0644, false, &d), NB_OK);
    const char *chain[] = {p1, p2};
    assert_int_equal(nb_bundle_file_load_roots(chain, 2, FX_NOW, &got, &d), NB_OK);
    assert_int_equal(got.version, 2);
    assert_memory_equal(got.roles[NB_ROLE_RELEASE].keys[0].pub, rel2.ed_pub, 32);
    /* A bundle signed by the old release key fails under v2. */
    struct bx_spec spec = {4096, NB_COMPRESSION_ZSTD, false, NULL};
    struct bx_bundle b;
    bx_create(&w, image, 100, &spec, &b);
    struct nb_bundle_reader r;
    nb_bundle_reader_from_mem(&r, b.data, b.len);
    assert_int_equal(nb_bundle_file_verify(&got, &r, NULL, NULL, NULL, NULL), NB_ESIG);
    bx_free(&b);
    /* Expiry of the last root; a missing file is named; v2 alone first is
     * taken on trust only if it signs itself (it does). */
    nb_diag_clear(&d);
    assert_int_equal(nb_bundle_file_load_roots(chain, 2, FX_NOW + 400 * FX_DAY, &got, &d),
                     NB_EEXPIRED);
    assert_non_null(strstr(d.msg, "root2.json"));
    const char *missing[] = {p1, bad};
    nb_diag_clear(&d);
    assert_int_equal(nb_bundle_file_load_roots(missing, 2, FX_NOW, &got, &d), NB_ENOENT);
    assert_non_null(strstr(d.msg, "nope.json"));
    const char *backwards[] = {p2, p1};
    assert_int_not_equal(nb_bundle_file_load_roots(backwards, 2, FX_NOW, &got, NULL), NB_OK);
    assert_int_equal(nb_bundle_file_load_roots(chain, 0, FX_NOW, &got, NULL), NB_EINVAL);
    bx_tmpdir_remove(dir);
}

static void several_signers_and_thresholds(void **state)
{
    (void)state;
    char dir[256], img[300], out[300];
    struct nb_keyfile rel2;
    struct nb_signer s[2];
    struct nb_diag d = {{0}};
    fx_key(&rel2, NB_KEY_RELEASE);
    struct nb_keyfile both[2] = {w.release, rel2};
    struct nb_root root = w.root;
    fx_role(&root.roles[NB_ROLE_RELEASE], both, 2, 2);
    bx_signer(&s[0], &w.release);
    bx_signer(&s[1], &rel2);
    bx_tmpdir(dir, sizeof dir);
    (void)snprintf(img, sizeof img, "%s/image", dir);
    (void)snprintf(out, sizeof out, "%s/out.nbb", dir);
    assert_int_equal(nb_file_write_atomic(img, image, 5000, 0600, false, &d), NB_OK);
    const char *hw[] = {"thermo-v3", "thermo-v4"};
    struct nb_bundle_create_opts o = {.image_path = img,
                                      .out_path = out,
                                      .version = "2.0.0",
                                      .hw_classes = hw,
                                      .n_hw_classes = 2,
                                      .frame_size = 4096,
                                      .compression = NB_COMPRESSION_ZSTD,
                                      .signers = s,
                                      .n_signers = 2};
    struct nb_bundle_summary sum;
    assert_int_equal(nb_bundle_file_create(&o, &sum, &d), NB_OK);
    assert_int_equal(sum.rel.frame_count, 2);
    struct nb_bundle_reader r;
    assert_int_equal(nb_bundle_reader_open_file(&r, out, &d), NB_OK);
    assert_int_equal(sum.file_len, r.len);
    assert_int_equal(nb_bundle_file_verify(&root, &r, NULL, NULL, NULL, &d), NB_OK);
    nb_bundle_reader_close(&r);
    o.n_signers = 1;
    assert_int_equal(nb_bundle_file_create(&o, NULL, &d), NB_OK);
    assert_int_equal(nb_bundle_reader_open_file(&r, out, &d), NB_OK);
    assert_int_equal(nb_bundle_file_verify(&root, &r, NULL, NULL, NULL, NULL), NB_ETHRESHOLD);
    nb_bundle_reader_close(&r);
    bx_tmpdir_remove(dir);
}

static size_t files_in(const char *dir)
{
    size_t n = 0;
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    for (struct dirent *e = readdir(dp); e != NULL; e = readdir(dp))
        n += e->d_name[0] != '.';
    closedir(dp);
    return n;
}

static enum nb_err create_with(struct nb_bundle_create_opts *o, struct nb_diag *d)
{
    nb_diag_clear(d);
    return nb_bundle_file_create(o, NULL, d);
}

static void create_refuses_bad_options(void **state)
{
    (void)state;
    char dir[256], img[300], empty[300], out[300];
    struct nb_signer s;
    struct nb_diag d = {{0}};
    bx_signer(&s, &w.release);
    bx_tmpdir(dir, sizeof dir);
    (void)snprintf(img, sizeof img, "%s/image", dir);
    (void)snprintf(empty, sizeof empty, "%s/empty", dir);
    (void)snprintf(out, sizeof out, "%s/out.nbb", dir);
    assert_int_equal(nb_file_write_atomic(img, image, 5000, 0600, false, &d), NB_OK);
    assert_int_equal(nb_file_write_atomic(empty, image, 0, 0600, false, &d), NB_OK);
    const char *hw[] = {"thermo-v3"}, *bad_hw[] = {"thermo v3"};
    struct nb_bundle_create_opts good = {.image_path = img,
                                         .out_path = out,
                                         .version = "1.0.0",
                                         .hw_classes = hw,
                                         .n_hw_classes = 1,
                                         .signers = &s,
                                         .n_signers = 1};
    struct nb_bundle_create_opts o = good;
    o.version = "1.0";
    assert_int_equal(create_with(&o, &d), NB_EINVAL);
    assert_non_null(strstr(d.msg, "version"));
    o = good;
    o.version = "1.0.0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    assert_int_equal(create_with(&o, &d), NB_EINVAL);
    o = good;
    o.hw_classes = bad_hw;
    assert_int_equal(create_with(&o, &d), NB_EINVAL);
    assert_non_null(strstr(d.msg, "hardware class"));
    o = good;
    o.n_hw_classes = 0;
    assert_int_equal(create_with(&o, &d), NB_EINVAL);
    o = good;
    o.frame_size = 5000;
    assert_int_equal(create_with(&o, &d), NB_EINVAL);
    o = good;
    o.n_signers = 0;
    assert_int_equal(create_with(&o, &d), NB_EINVAL);
    o = good;
    o.security_counter = NB_SECURITY_COUNTER_MAX + 1;
    assert_int_equal(create_with(&o, &d), NB_EINVAL);
    o = good;
    o.image_path = empty;
    assert_int_equal(create_with(&o, &d), NB_ELENGTH);
    o = good;
    o.image_path = out; /* does not exist */
    assert_int_equal(create_with(&o, &d), NB_ENOENT);
    o = good;
    o.image_path = dir;
    assert_int_equal(create_with(&o, &d), NB_EINVAL);
    uint8_t small_order[1][32] = {{0}};
    o = good;
    o.recipients = (const uint8_t(*)[32])small_order;
    o.n_recipients = 1;
    assert_int_equal(create_with(&o, &d), NB_EINVAL);
    /* Nothing was left behind: only the two inputs. */
    assert_int_equal(files_in(dir), 2);
    o = good;
    assert_int_equal(create_with(&o, &d), NB_OK);
    assert_int_equal(files_in(dir), 3);
    bx_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_frames_at_the_edges),
        cmocka_unit_test(default_frames_at_the_edges),
        cmocka_unit_test(incompressible_image),
        cmocka_unit_test(encrypted_without_the_device_key),
        cmocka_unit_test(verify_from_a_file),
        cmocka_unit_test(inspect_reports_the_release),
        cmocka_unit_test(root_chain_from_files),
        cmocka_unit_test(several_signers_and_thresholds),
        cmocka_unit_test(create_refuses_bad_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
