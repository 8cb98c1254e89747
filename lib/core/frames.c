/* The frame table and the per-frame pipeline (include/nobrick/frames.h).
 * Opening a frame checks its stored bytes against the signed table first,
 * then decrypts, decodes and checks the output: nothing unauthenticated ever
 * reaches AES-GCM, zstd or the caller's output (SECURITY.md 1, 35). */
#include <nobrick/encoding.h>
#include <nobrick/frames.h>

#include <stddef.h>
#include <string.h>

/* The binary layout, as structs of bytes (no padding) so the offsets and
 * sizes below are the format's and the compiler checks them. */
struct table_header_wire {
    uint8_t magic[4];
    uint8_t version[2];
    uint8_t reserved[2];
    uint8_t count[4];
    uint8_t frame_size[4];
};
struct entry_wire {
    uint8_t stored_off[8];
    uint8_t stored_len[4];
    uint8_t out_len[4];
    uint8_t stored_sha256[NB_SHA256_LEN];
    uint8_t out_sha256[NB_SHA256_LEN];
};
_Static_assert(sizeof(struct table_header_wire) == NB_FRAME_TABLE_HEADER_LEN,
               "frame table header is 16 bytes");
_Static_assert(sizeof(struct entry_wire) == NB_FRAME_ENTRY_LEN, "frame entry is 80 bytes");
_Static_assert(NB_FRAME_TABLE_MAX <= UINT32_MAX, "a table length fits the bundle's u32");

#define HDR(f) offsetof(struct table_header_wire, f)
#define ENT(f) offsetof(struct entry_wire, f)

uint64_t nb_frame_table_len(uint32_t count)
{
    return NB_FRAME_TABLE_HEADER_LEN + (uint64_t)NB_FRAME_ENTRY_LEN * count;
}

static size_t stored_max(uint32_t frame_size, enum nb_compression c, bool encrypted)
{
    size_t body = c == NB_COMPRESSION_ZSTD ? nb_codec_bound(frame_size) : frame_size;
    return body + (encrypted ? NB_GCM_TAG_LEN : 0);
}

size_t nb_frame_stored_max(const struct nb_release *rel)
{
    return stored_max(rel->frame_size, rel->compression, rel->encrypted);
}

void nb_frame_entry_get(const uint8_t *table, uint32_t i, struct nb_frame_entry *out)
{
    const uint8_t *p = table + nb_frame_table_len(i);
    out->stored_off = nb_le64(p + ENT(stored_off));
    out->stored_len = nb_le32(p + ENT(stored_len));
    out->out_len = nb_le32(p + ENT(out_len));
    memcpy(out->stored_sha256, p + ENT(stored_sha256), NB_SHA256_LEN);
    memcpy(out->out_sha256, p + ENT(out_sha256), NB_SHA256_LEN);
}

void nb_frame_entry_put(uint8_t *table, uint32_t i, const struct nb_frame_entry *e)
{
    uint8_t *p = table + nb_frame_table_len(i);
    nb_put_le64(p + ENT(stored_off), e->stored_off);
    nb_put_le32(p + ENT(stored_len), e->stored_len);
    nb_put_le32(p + ENT(out_len), e->out_len);
    memcpy(p + ENT(stored_sha256), e->stored_sha256, NB_SHA256_LEN);
    memcpy(p + ENT(out_sha256), e->out_sha256, NB_SHA256_LEN);
}

void nb_frame_table_put_header(uint8_t *table, uint32_t count, uint32_t frame_size)
{
    memcpy(table + HDR(magic), NB_FRAME_TABLE_MAGIC, 4);
    nb_put_le16(table + HDR(version), NB_FRAME_TABLE_VERSION);
    nb_put_le16(table + HDR(reserved), 0);
    nb_put_le32(table + HDR(count), count);
    nb_put_le32(table + HDR(frame_size), frame_size);
}

/* ---- table check ---------------------------------------------------------- */

