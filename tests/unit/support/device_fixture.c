/* Test helpers for a simulated device (see device_fixture.h): provisioning,
 * installing a trial straight through the HAL and the bootctl transitions,
 * corrupting a slot, and one bootloader power-on with static buffers. */
#include "device_fixture.h"

#include <nobrick/crypto.h>
#include <nobrick/release.h>
#include <nobrick/slotmeta.h>
#include <nobrick/trust.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static uint8_t image_buf[DX_SLOT_SIZE];
static char text_buf[FX_ENVELOPE_CAP];
static char payload_buf[NB_PAYLOAD_MAX];

static void bind(struct dx_device *d)
{
    d->flash = nb_flash_sim_flash(d->sim);
    assert_int_equal(
        nb_bootctl_flash_init(&d->bootctl, &d->flash, d->layout.bootctl[0], d->layout.bootctl[1]),
        NB_OK);
    assert_int_equal(nb_dualrec_init(&d->trust, &d->flash, d->layout.trust[0], d->layout.trust[1],
                                     NB_TRUST_MAGIC),
                     NB_OK);
    d->dev = (struct nb_boot_device){.flash = &d->flash,
                                     .layout = &d->layout,
                                     .bootctl = nb_bootctl_flash_control(&d->bootctl),
                                     .trust = &d->trust};
}

static void open_sim(struct dx_device *d, bool create)
{
    struct nb_flash_sim_config cfg = {
        .size = d->layout.end, .erase_size = DX_SECTOR, .write_size = DX_WRITE, .create = create};
    struct nb_diag diag = {{0}};
    d->sim = NULL;
    if (nb_flash_sim_open(d->path, &cfg, &d->sim, &diag) != NB_OK)
        fail_msg("flash_sim: %s", diag.msg);
    bind(d);
}

/* The release the release role (or img->signer) signs for img. */
static size_t release_envelope(const struct bx_world *w, const struct dx_image *img,
                               const uint8_t sha[NB_SHA256_LEN])
{
    struct nb_release rel;
    memset(&rel, 0, sizeof rel);
    assert_true(strlen(img->version) <= NB_VERSION_MAX);
    memcpy(rel.version, img->version, strlen(img->version) + 1);
    rel.security_counter = img->security_counter;
    memcpy(rel.hw_classes[0], "thermo-v3", sizeof "thermo-v3");
    rel.n_hw_classes = 1;
    memcpy(rel.component, NB_COMPONENT_DEFAULT, sizeof NB_COMPONENT_DEFAULT);
    rel.created = FX_NOW;
    rel.image_size = img->len;
    memcpy(rel.image_sha256, sha, NB_SHA256_LEN);
    rel.frame_size = NB_FRAME_SIZE_MIN;
    rel.frame_count = (uint32_t)((img->len + NB_FRAME_SIZE_MIN - 1) / NB_FRAME_SIZE_MIN);
    memset(rel.table_sha256, 0x5A, NB_SHA256_LEN); /* the bootloader never reads the table */
    rel.compression = NB_COMPRESSION_NONE;
    size_t len = 0;
    struct nb_diag diag = {{0}};
    if (nb_release_write(&rel, NULL, 0, payload_buf, sizeof payload_buf, &len, &diag) != NB_OK)
        fail_msg("release: %s", diag.msg);
    const struct nb_keyfile *signers[] = {img->signer != NULL ? img->signer : &w->release};
    return fx_envelope(NB_PAYLOAD_RELEASE, payload_buf, len, signers, 1, text_buf, sizeof text_buf);
}

/* Image bytes into the slot (erase, program padded to the write size),
 * then its metadata. Records the digest in d->sha256[id]. */
static void write_slot(struct dx_device *d, const struct bx_world *w, enum nb_bootctl_slot_id id,
                       const struct dx_image *img)
{
    static const uint8_t table[16] = {0};
    struct nb_region slot = d->layout.slot[id];
    size_t padded = (img->len + DX_WRITE - 1) / DX_WRITE * DX_WRITE;
    assert_true(img->len > 0 && padded <= sizeof image_buf && padded <= slot.len);
    memset(image_buf, 0xFF, padded);
    bx_image(image_buf, img->len, img->seed, false);
    assert_int_equal(nb_sha256(image_buf, img->len, d->sha256[id]), NB_OK);
    assert_int_equal(nb_flash_erase(&d->flash, slot.off, slot.len), NB_OK);
    assert_int_equal(nb_flash_program(&d->flash, slot.off, image_buf, padded), NB_OK);
    size_t env_len = release_envelope(w, img, d->sha256[id]);
    struct nb_diag diag = {{0}};
    if (nb_slotmeta_write(&d->flash, d->layout.meta[id], (const uint8_t *)text_buf, env_len, table,
                          sizeof table, &diag) != NB_OK)
        fail_msg("slotmeta: %s", diag.msg);
}

/* installing -> ready -> trial -> good, in memory (factory). */
static void factory_slot(struct dx_device *d, struct nb_bootctl *rec, enum nb_bootctl_slot_id id,
                         const struct dx_image *img)
{
    assert_int_equal(nb_bootctl_mark_installing(rec, id), NB_OK);
    assert_int_equal(nb_bootctl_mark_ready(rec, id, img->version, img->security_counter, img->len,
                                           d->sha256[id]),
                     NB_OK);
    assert_int_equal(nb_bootctl_mark_trial(rec, id, 1), NB_OK);
    assert_int_equal(nb_bootctl_mark_good(rec, id), NB_OK);
}

