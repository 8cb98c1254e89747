/* The .nbb bundle header (include/nobrick/bundle.h). The header is the one
 * unsigned part of a bundle, so it only says where the signed parts are:
 * every length is capped before it is added (RAUC CVE-2026-34155, MCUboot
 * TLV it_len) and the file must end exactly where the lengths say. */
#include <nobrick/bundle.h>
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>
#include <nobrick/frames.h>

#include <stddef.h>
#include <string.h>

struct header_wire {
    uint8_t magic[8];
    uint8_t version[2];
    uint8_t flags[2];
    uint8_t envelope_len[4];
    uint8_t table_len[4];
    uint8_t frames_len[8];
    uint8_t reserved[4];
};
_Static_assert(sizeof(struct header_wire) == NB_BUNDLE_HEADER_LEN, "bundle header is 32 bytes");
_Static_assert(NB_ENVELOPE_MAX <= UINT32_MAX, "an envelope length fits u32");

#define OFF(f) offsetof(struct header_wire, f)

/* Version, flags and reserved bytes: a reader must not half-understand a
 * newer format, so anything it does not know is refused. */
static enum nb_err check_fixed(const uint8_t *h, struct nb_diag *diag)
{
    if (memcmp(h + OFF(magic), NB_BUNDLE_MAGIC, 8) != 0)
        return nb_diag_set(diag, NB_EPARSE, "not a nobrick bundle (bad magic)");
    uint16_t version = nb_le16(h + OFF(version));
    if (version != NB_BUNDLE_VERSION)
        return nb_diag_set(diag, NB_EPARSE,
                           "bundle format version %u is not supported (this "
                           "reader knows %d)",
                           version, NB_BUNDLE_VERSION);
    if (nb_le16(h + OFF(flags)) != 0)
        return nb_diag_set(diag, NB_EPARSE, "bundle header: unknown flags 0x%04x",
                           nb_le16(h + OFF(flags)));
    if (nb_le32(h + OFF(reserved)) != 0)
        return nb_diag_set(diag, NB_EPARSE, "bundle header: reserved bytes are not zero");
    return NB_OK;
}

/* Each length within its cap, so their sum cannot wrap (SECURITY.md 33). */
static enum nb_err check_lengths(const struct nb_bundle_header *h, struct nb_diag *diag)
{
    if (h->envelope_len == 0 || h->envelope_len > NB_ENVELOPE_MAX)
        return nb_diag_set(diag, h->envelope_len == 0 ? NB_EPARSE : NB_ELENGTH,
                           "bundle header: envelope length %u not in 1..%d", h->envelope_len,
                           NB_ENVELOPE_MAX);
    if (h->table_len < nb_frame_table_len(1) || h->table_len > NB_FRAME_TABLE_MAX)
        return nb_diag_set(diag, NB_ELENGTH,
                           "bundle header: frame table length %u not in %llu..%llu", h->table_len,
                           (unsigned long long)nb_frame_table_len(1),
                           (unsigned long long)NB_FRAME_TABLE_MAX);
    if ((h->table_len - NB_FRAME_TABLE_HEADER_LEN) % NB_FRAME_ENTRY_LEN != 0)
        return nb_diag_set(diag, NB_EPARSE,
                           "bundle header: frame table length %u is not a whole number of entries",
                           h->table_len);
    if (h->frames_len == 0 || h->frames_len > NB_BUNDLE_FRAMES_MAX)
        return nb_diag_set(diag, h->frames_len == 0 ? NB_EPARSE : NB_ELENGTH,
                           "bundle header: frames length %llu not in 1..%llu",
                           (unsigned long long)h->frames_len,
                           (unsigned long long)NB_BUNDLE_FRAMES_MAX);
    return NB_OK;
}

enum nb_err nb_bundle_header_parse(const uint8_t hdr[NB_BUNDLE_HEADER_LEN], uint64_t file_len,
                                   struct nb_bundle_header *out, struct nb_diag *diag)
{
    enum nb_err err = check_fixed(hdr, diag);
    if (err != NB_OK)
        return err;
    struct nb_bundle_header h = {
        .version = nb_le16(hdr + OFF(version)),
        .flags = nb_le16(hdr + OFF(flags)),
        .envelope_len = nb_le32(hdr + OFF(envelope_len)),
        .table_len = nb_le32(hdr + OFF(table_len)),
        .frames_len = nb_le64(hdr + OFF(frames_len)),
    };
    err = check_lengths(&h, diag);
    if (err != NB_OK)
        return err;
    h.envelope_off = NB_BUNDLE_HEADER_LEN;
    h.table_off = h.envelope_off + h.envelope_len;
    h.frames_off = h.table_off + h.table_len;
    h.total_len = h.frames_off + h.frames_len; /* < 2^42: the caps above */
    if (file_len < h.total_len)
        return nb_diag_set(diag, NB_ETRUNCATED,
                           "bundle ends early: %llu bytes, the header says %llu",
                           (unsigned long long)file_len, (unsigned long long)h.total_len);
    /* Trailing bytes would be covered by no signature (RAUC CVE-2026-34155). */
    if (file_len > h.total_len)
        return nb_diag_set(
            diag, NB_ETRUNCATED,
            "%llu bytes after the end of the bundle (the header says %llu bytes); no "
            "signature covers them",
            (unsigned long long)(file_len - h.total_len), (unsigned long long)h.total_len);
    *out = h;
    return NB_OK;
}

void nb_bundle_header_write(uint32_t envelope_len, uint32_t table_len, uint64_t frames_len,
                            uint8_t out[NB_BUNDLE_HEADER_LEN])
{
    memset(out, 0, NB_BUNDLE_HEADER_LEN);
    memcpy(out + OFF(magic), NB_BUNDLE_MAGIC, 8);
    nb_put_le16(out + OFF(version), NB_BUNDLE_VERSION);
    nb_put_le32(out + OFF(envelope_len), envelope_len);
    nb_put_le32(out + OFF(table_len), table_len);
    nb_put_le64(out + OFF(frames_len), frames_len);
}
