/* libFuzzer target: the input as a frame table (nb_frame_table_check) for a
 * release whose table_sha256 is the input's own hash, so the parser past the
 * hash check is reached. Two releases: a fixed one (3 frames of 4 KiB, zstd)
 * and one taking count and frame size from the input's header. Oracles: an
 * accepted table is contiguous, within caps and sums to the image; a wrong
 * hash is always refused. */
#include "fuzz_fixture.h"

#include <nobrick/encoding.h>
#include <nobrick/frames.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fixed_release(struct nb_release *rel)
{
    memset(rel, 0, sizeof *rel);
    rel->frame_size = 4096;
    rel->frame_count = 3;
    rel->image_size = 3 * 4096 - 100;
    rel->compression = NB_COMPRESSION_ZSTD;
}

/* A release matching the input's header when its geometry is valid: the
 * last entry's out_len gives the image size, the last byte the mode. */
static bool header_release(const uint8_t *data, size_t size, struct nb_release *rel)
{
    if (size < NB_FRAME_TABLE_HEADER_LEN)
        return false;
    uint32_t count = nb_le32(data + 8), frame_size = nb_le32(data + 12);
    if (count == 0 || count > NB_FRAMES_MAX_COUNT || frame_size < NB_FRAME_SIZE_MIN ||
        frame_size > NB_FRAME_SIZE_MAX || (frame_size & (frame_size - 1)) != 0)
        return false;
    uint32_t last = frame_size;
    if (size == nb_frame_table_len(count)) {
        last = nb_le32(data + size - NB_FRAME_ENTRY_LEN + 12);
        if (last == 0 || last > frame_size)
            last = frame_size;
    }
    memset(rel, 0, sizeof *rel);
    rel->frame_size = frame_size;
    rel->frame_count = count;
    rel->image_size = (uint64_t)(count - 1) * frame_size + last;
    rel->compression = (data[size - 1] & 1) ? NB_COMPRESSION_ZSTD : NB_COMPRESSION_NONE;
    rel->encrypted = (data[size - 1] & 2) != 0;
    rel->n_recipients = rel->encrypted ? 1 : 0;
    return true;
}

/* What an accepted table promises, recomputed entry by entry. */
static void check_entries(const struct nb_release *rel, const uint8_t *table, size_t size,
                          uint64_t frames_len)
{
    fz_require(size == nb_frame_table_len(rel->frame_count), "table: exact length");
    uint64_t off = 0, out = 0;
    size_t stored_max = nb_frame_stored_max(rel);
    for (uint32_t i = 0; i < rel->frame_count; i++) {
        struct nb_frame_entry e;
        nb_frame_entry_get(table, i, &e);
        fz_require(e.stored_off == off, "table: frames contiguous from 0");
        fz_require(e.stored_len >= 1 && e.stored_len <= stored_max, "table: stored_len range");
        fz_require(i + 1 == rel->frame_count ? (e.out_len >= 1 && e.out_len <= rel->frame_size)
                                             : e.out_len == rel->frame_size,
                   "table: out_len is the window");
        off += e.stored_len;
        out += e.out_len;
    }
    fz_require(off == frames_len, "table: frames_len is the sum of stored_len");
    fz_require(out == rel->image_size, "table: outputs sum to the image");
}

static void check_against(struct nb_release *rel, const uint8_t *data, size_t size)
{
    struct nb_diag diag = {{0}};
    uint64_t frames_len = 0;
    fz_require(nb_sha256(data, size, rel->table_sha256) == NB_OK, "hash the input");
    enum nb_err err = nb_frame_table_check(rel, data, size, &frames_len, &diag);
    fz_check_diag(&diag);
    if (err == NB_OK)
        check_entries(rel, data, size, frames_len);

    /* The same bytes under another hash are never accepted. */
    rel->table_sha256[0] ^= 1;
    err = nb_frame_table_check(rel, data, size, &frames_len, NULL);
    fz_require(err == NB_EHASH || err == NB_ELENGTH, "a wrong table hash is refused");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nb_release rel;
    fixed_release(&rel);
    check_against(&rel, data, size);
    if (header_release(data, size, &rel))
        check_against(&rel, data, size);
    return 0;
}