void dx_provision(struct dx_device *d, const struct bx_world *w, const struct dx_image *a,
                  bool gold)
{
    memset(d, 0, sizeof *d);
    d->has_gold = gold;
    memcpy(d->path, "/tmp/nb_device_XXXXXX", sizeof "/tmp/nb_device_XXXXXX");
    int fd = mkstemp(d->path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(nb_layout_compute(DX_SECTOR, DX_SLOT_SIZE, DX_META_SIZE, gold, &d->layout),
                     NB_OK);
    open_sim(d, true);

    const struct nb_keyfile *signers[] = {&w->root_key};
    size_t len = fx_root_envelope(&w->root, signers, 1, text_buf, sizeof text_buf);
    struct nb_diag diag = {{0}};
    if (nb_trust_provision(&d->trust, (const uint8_t *)text_buf, len, fx_scratch(),
                           NB_ENVELOPE_SCRATCH_LEN, &diag) != NB_OK)
        fail_msg("trust: %s", diag.msg);

    struct nb_bootctl rec;
    nb_bootctl_init(&rec, gold);
    write_slot(d, w, NB_BOOTCTL_A, a);
    factory_slot(d, &rec, NB_BOOTCTL_A, a);
    if (gold) {
        write_slot(d, w, NB_BOOTCTL_GOLD, a);
        factory_slot(d, &rec, NB_BOOTCTL_GOLD, a);
    }
    assert_int_equal(nb_bootctl_provision(&d->bootctl, &rec), NB_OK);
}

void dx_install_trial(struct dx_device *d, const struct bx_world *w, enum nb_bootctl_slot_id id,
                      const struct dx_image *img, uint8_t tries)
{
    struct nb_bootctl rec;
    dx_record(d, &rec);
    assert_int_equal(nb_bootctl_mark_installing(&rec, id), NB_OK);
    assert_int_equal(nb_bootctl_store(&d->bootctl, &rec), NB_OK);
    write_slot(d, w, id, img);
    assert_int_equal(nb_bootctl_mark_ready(&rec, id, img->version, img->security_counter, img->len,
                                           d->sha256[id]),
                     NB_OK);
    assert_int_equal(nb_bootctl_store(&d->bootctl, &rec), NB_OK);
    assert_int_equal(nb_bootctl_mark_trial(&rec, id, tries), NB_OK);
    assert_int_equal(nb_bootctl_store(&d->bootctl, &rec), NB_OK);
}

void dx_commit(struct dx_device *d, enum nb_bootctl_slot_id id)
{
    struct nb_bootctl rec;
    dx_record(d, &rec);
    assert_int_equal(nb_bootctl_mark_good(&rec, id), NB_OK);
    assert_int_equal(nb_bootctl_store(&d->bootctl, &rec), NB_OK);
}

void dx_flip(struct dx_device *d, enum nb_bootctl_slot_id id, uint64_t off)
{
    static uint8_t sector[DX_SECTOR];
    assert_true(off < d->layout.slot[id].len);
    uint64_t abs = d->layout.slot[id].off + off;
    uint64_t base = abs - abs % DX_SECTOR;
    assert_int_equal(nb_flash_read(&d->flash, base, sector, DX_SECTOR), NB_OK);
    sector[abs - base] ^= 0x10;
    assert_int_equal(nb_flash_erase(&d->flash, base, DX_SECTOR), NB_OK);
    assert_int_equal(nb_flash_program(&d->flash, base, sector, DX_SECTOR), NB_OK);
}

enum nb_err dx_boot(struct dx_device *d, struct nb_boot_result *out)
{
    static uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN];
    static uint8_t envelope[NB_ENVELOPE_MAX];
    static uint8_t trust_text[NB_TRUST_ROOT_MAX];
    static uint8_t window[4096]; /* smaller than the images: hashed in pieces */
    struct nb_boot_bufs bufs = {
        .scratch = scratch,
        .scratch_len = sizeof scratch,
        .envelope = envelope,
        .envelope_cap = sizeof envelope,
        .trust_text = trust_text,
        .trust_cap = sizeof trust_text,
        .window = window,
        .window_len = sizeof window,
    };
    return nb_boot_run(&d->dev, &bufs, out);
}

void dx_record(struct dx_device *d, struct nb_bootctl *out)
{
    struct nb_diag diag = {{0}};
    if (nb_bootctl_load(&d->bootctl, out, &diag) != NB_OK)
        fail_msg("bootctl: %s", diag.msg);
}

bool dx_slot_intact(struct dx_device *d, enum nb_bootctl_slot_id id, uint64_t len)
{
    uint8_t sha[NB_SHA256_LEN];
    assert_true(len <= sizeof image_buf);
    assert_int_equal(nb_flash_read(&d->flash, d->layout.slot[id].off, image_buf, (size_t)len),
                     NB_OK);
    assert_int_equal(nb_sha256(image_buf, (size_t)len, sha), NB_OK);
    return memcmp(sha, d->sha256[id], NB_SHA256_LEN) == 0;
}

void dx_reboot(struct dx_device *d)
{
    nb_flash_sim_close(d->sim);
    open_sim(d, false);
}

void dx_close(struct dx_device *d)
{
    nb_flash_sim_close(d->sim);
    d->sim = NULL;
    unlink(d->path);
}