static enum nb_err check_header(const struct nb_release *rel, const uint8_t *t, size_t len,
                                struct nb_diag *diag)
{
    if (memcmp(t + HDR(magic), NB_FRAME_TABLE_MAGIC, 4) != 0)
        return nb_diag_set(diag, NB_EPARSE, "frame table: bad magic");
    if (nb_le16(t + HDR(version)) != NB_FRAME_TABLE_VERSION || nb_le16(t + HDR(reserved)) != 0)
        return nb_diag_set(diag, NB_EPARSE, "frame table: version %u/reserved %u not supported",
                           nb_le16(t + HDR(version)), nb_le16(t + HDR(reserved)));
    uint32_t count = nb_le32(t + HDR(count)), frame_size = nb_le32(t + HDR(frame_size));
    if (count != rel->frame_count || frame_size != rel->frame_size)
        return nb_diag_set(diag, NB_EMISMATCH,
                           "frame table: %u frames of %u bytes, the release says %u of %u", count,
                           frame_size, rel->frame_count, rel->frame_size);
    if ((uint64_t)len != nb_frame_table_len(count))
        return nb_diag_set(diag, NB_ELENGTH, "frame table: %zu bytes for %u frames", len, count);
    return NB_OK;
}

/* One entry, at the position the previous ones end: stored frames tile the
 * frames area exactly, so no byte is in two frames and none is in no frame
 * (SECURITY.md 28). Lengths are capped before any sum uses them (33). */
static enum nb_err check_entry(const struct nb_release *rel, uint32_t i,
                               const struct nb_frame_entry *e, uint64_t expect_off,
                               struct nb_diag *diag)
{
    uint64_t max = nb_frame_stored_max(rel);
    bool last = i + 1 == rel->frame_count;
    if (e->stored_off != expect_off)
        return nb_diag_set(diag, NB_EPARSE,
                           "frame table: frame %u at offset %llu, expected %llu (frames must "
                           "follow each other with no gap or overlap)",
                           i, (unsigned long long)e->stored_off, (unsigned long long)expect_off);
    if (e->stored_len == 0 || e->stored_len > max ||
        (rel->encrypted && e->stored_len <= NB_GCM_TAG_LEN))
        return nb_diag_set(diag, NB_ELENGTH, "frame table: frame %u: stored_len %u not in 1..%llu",
                           i, e->stored_len, (unsigned long long)max);
    if (last ? (e->out_len == 0 || e->out_len > rel->frame_size) : e->out_len != rel->frame_size)
        return nb_diag_set(diag, NB_EPARSE, "frame table: frame %u: out_len %u, frame size %u", i,
                           e->out_len, rel->frame_size);
    /* Stored uncompressed, a frame is its window (plus the tag): exactly. */
    if (rel->compression == NB_COMPRESSION_NONE &&
        e->stored_len != e->out_len + (rel->encrypted ? NB_GCM_TAG_LEN : 0))
        return nb_diag_set(diag, NB_EPARSE, "frame table: frame %u: stored_len %u for %u bytes", i,
                           e->stored_len, e->out_len);
    return NB_OK;
}

enum nb_err nb_frame_table_check(const struct nb_release *rel, const uint8_t *table, size_t len,
                                 uint64_t *frames_len, struct nb_diag *diag)
{
    if (len < nb_frame_table_len(1) || (uint64_t)len > NB_FRAME_TABLE_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "frame table: %zu bytes, outside %llu..%llu", len,
                           (unsigned long long)nb_frame_table_len(1),
                           (unsigned long long)NB_FRAME_TABLE_MAX);
    uint8_t digest[NB_SHA256_LEN];
    enum nb_err err = nb_sha256(table, len, digest);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "frame table: cannot hash");
    /* Nothing in the table is believed before this: the hash is signed. */
    if (!nb_ct_equal(digest, rel->table_sha256, NB_SHA256_LEN))
        return nb_diag_set(diag, NB_EHASH, "frame table: hash does not match the signed release");
    err = check_header(rel, table, len, diag);
    uint64_t off = 0, out_total = 0;
    for (uint32_t i = 0; err == NB_OK && i < rel->frame_count; i++) {
        struct nb_frame_entry e;
        nb_frame_entry_get(table, i, &e);
        err = check_entry(rel, i, &e, off, diag);
        /* Bounded by the caps above, but never trusted to be. */
        if (err == NB_OK && (off > UINT64_MAX - e.stored_len || out_total > UINT64_MAX - e.out_len))
            err = nb_diag_set(diag, NB_ELENGTH, "frame table: frame %u: lengths overflow", i);
        off += e.stored_len;
        out_total += e.out_len;
    }
    if (err == NB_OK && out_total != rel->image_size)
        err = nb_diag_set(diag, NB_EPARSE, "frame table: frames make %llu bytes, the image is %llu",
                          (unsigned long long)out_total, (unsigned long long)rel->image_size);
    if (err == NB_OK)
        *frames_len = off;
    return err;
}

