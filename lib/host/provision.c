/* The factory step (provision.h): verify the factory bundle, then write the
 * device's first state through the flash HAL with the library's own
 * stores (trust, slot metadata, capabilities, boot control) and frame
 * pipeline, so a provisioned device is exactly what an install would have
 * left. Used by `nobrick device provision` and nobrick-sim. */
#include <nobrick/alloc.h>
#include <nobrick/boot.h>
#include <nobrick/bootctl.h>
#include <nobrick/caps.h>
#include <nobrick/envelope.h>
#include <nobrick/frames.h>
#include <nobrick/provision.h>
#include <nobrick/slotmeta.h>
#include <nobrick/trust.h>

#include <string.h>

enum nb_err nb_factory_load(const struct nb_root *root, struct nb_bundle_reader *r,
                            struct nb_factory *out, struct nb_diag *diag)
{
    struct nb_bundle_verified v;
    uint8_t hdr[NB_BUNDLE_HEADER_LEN];
    memset(out, 0, sizeof *out);
    enum nb_err err = nb_bundle_file_verify(root, r, NULL, NULL, &v, diag);
    if (err == NB_OK && !v.decrypted)
        err = nb_diag_set(diag, NB_EINVAL,
                          "a factory bundle must not be encrypted (the device "
                          "key is made during provisioning)");
    if (err == NB_OK)
        err = r->ops->read_at(r, 0, hdr, sizeof hdr, diag);
    if (err == NB_OK)
        err = nb_bundle_header_parse(hdr, r->len, &out->hdr, diag);
    if (err != NB_OK)
        return err;
    out->rel = v.rel;
    out->envelope = nb_malloc(out->hdr.envelope_len);
    out->table = nb_malloc(out->hdr.table_len);
    if (out->envelope == NULL || out->table == NULL)
        return NB_ENOMEM;
    err = r->ops->read_at(r, out->hdr.envelope_off, out->envelope, out->hdr.envelope_len, diag);
    if (err == NB_OK)
        err = r->ops->read_at(r, out->hdr.table_off, out->table, out->hdr.table_len, diag);
    return err;
}

void nb_factory_fini(struct nb_factory *f)
{
    nb_free(f->envelope);
    nb_free(f->table);
    f->envelope = NULL;
    f->table = NULL;
}

/* One frame: read from the bundle, checked and decoded into window, padded
 * to the write size with erased bytes, programmed at off. */
static enum nb_err write_frame(const struct nb_factory *f, struct nb_bundle_reader *r,
                               const struct nb_flash *flash, struct nb_frame_ctx *ctx, uint32_t i,
                               uint8_t *stored, size_t stored_cap, uint8_t *window, uint64_t off,
                               struct nb_diag *diag)
{
    struct nb_frame_entry e;
    struct nb_flash_geometry g;
    nb_flash_geometry(flash, &g);
    nb_frame_entry_get(f->table, i, &e);
    enum nb_err err = e.stored_len <= stored_cap ? NB_OK : NB_ELENGTH;
    if (err == NB_OK)
        err = r->ops->read_at(r, f->hdr.frames_off + e.stored_off, stored, e.stored_len, diag);
    if (err == NB_OK)
        err = nb_frame_open(ctx, i, &e, stored, e.stored_len, window, f->rel.frame_size, diag);
    size_t len = (e.out_len + g.write_size - 1) / g.write_size * g.write_size;
    if (err == NB_OK && len > e.out_len)
        memset(window + e.out_len, 0xFF, len - e.out_len);
    if (err == NB_OK)
        err = nb_flash_program(flash, off, window, len);
    return err;
}

/* Decodes every frame (checked against the signed table) into the erased
 * slot, then writes the slot's metadata. */
