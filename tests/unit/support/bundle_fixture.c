/* Test helpers for bundles (see bundle_fixture.h): keys and a root, bundles
 * made by the real writer, and the edits attack tests need. */
#include "bundle_fixture.h"

#include <nobrick/alloc.h>
#include <nobrick/fileio.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN];
static char envelope[FX_ENVELOPE_CAP];

void bx_world_init(struct bx_world *w)
{
    memset(w, 0, sizeof *w);
    fx_key(&w->root_key, NB_KEY_ROOT);
    fx_key(&w->release, NB_KEY_RELEASE);
    fx_key(&w->director, NB_KEY_DIRECTOR);
    fx_key(&w->device, NB_KEY_DEVICE);
    fx_key(&w->other_device, NB_KEY_DEVICE);
    fx_root(&w->root, 1, FX_NOW + 365 * FX_DAY, &w->root_key, 1, 1, &w->release, &w->director);
}

static enum nb_err mem_sign(struct nb_signer *s, const uint8_t *msg, size_t len,
                            uint8_t sig[NB_ED25519_SIG_LEN], struct nb_diag *diag)
{
    (void)diag;
    const struct nb_keyfile *k = s->ctx;
    return nb_ed25519_sign(k->ed_seed, msg, len, sig);
}

static void mem_close(struct nb_signer *s)
{
    s->ctx = NULL;
}

static const struct nb_signer_ops mem_ops = {mem_sign, mem_close};

void bx_signer(struct nb_signer *s, const struct nb_keyfile *k)
{
    memset(s, 0, sizeof *s);
    s->ops = &mem_ops;
    s->ctx = (void *)k;
    memcpy(s->pub, k->ed_pub, sizeof s->pub);
    memcpy(s->keyid, k->keyid, sizeof s->keyid);
    (void)snprintf(s->label, sizeof s->label, "test key %.16s", k->keyid);
}

void bx_image(uint8_t *buf, size_t len, unsigned seed, bool compressible)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        /* Compressible: runs of 16 bytes of a few symbols, like firmware
         * padding and tables; otherwise every byte is noise. */
        if (!compressible || i % 16 == 0)
            x = x * 1103515245u + 12345u;
        buf[i] = compressible ? (uint8_t) "nobrick!"[(x >> 16) & 7] : (uint8_t)(x >> 16);
    }
}

void bx_tmpdir(char *out, size_t cap)
{
    const char *base = getenv("TMPDIR");
    int n = snprintf(out, cap, "%s/nb-bundle-XXXXXX", base != NULL ? base : "/tmp");
    assert_true(n > 0 && (size_t)n < cap);
    assert_non_null(mkdtemp(out));
}

void bx_tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        (void)snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        assert_int_equal(unlink(path), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

void bx_create(const struct bx_world *w, const uint8_t *image, size_t len,
               const struct bx_spec *spec, struct bx_bundle *out)
{
    char dir[256], img[300], nbb[300];
    struct nb_diag diag = {{0}};
    bx_tmpdir(dir, sizeof dir);
    (void)snprintf(img, sizeof img, "%s/image.bin", dir);
    (void)snprintf(nbb, sizeof nbb, "%s/out.nbb", dir);
    assert_int_equal(nb_file_write_atomic(img, image, len, 0600, false, &diag), NB_OK);
    struct nb_signer signer;
    bx_signer(&signer, &w->release);
    const char *hw[] = {"thermo-v3"};
    struct nb_bundle_create_opts o = {
        .image_path = img,
        .out_path = nbb,
        .version = "1.2.3",
        .security_counter = 4,
        .hw_classes = hw,
        .n_hw_classes = 1,
        .created = FX_NOW,
        .frame_size = spec->frame_size,
        .compression = spec->compression,
        .component = spec->component,
        .level = 3,
        .signers = &signer,
        .n_signers = 1,
        .recipients = spec->encrypt ? &w->device.x_pub : NULL,
        .n_recipients = spec->encrypt ? 1 : 0,
    };
    enum nb_err err = nb_bundle_file_create(&o, NULL, &diag);
    if (err != NB_OK)
        fail_msg("create: %s (%s)", diag.msg, nb_errname(err));
    assert_int_equal(nb_file_read(nbb, 64u << 20, &out->data, &out->len, &diag), NB_OK);
    bx_tmpdir_remove(dir);
}

void bx_free(struct bx_bundle *b)
{
    nb_free(b->data);
    b->data = NULL;
    b->len = 0;
}

void bx_copy(const struct bx_bundle *b, struct bx_bundle *out)
{
    out->data = nb_malloc(b->len);
    assert_non_null(out->data);
    memcpy(out->data, b->data, b->len);
    out->len = b->len;
}

enum nb_err bx_verify(const struct bx_world *w, const uint8_t *data, size_t len, bool with_key,
                      struct nb_diag *diag)
{
    struct nb_bundle_reader r;
    nb_bundle_reader_from_mem(&r, data, len);
    nb_diag_clear(diag);
    enum nb_err err = nb_bundle_file_verify(&w->root, &r, with_key ? w->device.x_priv : NULL,
                                            with_key ? w->device.x_pub : NULL, NULL, diag);
    nb_bundle_reader_close(&r);
    return err;
}

void bx_header(const struct bx_bundle *b, struct nb_bundle_header *h)
{
    assert_true(b->len >= NB_BUNDLE_HEADER_LEN);
    assert_int_equal(nb_bundle_header_parse(b->data, b->len, h, NULL), NB_OK);
}

void bx_entry(const struct bx_bundle *b, uint32_t i, struct nb_frame_entry *e)
{
    struct nb_bundle_header h;
    bx_header(b, &h);
    assert_true(nb_frame_table_len(i + 1) <= h.table_len);
    nb_frame_entry_get(b->data + h.table_off, i, e);
}

size_t bx_payload(const struct bx_world *w, const struct bx_bundle *b, char *out, size_t cap)
{
    struct nb_bundle_header h;
    struct nb_release rel;
    const uint8_t *payload;
    size_t len;
    bx_header(b, &h);
    assert_int_equal(nb_release_verify(&w->root, b->data + h.envelope_off, h.envelope_len, scratch,
                                       sizeof scratch, &rel, &payload, &len, NULL),
                     NB_OK);
    assert_true(len < cap);
    memcpy(out, payload, len);
    out[len] = '\0';
    return len;
}

void bx_resign(const struct bx_world *w, const struct bx_bundle *b, const char *payload, size_t len,
               struct bx_bundle *out)
{
    const struct nb_keyfile *signers[] = {&w->release};
    struct nb_bundle_header h;
    bx_header(b, &h);
    size_t env_len =
        fx_envelope(NB_PAYLOAD_RELEASE, payload, len, signers, 1, envelope, sizeof envelope);
    size_t rest = (size_t)(h.total_len - h.table_off);
    out->len = NB_BUNDLE_HEADER_LEN + env_len + rest;
    out->data = nb_malloc(out->len);
    assert_non_null(out->data);
    nb_bundle_header_write((uint32_t)env_len, h.table_len, h.frames_len, out->data);
    memcpy(out->data + NB_BUNDLE_HEADER_LEN, envelope, env_len);
    memcpy(out->data + NB_BUNDLE_HEADER_LEN + env_len, b->data + h.table_off, rest);
}
