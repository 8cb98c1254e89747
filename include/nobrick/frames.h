/* The frame table and the per-frame pipeline.
 *
 * An image is cut into fixed windows of frame_size bytes; each becomes one
 * frame: an independent zstd frame (or the raw window), optionally
 * AES-256-GCM sealed with the release's content key. The frame table,
 * whose SHA-256 is in the signed release, lists every frame. Binary,
 * little-endian:
 *   header (16): "NBFT", u16 version = 1, u16 reserved = 0, u32 count,
 *                u32 frame_size
 *   count entries (80): u64 stored_off (from the start of the frames area),
 *                u32 stored_len, u32 out_len, stored_sha256[32], out_sha256[32]
 * A frame is checked against the signed stored_sha256 BEFORE it is
 * decrypted or decompressed: authenticity comes from the signature, never
 * from the AEAD tag (any holder of a group content key can make a valid tag).
 * Everything here is push-fed with caller-owned buffers and does no I/O, so
 * the install engine, the host verifier and the bundle writer share it. */
#ifndef NOBRICK_FRAMES_H
#define NOBRICK_FRAMES_H

#include <nobrick/codec.h>
#include <nobrick/crypto.h>
#include <nobrick/err.h>
#include <nobrick/release.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_FRAME_TABLE_MAGIC "NBFT"
#define NB_FRAME_TABLE_VERSION 1
#define NB_FRAME_TABLE_HEADER_LEN 16
#define NB_FRAME_ENTRY_LEN 80
/* Largest table a valid release can describe. */
#define NB_FRAME_TABLE_MAX                                                                         \
    ((uint64_t)NB_FRAME_TABLE_HEADER_LEN + (uint64_t)NB_FRAME_ENTRY_LEN * NB_FRAMES_MAX_COUNT)

/* One entry of the table, decoded. */
struct nb_frame_entry {
    uint64_t stored_off; /* from the start of the frames area */
    uint32_t stored_len; /* bytes as stored (compressed, then sealed) */
    uint32_t out_len;    /* bytes of the output window */
    uint8_t stored_sha256[NB_SHA256_LEN];
    uint8_t out_sha256[NB_SHA256_LEN];
};

/* Length in bytes of a table of count frames. */
uint64_t nb_frame_table_len(uint32_t count);

/* Largest stored_len a frame of rel may have: the codec's bound of a window
 * (exactly the window for "none"), plus the GCM tag when encrypted. */
size_t nb_frame_stored_max(const struct nb_release *rel);

/* Checks a frame table against its verified release, in this order:
 * length within caps (NB_ELENGTH); SHA-256 == rel->table_sha256 (NB_EHASH);
 * magic, version, reserved (NB_EPARSE); count and frame_size == release
 * (NB_EMISMATCH); length == nb_frame_table_len(count) (NB_ELENGTH); entries
 * contiguous from offset 0 with no gap or overlap (NB_EPARSE); stored_len in
 * 1..nb_frame_stored_max (NB_ELENGTH); out_len == frame_size except for the
 * last frame, and the sum == image size (NB_EPARSE). Every addition is
 * overflow-checked. *frames_len receives the frames area's signed length. */
NB_MUST_CHECK enum nb_err nb_frame_table_check(const struct nb_release *rel, const uint8_t *table,
                                               size_t len, uint64_t *frames_len,
                                               struct nb_diag *diag);

/* Decodes entry i of a table already checked (i < count). */
void nb_frame_entry_get(const uint8_t *table, uint32_t i, struct nb_frame_entry *out);

/* Table writing, for bundle creation: the header into table[0..16), and
 * entry i at its place (table must hold nb_frame_table_len(count) bytes). */
void nb_frame_table_put_header(uint8_t *table, uint32_t count, uint32_t frame_size);
void nb_frame_entry_put(uint8_t *table, uint32_t i, const struct nb_frame_entry *e);

/* What opening (or sealing) frames of one release needs. The caller owns
 * the struct and the codec (initialised, reused across frames). key is the
 * content key; have_key is false when the release is encrypted but this
 * caller cannot decrypt (then only nb_frame_check_stored works). */
struct nb_frame_ctx {
    uint32_t frame_size;
    enum nb_compression compression;
    bool encrypted;
    bool have_key;
    bool delta;
    uint8_t key[NB_AES256_KEY_LEN];
    struct nb_codec *codec;
    int level; /* nb_frame_seal's zstd level, 1..19 */
};

/* Fills ctx for rel; content_key may be NULL (none, or not known). */
void nb_frame_ctx_init(struct nb_frame_ctx *ctx, const struct nb_release *rel,
                       const uint8_t *content_key, struct nb_codec *codec);
/* Wipes the content key. */
void nb_frame_ctx_fini(struct nb_frame_ctx *ctx);

/* Checks only that stored[0..stored_len) are the signed bytes of frame
 * index: NB_ETRUNCATED when fewer bytes than entry->stored_len, NB_ELENGTH
 * when more, NB_EHASH ("hash mismatch in frame N (stored bytes)") when the
 * SHA-256 differs. */
NB_MUST_CHECK enum nb_err nb_frame_check_stored(uint32_t index, const struct nb_frame_entry *entry,
                                                const uint8_t *stored, size_t stored_len,
                                                struct nb_diag *diag);

/* Opens one frame into out[0..entry->out_len): nb_frame_check_stored, then
 * (encrypted) AES-256-GCM open in place, the last 16 bytes being the tag,
 * nonce = 4 zero bytes || u64 LE index, aad = u64 LE index (NB_EDECRYPT);
 * then zstd decode (or copy) to exactly out_len bytes (codec errors: NB_EPARSE,
 * NB_ETRUNCATED, NB_EHASH, NB_ELENGTH); then SHA-256(out) == out_sha256
 * (NB_EHASH, "hash mismatch in frame N (output)"). stored is modified
 * (decrypted in place). On failure out and stored hold nothing usable
 * (decrypted bytes are wiped). NB_ENOSPC when out_cap < entry->out_len;
 * NB_EINVAL when encrypted and !ctx->have_key; NB_EUNSUPPORTED for delta
 * frames (not implemented yet). */
NB_MUST_CHECK enum nb_err nb_frame_open(struct nb_frame_ctx *ctx, uint32_t index,
                                        const struct nb_frame_entry *entry, uint8_t *stored,
                                        size_t stored_len, uint8_t *out, size_t out_cap,
                                        struct nb_diag *diag);

/* Host side: makes frame index from in[0..in_len) (1..frame_size bytes):
 * compress (or copy), seal when encrypted, and fill *entry (stored_off as
 * given, lengths, both hashes). out needs nb_frame_stored_max bytes
 * (NB_ENOSPC otherwise). */
NB_MUST_CHECK enum nb_err nb_frame_seal(struct nb_frame_ctx *ctx, uint32_t index,
                                        uint64_t stored_off, const uint8_t *in, size_t in_len,
                                        uint8_t *out, size_t out_cap, struct nb_frame_entry *entry,
                                        struct nb_diag *diag);

#endif