static enum nb_err write_slot(const struct nb_factory *f, struct nb_bundle_reader *r,
                              const struct nb_flash *flash, const struct nb_layout *layout,
                              enum nb_bootctl_slot_id id, struct nb_diag *diag)
{
    struct nb_region slot = layout->slot[id];
    size_t stored_cap = nb_frame_stored_max(&f->rel);
    struct nb_flash_geometry g;
    nb_flash_geometry(flash, &g);
    /* the window holds a whole frame rounded up to the write size */
    size_t win_len = (f->rel.frame_size + g.write_size - 1) / g.write_size * g.write_size;
    uint8_t *stored = nb_malloc(stored_cap), *window = nb_malloc(win_len);
    struct nb_codec codec = {0};
    struct nb_frame_ctx ctx;
    enum nb_err err = stored == NULL || window == NULL ? NB_ENOMEM : nb_codec_init(&codec);
    nb_frame_ctx_init(&ctx, &f->rel, NULL, &codec);
    for (uint32_t i = 0; err == NB_OK && i < f->rel.frame_count; i++)
        err = write_frame(f, r, flash, &ctx, i, stored, stored_cap, window,
                          slot.off + (uint64_t)i * f->rel.frame_size, diag);
    if (err == NB_OK)
        err = nb_slotmeta_write(flash, layout->meta[id], f->envelope, f->hdr.envelope_len, f->table,
                                f->hdr.table_len, diag);
    nb_frame_ctx_fini(&ctx);
    nb_codec_fini(&codec);
    nb_free(window);
    nb_free(stored);
    return err;
}

/* One slot through the states an install takes it: installing, ready
 * (what was written), trial, good. */
static enum nb_err mark_slot(struct nb_bootctl *rec, const struct nb_release *rel,
                             enum nb_bootctl_slot_id id)
{
    enum nb_err err = nb_bootctl_mark_installing(rec, id);
    if (err == NB_OK)
        err = nb_bootctl_mark_ready(rec, id, rel->version, rel->security_counter, rel->image_size,
                                    rel->image_sha256);
    if (err == NB_OK)
        err = nb_bootctl_mark_trial(rec, id, 1);
    if (err == NB_OK)
        err = nb_bootctl_mark_good(rec, id);
    return err;
}

static enum nb_err write_trust(const struct nb_flash *flash, const struct nb_layout *layout,
                               const uint8_t *root_text, size_t root_len, struct nb_diag *diag)
{
    struct nb_dualrec trust;
    uint8_t *scratch = nb_malloc(NB_ENVELOPE_SCRATCH_LEN);
    enum nb_err err = scratch == NULL ? NB_ENOMEM
                                      : nb_dualrec_init(&trust, flash, layout->trust[0],
                                                        layout->trust[1], NB_TRUST_MAGIC);
    if (err == NB_OK)
        err =
            nb_trust_provision(&trust, root_text, root_len, scratch, NB_ENVELOPE_SCRATCH_LEN, diag);
    nb_free(scratch);
    return err;
}

enum nb_err nb_factory_write(const struct nb_factory *f, struct nb_bundle_reader *r,
                             const struct nb_flash *flash, const struct nb_layout *layout,
                             const uint8_t *root_text, size_t root_len, struct nb_diag *diag)
{
    struct nb_bootctl_flash bf;
    struct nb_bootctl rec;
    struct nb_caps caps;
    enum nb_err err = write_trust(flash, layout, root_text, root_len, diag);
    if (err == NB_OK)
        err = write_slot(f, r, flash, layout, NB_BOOTCTL_A, diag);
    if (err == NB_OK && layout->has_gold)
        err = write_slot(f, r, flash, layout, NB_BOOTCTL_GOLD, diag);
    nb_boot_caps(layout, &caps);
    if (err == NB_OK)
        err = nb_caps_write(flash, layout->caps, &caps);
    nb_bootctl_init(&rec, layout->has_gold);
    if (err == NB_OK)
        err = mark_slot(&rec, &f->rel, NB_BOOTCTL_A);
    if (err == NB_OK && layout->has_gold)
        err = mark_slot(&rec, &f->rel, NB_BOOTCTL_GOLD);
    if (err == NB_OK)
        err = nb_bootctl_flash_init(&bf, flash, layout->bootctl[0], layout->bootctl[1]);
    if (err == NB_OK)
        err = nb_bootctl_provision(&bf, &rec);
    if (err == NB_OK)
        err = nb_flash_sync(flash);
    return err;
}
