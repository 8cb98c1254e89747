/* The .nbb bundle header.
 *
 * A bundle is one file: a 32-byte header, the release envelope text, the
 * frame table, the frames. Header, little-endian:
 *   magic "NBBUNDLE" (8), u16 format version = 1, u16 flags = 0,
 *   u32 envelope_len, u32 table_len, u64 frames_len, u32 reserved = 0
 * The header itself is not signed: every length in it is checked against caps
 * and, later, against the signed release and frame table, and the file must
 * end exactly where the header says. So every byte of a valid bundle is
 * covered by a signature or a signed hash. */
#ifndef NOBRICK_BUNDLE_H
#define NOBRICK_BUNDLE_H

#include <nobrick/err.h>

#include <stdint.h>

#define NB_BUNDLE_MAGIC "NBBUNDLE"
#define NB_BUNDLE_VERSION 1
#define NB_BUNDLE_HEADER_LEN 32
/* Cap of the frames area: a 1 TiB image plus per-frame codec and tag
 * overhead fits well below it. */
#define NB_BUNDLE_FRAMES_MAX (UINT64_C(1) << 41)

struct nb_bundle_header {
    uint16_t version;
    uint16_t flags;
    uint32_t envelope_len; /* 1..NB_ENVELOPE_MAX */
    uint32_t table_len;    /* NB_FRAME_TABLE_HEADER_LEN + k * NB_FRAME_ENTRY_LEN, k >= 1 */
    uint64_t frames_len;   /* 1..NB_BUNDLE_FRAMES_MAX */
    /* Derived by nb_bundle_header_parse: where each part starts, and the
     * exact file length. */
    uint64_t envelope_off;
    uint64_t table_off;
    uint64_t frames_off;
    uint64_t total_len;
};

/* Parses and checks a header against the file's length: NB_EPARSE for a bad
 * magic, an unknown version, non-zero flags or reserved bytes, or a table
 * length that is not a whole number of entries; NB_ELENGTH for a length over
 * its cap (envelope, table, frames: no length can wrap an addition);
 * NB_ETRUNCATED when file_len is shorter than the lengths add up to, or
 * longer (bytes after the end, covered by no signature). *out is written
 * only on success. */
NB_MUST_CHECK enum nb_err nb_bundle_header_parse(const uint8_t hdr[NB_BUNDLE_HEADER_LEN],
                                                 uint64_t file_len, struct nb_bundle_header *out,
                                                 struct nb_diag *diag);

/* Writes the header for the three lengths (version NB_BUNDLE_VERSION, flags
 * and reserved 0). */
void nb_bundle_header_write(uint32_t envelope_len, uint32_t table_len, uint64_t frames_len,
                            uint8_t out[NB_BUNDLE_HEADER_LEN]);

#endif
