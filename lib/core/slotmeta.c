/* A slot's metadata region (slotmeta.h): the signed envelope and the frame
 * table of the image in the slot, for the bootloader's re-verification and
 * for resuming an install. One copy: it is only written while the slot is
 * INSTALLING (never bootable), and nothing read here is trusted: the reader
 * verifies the envelope's signature and the table's signed digest. */
#include <nobrick/crc.h>
#include <nobrick/dualrec.h>
#include <nobrick/encoding.h>
#include <nobrick/slotmeta.h>

#include <string.h>

#define MAGIC "NBMETA\0\0"
#define FORMAT 1u
#define M_FORMAT 8 /* u16, then u16 reserved */
#define M_ENV_LEN 12
#define M_TABLE_LEN 16
#define M_CRC 20

_Static_assert(M_CRC + 4 == NB_SLOTMETA_HEADER_LEN, "slot metadata header layout");

static void encode_header(uint8_t hdr[NB_SLOTMETA_HEADER_LEN], size_t env_len, size_t table_len)
{
    memset(hdr, 0, NB_SLOTMETA_HEADER_LEN);
    memcpy(hdr, MAGIC, 8);
    nb_put_le16(hdr + M_FORMAT, FORMAT);
    nb_put_le32(hdr + M_ENV_LEN, (uint32_t)env_len);
    nb_put_le32(hdr + M_TABLE_LEN, (uint32_t)table_len);
    nb_put_le32(hdr + M_CRC, nb_crc32(0, hdr, M_CRC));
}

enum nb_err nb_slotmeta_write(const struct nb_flash *flash, struct nb_region region,
                              const uint8_t *envelope, size_t envelope_len, const uint8_t *table,
                              size_t table_len, struct nb_diag *diag)
{
    uint8_t hdr[NB_SLOTMETA_HEADER_LEN];
    struct nb_flash_geometry g;
    nb_flash_geometry(flash, &g);
    /* Each part is under 4 GiB before the sum is taken: no wrap. */
    if (envelope_len > UINT32_MAX || table_len > UINT32_MAX ||
        (uint64_t)NB_SLOTMETA_HEADER_LEN + envelope_len + table_len > region.len)
        return nb_diag_set(diag, NB_ENOSPC,
                           "slot metadata: envelope (%zu bytes) and frame table (%zu bytes) "
                           "do not fit the %llu-byte metadata region",
                           envelope_len, table_len, (unsigned long long)region.len);
    uint64_t total = NB_SLOTMETA_HEADER_LEN + (uint64_t)envelope_len + table_len;
    uint64_t used = (total + g.erase_size - 1) / g.erase_size * g.erase_size;
    encode_header(hdr, envelope_len, table_len);
    const struct nb__span spans[] = {
        {hdr, sizeof hdr}, {envelope, envelope_len}, {table, table_len}};
    enum nb_err err = nb_flash_erase(flash, region.off, used);
    if (err == NB_OK)
        err = nb__flash_write_spans(flash, region.off, spans, 3);
    if (err == NB_OK)
        err = nb_flash_sync(flash);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "slot metadata: write failed");
    return NB_OK;
}

enum nb_err nb_slotmeta_matches(const struct nb_flash *flash, struct nb_region region,
                                const uint8_t *envelope, size_t envelope_len, const uint8_t *table,
                                size_t table_len, bool *equal)
{
    uint8_t hdr[NB_SLOTMETA_HEADER_LEN];
    *equal = false;
    if (envelope_len > UINT32_MAX || table_len > UINT32_MAX ||
        (uint64_t)NB_SLOTMETA_HEADER_LEN + envelope_len + table_len > region.len)
        return NB_OK;
    encode_header(hdr, envelope_len, table_len);
    const struct nb__span spans[] = {
        {hdr, sizeof hdr}, {envelope, envelope_len}, {table, table_len}};
    return nb__flash_equal_spans(flash, region.off, spans, 3, equal);
}

/* Header fields, checked: lengths within the region before any use. */
static enum nb_err read_header(const struct nb_flash *flash, struct nb_region region,
                               uint32_t *env_len, uint32_t *table_len, struct nb_diag *diag)
{
    uint8_t hdr[NB_SLOTMETA_HEADER_LEN];
    if (region.len < NB_SLOTMETA_HEADER_LEN)
        return nb_diag_set(diag, NB_EPARSE, "slot metadata: region too small");
    enum nb_err err = nb_flash_read(flash, region.off, hdr, sizeof hdr);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "slot metadata: read failed");
    if (memcmp(hdr, MAGIC, 8) != 0)
        return nb_diag_set(diag, NB_EPARSE, "slot metadata: no metadata (bad magic)");
    if (nb_le16(hdr + M_FORMAT) != FORMAT || nb_le16(hdr + M_FORMAT + 2) != 0)
        return nb_diag_set(diag, NB_EPARSE, "slot metadata: format %u not supported",
                           nb_le16(hdr + M_FORMAT));
    if (nb_le32(hdr + M_CRC) != nb_crc32(0, hdr, M_CRC))
        return nb_diag_set(diag, NB_EPARSE, "slot metadata: header CRC mismatch");
    *env_len = nb_le32(hdr + M_ENV_LEN);
    *table_len = nb_le32(hdr + M_TABLE_LEN);
    /* u32 + u32 + 24 cannot wrap a u64: a crafted length cannot make us
     * read past the region into the slot. */
    if ((uint64_t)NB_SLOTMETA_HEADER_LEN + *env_len + *table_len > region.len)
        return nb_diag_set(diag, NB_EPARSE, "slot metadata: lengths past the region");
    return NB_OK;
}

enum nb_err nb_slotmeta_read(const struct nb_flash *flash, struct nb_region region,
                             uint8_t *env_buf, size_t env_cap, size_t *env_len, uint8_t *table_buf,
                             size_t table_cap, size_t *table_len, struct nb_diag *diag)
{
    uint32_t elen = 0, tlen = 0;
    enum nb_err err = read_header(flash, region, &elen, &tlen, diag);
    if (err != NB_OK)
        return err;
    if (elen > env_cap || (table_buf != NULL && tlen > table_cap))
        return nb_diag_set(diag, NB_ELENGTH,
                           "slot metadata: envelope %u and table %u bytes, buffers %zu and %zu",
                           (unsigned)elen, (unsigned)tlen, env_cap, table_cap);
    uint64_t off = region.off + NB_SLOTMETA_HEADER_LEN;
    err = nb_flash_read(flash, off, env_buf, elen);
    if (err == NB_OK && table_buf != NULL)
        err = nb_flash_read(flash, off + elen, table_buf, tlen);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "slot metadata: read failed");
    *env_len = elen;
    if (table_len != NULL)
        *table_len = tlen;
    return NB_OK;
}