/* ---- one frame ------------------------------------------------------------ */

void nb_frame_ctx_init(struct nb_frame_ctx *ctx, const struct nb_release *rel,
                       const uint8_t *content_key, struct nb_codec *codec)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->frame_size = rel->frame_size;
    ctx->compression = rel->compression;
    ctx->encrypted = rel->encrypted;
    ctx->delta = rel->has_delta_base;
    ctx->have_key = content_key != NULL;
    if (content_key != NULL)
        memcpy(ctx->key, content_key, NB_AES256_KEY_LEN);
    ctx->codec = codec;
    ctx->level = 3;
}

void nb_frame_ctx_fini(struct nb_frame_ctx *ctx)
{
    nb_wipe(ctx->key, sizeof ctx->key);
    ctx->have_key = false;
}

enum nb_err nb_frame_check_stored(uint32_t index, const struct nb_frame_entry *entry,
                                  const uint8_t *stored, size_t stored_len, struct nb_diag *diag)
{
    if (stored_len < entry->stored_len)
        return nb_diag_set(diag, NB_ETRUNCATED, "frame %u: %zu of its %u stored bytes", index,
                           stored_len, entry->stored_len);
    if (stored_len > entry->stored_len)
        return nb_diag_set(diag, NB_ELENGTH, "frame %u: %zu stored bytes, the signed table says %u",
                           index, stored_len, entry->stored_len);
    uint8_t digest[NB_SHA256_LEN];
    enum nb_err err = nb_sha256(stored, stored_len, digest);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "frame %u: cannot hash", index);
    if (!nb_ct_equal(digest, entry->stored_sha256, NB_SHA256_LEN))
        return nb_diag_set(diag, NB_EHASH, "hash mismatch in frame %u (stored bytes)", index);
    return NB_OK;
}

/* nonce = 4 zero bytes || u64 LE index; aad = u64 LE index. The index in
 * both makes a frame moved to another place fail, though the signed table's
 * hashes already refuse that first. */
static void frame_nonce(uint32_t index, uint8_t nonce[NB_GCM_NONCE_LEN], uint8_t aad[8])
{
    memset(nonce, 0, NB_GCM_NONCE_LEN);
    nb_put_le64(nonce + 4, index);
    nb_put_le64(aad, index);
}

static enum nb_err decrypt_in_place(const struct nb_frame_ctx *ctx, uint32_t index, uint8_t *stored,
                                    size_t *len, struct nb_diag *diag)
{
    uint8_t nonce[NB_GCM_NONCE_LEN], aad[8];
    if (*len <= NB_GCM_TAG_LEN)
        return nb_diag_set(diag, NB_ETRUNCATED, "frame %u: shorter than its tag", index);
    size_t body = *len - NB_GCM_TAG_LEN;
    frame_nonce(index, nonce, aad);
    if (nb_aes256gcm_open(ctx->key, nonce, aad, sizeof aad, stored, body, stored + body, stored) !=
        NB_OK)
        return nb_diag_set(diag, NB_EDECRYPT, "frame %u does not decrypt", index);
    *len = body;
    return NB_OK;
}

static enum nb_err decode(struct nb_frame_ctx *ctx, uint32_t index, const uint8_t *body, size_t len,
                          uint8_t *out, size_t out_len, struct nb_diag *diag)
{
    if (ctx->compression == NB_COMPRESSION_NONE) {
        if (len != out_len)
            return nb_diag_set(diag, NB_EPARSE, "frame %u: %zu bytes for a %zu-byte window", index,
                               len, out_len);
        memcpy(out, body, len);
        return NB_OK;
    }
    enum nb_err err = nb_codec_decompress(ctx->codec, body, len, out, out_len);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "frame %u: zstd frame does not decode to its %zu bytes",
                           index, out_len);
    return NB_OK;
}

