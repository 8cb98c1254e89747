/* The install engine's middle (install.h): the frame table and the slot
 * metadata, the resume scan, and each frame's check-then-write. A frame
 * reaches flash only after its stored bytes matched the signed table and
 * its output matched the signed output hash (SECURITY.md 1, 35). */
#include "install_internal.h"

#include <nobrick/slotmeta.h>

#include <string.h>

static uint64_t round_up(uint64_t n, uint32_t align)
{
    return (n + align - 1) / align * align;
}

/* Where frame index starts in the slot: windows are frame_size apart. */
static uint64_t window_off(const struct nb_install *in, uint32_t index)
{
    return in->dev.layout->slot[in->target].off + (uint64_t)index * in->rel.frame_size;
}

/* Writes the envelope and table next to the slot, unless already there
 * (a resumed install does not rewrite them). */
static enum nb_err write_meta(struct nb_install *in, const uint8_t *envelope, size_t envelope_len,
                              struct nb_diag *diag)
{
    bool equal = false;
    struct nb_region meta = in->dev.layout->meta[in->target];
    enum nb_err err = nb_slotmeta_matches(in->dev.flash, meta, envelope, envelope_len,
                                          in->bufs.table, in->table_len, &equal);
    if (err != NB_OK || equal)
        return err;
    return nb_slotmeta_write(in->dev.flash, meta, envelope, envelope_len, in->bufs.table,
                             in->table_len, diag);
}

/* Counts the frames, in order, whose output window is already in the slot
 * (hashed from flash against the signed output hash). */
static enum nb_err scan(struct nb_install *in)
{
    uint32_t i = 0;
    for (; i < in->rel.frame_count; i++) {
        struct nb_frame_entry e;
        uint8_t digest[NB_SHA256_LEN];
        nb_frame_entry_get(in->bufs.table, i, &e);
        enum nb_err err =
            nb_flash_read(in->dev.flash, window_off(in, i), in->bufs.window, e.out_len);
        if (err == NB_OK)
            err = nb_sha256(in->bufs.window, e.out_len, digest);
        if (err != NB_OK)
            return err;
        if (memcmp(digest, e.out_sha256, NB_SHA256_LEN) != 0)
            break;
    }
    in->next_frame = i;
    in->frames_done = i;
    in->frames_skipped = i;
    return NB_OK;
}

/* Checks the caller's envelope and table against what begin verified. */
static enum nb_err check_table(struct nb_install *in, const uint8_t *envelope, size_t envelope_len,
                               const uint8_t *table, size_t table_len, struct nb_diag *diag)
{
    uint8_t digest[NB_SHA256_LEN];
    uint64_t frames_len = 0;
    enum nb_err err = nb_sha256(envelope, envelope_len, digest);
    if (err != NB_OK)
        return err;
    if (memcmp(digest, in->envelope_sha256, NB_SHA256_LEN) != 0)
        return nb_diag_set(diag, NB_EMISMATCH,
                           "install: the envelope given to table is not the one begin verified");
    if (table_len > in->bufs.table_cap)
        return nb_diag_set(diag, NB_ENOSPC,
                           "install: table buffer is %zu bytes, the frame table needs %zu",
                           in->bufs.table_cap, table_len);
    return nb_frame_table_check(&in->rel, table, table_len, &frames_len, diag);
}

enum nb_err nb_install_table(struct nb_install *in, const uint8_t *envelope, size_t envelope_len,
                             const uint8_t *table, size_t table_len, struct nb_diag *diag)
{
    if (in->phase != NB_INSTALL_BEGUN)
        return nb_diag_set(diag, NB_EINVAL, "install: table before begin, or twice");
    enum nb_err err = check_table(in, envelope, envelope_len, table, table_len, diag);
    if (err != NB_OK)
        return nb__install_fail(in, err);
    memmove(in->bufs.table, table, table_len);
    in->table_len = table_len;
    err = write_meta(in, envelope, envelope_len, diag);
    if (err == NB_OK)
        err = scan(in);
    if (err != NB_OK) {
        nb_diag_set(diag, err, "install: slot %s metadata or scan failed",
                    nb_slot_name(in->target));
        return nb__install_fail(in, err);
    }
    in->phase = in->next_frame == in->rel.frame_count ? NB_INSTALL_WRITTEN : NB_INSTALL_FRAMES;
    return NB_OK;
}

bool nb_install_want(const struct nb_install *in, uint32_t *index)
{
    if (in->phase != NB_INSTALL_FRAMES || in->next_frame >= in->rel.frame_count)
        return false;
    *index = in->next_frame;
    return true;
}

/* Erases the frame's window and programs its output, the program rounded
 * up to the write size with the erased value (the last window's bytes past
 * the image are padding, never hashed). */
static enum nb_err write_window(struct nb_install *in, uint32_t index, uint32_t out_len)
{
    struct nb_flash_geometry g;
    nb_flash_geometry(in->dev.flash, &g);
    uint64_t off = window_off(in, index);
    size_t prog = (size_t)round_up(out_len, g.write_size);
    memset(in->bufs.window + out_len, g.erased_val, prog - out_len);
    enum nb_err err = nb_flash_erase(in->dev.flash, off, round_up(out_len, g.erase_size));
    if (err == NB_OK)
        err = nb_flash_program(in->dev.flash, off, in->bufs.window, prog);
    return err;
}

enum nb_err nb_install_frame(struct nb_install *in, uint32_t index, uint8_t *stored,
                             size_t stored_len, struct nb_diag *diag)
{
    struct nb_frame_entry e;
    if (in->phase != NB_INSTALL_FRAMES || index != in->next_frame)
        return nb_diag_set(diag, NB_EINVAL, "install: frame %u given, frame %u wanted",
                           (unsigned)index, (unsigned)in->next_frame);
    if (in->bufs.window_cap < in->rel.frame_size)
        return nb_diag_set(diag, NB_ENOSPC, "install: window buffer is %zu bytes, frames are %u",
                           in->bufs.window_cap, (unsigned)in->rel.frame_size);
    nb_frame_entry_get(in->bufs.table, index, &e);
    /* Stored hash, decrypt, decompress, output hash: a frame that fails any
     * of them is not written and may be fetched again. */
    enum nb_err err = nb_frame_open(&in->fctx, index, &e, stored, stored_len, in->bufs.window,
                                    in->bufs.window_cap, diag);
    if (err != NB_OK)
        return err;
    err = write_window(in, index, e.out_len);
    if (err != NB_OK) {
        nb_diag_set(diag, err, "install: writing frame %u to slot %s failed", (unsigned)index,
                    nb_slot_name(in->target));
        return nb__install_fail(in, err);
    }
    in->next_frame++;
    in->frames_done++;
    if (in->next_frame == in->rel.frame_count)
        in->phase = NB_INSTALL_WRITTEN;
    return NB_OK;
}