static enum nb_err open_checked(struct nb_frame_ctx *ctx, uint32_t index,
                                const struct nb_frame_entry *entry, uint8_t *stored,
                                size_t stored_len, uint8_t *out, struct nb_diag *diag)
{
    /* Signed hash first: the tag proves nothing about who made the frame. */
    enum nb_err err = nb_frame_check_stored(index, entry, stored, stored_len, diag);
    size_t body = stored_len;
    if (err == NB_OK && ctx->encrypted)
        err = decrypt_in_place(ctx, index, stored, &body, diag);
    if (err == NB_OK)
        err = decode(ctx, index, stored, body, out, entry->out_len, diag);
    uint8_t digest[NB_SHA256_LEN];
    if (err == NB_OK)
        err = nb_sha256(out, entry->out_len, digest);
    if (err == NB_OK && !nb_ct_equal(digest, entry->out_sha256, NB_SHA256_LEN))
        err = nb_diag_set(diag, NB_EHASH, "hash mismatch in frame %u (output)", index);
    return err;
}

enum nb_err nb_frame_open(struct nb_frame_ctx *ctx, uint32_t index,
                          const struct nb_frame_entry *entry, uint8_t *stored, size_t stored_len,
                          uint8_t *out, size_t out_cap, struct nb_diag *diag)
{
    if (entry->out_len == 0 || entry->out_len > ctx->frame_size)
        return nb_diag_set(diag, NB_ELENGTH, "frame %u: out_len %u not in 1..%u", index,
                           entry->out_len, ctx->frame_size);
    if (out_cap < entry->out_len)
        return nb_diag_set(diag, NB_ENOSPC, "frame %u: output buffer too small", index);
    if (ctx->encrypted && !ctx->have_key)
        return nb_diag_set(diag, NB_EINVAL, "frame %u: encrypted, and no content key", index);
    if (ctx->delta)
        return nb_diag_set(diag, NB_EUNSUPPORTED, "frame %u: delta frames are not supported yet",
                           index);
    enum nb_err err = open_checked(ctx, index, entry, stored, stored_len, out, diag);
    if (err != NB_OK) {
        /* Unverified plaintext must not linger for a caller to misuse. */
        nb_wipe(out, entry->out_len);
        if (ctx->encrypted && stored_len == entry->stored_len)
            nb_wipe(stored, stored_len);
    }
    return err;
}

enum nb_err nb_frame_seal(struct nb_frame_ctx *ctx, uint32_t index, uint64_t stored_off,
                          const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          struct nb_frame_entry *entry, struct nb_diag *diag)
{
    size_t tag = ctx->encrypted ? NB_GCM_TAG_LEN : 0, body = in_len;
    if (in_len == 0 || in_len > ctx->frame_size || (ctx->encrypted && !ctx->have_key))
        return nb_diag_set(diag, NB_EINVAL, "frame %u: bad window or no content key", index);
    if (out_cap < stored_max(ctx->frame_size, ctx->compression, ctx->encrypted))
        return nb_diag_set(diag, NB_ENOSPC, "frame %u: stored buffer too small", index);
    enum nb_err err = NB_OK;
    if (ctx->compression == NB_COMPRESSION_ZSTD)
        err = nb_codec_compress(ctx->codec, in, in_len, out, out_cap - tag, &body, ctx->level);
    else
        memcpy(out, in, in_len);
    uint8_t nonce[NB_GCM_NONCE_LEN], aad[8];
    frame_nonce(index, nonce, aad);
    if (err == NB_OK && ctx->encrypted)
        err = nb_aes256gcm_seal(ctx->key, nonce, aad, sizeof aad, out, body, out, out + body);
    struct nb_frame_entry e = {.stored_off = stored_off,
                               .stored_len = (uint32_t)(body + tag),
                               .out_len = (uint32_t)in_len};
    if (err == NB_OK)
        err = nb_sha256(out, body + tag, e.stored_sha256);
    if (err == NB_OK)
        err = nb_sha256(in, in_len, e.out_sha256);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "frame %u: cannot seal", index);
    *entry = e;
    return NB_OK;
}
