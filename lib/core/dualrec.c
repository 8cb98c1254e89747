/* The two-copy record store (dualrec.h): one implementation of "two copies,
 * each with a sequence number and a CRC; the newer valid copy wins" for
 * boot control, the journal and the trust store. A store only ever writes
 * the copy that did not win the last load, and trusts it only once it reads
 * back exactly as written, so a power cut (even one tearing the erase or
 * the program) always leaves the previous record readable. */
#include <nobrick/bootctl.h>
#include <nobrick/crc.h>
#include <nobrick/dualrec.h>
#include <nobrick/encoding.h>

#include <string.h>

#define FORMAT 1u
#define H_MAGIC 0
#define H_FORMAT 4 /* u16, then u16 reserved */
#define H_SEQ 8
#define H_LEN 12
#define HDR_LEN 16
#define CRC_LEN 4
#define CHUNK 256 /* reads while checking a copy */

_Static_assert(HDR_LEN + CRC_LEN == NB_DUALREC_OVERHEAD, "copy overhead");

/* --- spans through a staging buffer ---------------------------------------------- */

/* Copies bytes [pos, pos + len) of the spans' concatenation into out;
 * returns how many there were (fewer at the end). */
static size_t gather(const struct nb__span *spans, size_t n, uint64_t pos, uint8_t *out, size_t len)
{
    size_t done = 0;
    for (size_t i = 0; i < n && done < len; i++) {
        if (pos >= spans[i].len) {
            pos -= spans[i].len;
            continue;
        }
        size_t take = spans[i].len - (size_t)pos;
        if (take > len - done)
            take = len - done;
        memcpy(out + done, spans[i].p + pos, take);
        done += take;
        pos = 0;
    }
    return done;
}

static uint64_t spans_len(const struct nb__span *spans, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += spans[i].len;
    return total;
}

enum nb_err nb__flash_write_spans(const struct nb_flash *f, uint64_t off,
                                  const struct nb__span *spans, size_t n)
{
    uint8_t stage[NB_DUALREC_STAGE_LEN];
    struct nb_flash_geometry g;
    nb_flash_geometry(f, &g);
    if (g.write_size == 0 || g.write_size > sizeof stage)
        return NB_EINVAL;
    uint64_t total = spans_len(spans, n);
    for (uint64_t pos = 0; pos < total; pos += sizeof stage) {
        size_t got = gather(spans, n, pos, stage, sizeof stage);
        size_t padded = (got + g.write_size - 1) / g.write_size * g.write_size;
        memset(stage + got, g.erased_val, padded - got);
        enum nb_err err = nb_flash_program(f, off + pos, stage, padded);
        if (err != NB_OK)
            return err;
    }
    return NB_OK;
}

enum nb_err nb__flash_equal_spans(const struct nb_flash *f, uint64_t off,
                                  const struct nb__span *spans, size_t n, bool *equal)
{
    uint8_t want[CHUNK], have[CHUNK];
    uint64_t total = spans_len(spans, n);
    *equal = false;
    for (uint64_t pos = 0; pos < total; pos += CHUNK) {
        size_t got = gather(spans, n, pos, want, CHUNK);
        enum nb_err err = nb_flash_read(f, off + pos, have, got);
        if (err != NB_OK)
            return err;
        if (memcmp(want, have, got) != 0)
            return NB_OK;
    }
    *equal = true;
    return NB_OK;
}

/* --- the store --------------------------------------------------------------------- */

enum nb_err nb_dualrec_init(struct nb_dualrec *dr, const struct nb_flash *flash,
                            struct nb_region copy0, struct nb_region copy1, uint32_t magic)
{
    struct nb_flash_geometry g;
    nb_flash_geometry(flash, &g);
    if (!nb_region_valid(&copy0, &g) || !nb_region_valid(&copy1, &g) ||
        nb_region_overlap(&copy0, &copy1) || g.write_size > NB_DUALREC_STAGE_LEN ||
        copy0.len <= NB_DUALREC_OVERHEAD || copy1.len <= NB_DUALREC_OVERHEAD)
        return NB_EINVAL;
    dr->flash = *flash;
    dr->copy[0] = copy0;
    dr->copy[1] = copy1;
    dr->magic = magic;
    dr->current = -1;
    dr->seq = 0;
    return NB_OK;
}

uint64_t nb_dualrec_capacity(const struct nb_dualrec *dr)
{
    uint64_t len = dr->copy[0].len < dr->copy[1].len ? dr->copy[0].len : dr->copy[1].len;
    uint64_t cap = len - NB_DUALREC_OVERHEAD;
    return cap > UINT32_MAX ? UINT32_MAX : cap;
}

/* What one copy holds, once its CRC checked out. */
struct copy_info {
    bool ok;
    uint32_t seq;
    uint32_t len;
};

/* Checks copy i by streaming its payload through the CRC in small reads:
 * the payload length is checked against the copy's capacity before any
 * byte of it is read (a corrupt length cannot make us read a neighbour). */
static enum nb_err check_copy(struct nb_dualrec *dr, int i, struct copy_info *info,
                              struct nb_diag *why)
{
    uint8_t hdr[HDR_LEN], chunk[CHUNK];
    uint64_t off = dr->copy[i].off;
    info->ok = false;
    enum nb_err err = nb_flash_read(&dr->flash, off, hdr, sizeof hdr);
    if (err != NB_OK)
        return err;
    uint32_t len = nb_le32(hdr + H_LEN);
    if (nb_le32(hdr + H_MAGIC) != dr->magic) {
        nb_diag_set(why, NB_OK, "bad magic");
        return NB_OK;
    }
    if (nb_le16(hdr + H_FORMAT) != FORMAT || nb_le16(hdr + H_FORMAT + 2) != 0) {
        nb_diag_set(why, NB_OK, "format %u not supported", nb_le16(hdr + H_FORMAT));
        return NB_OK;
    }
    if (len > nb_dualrec_capacity(dr)) {
        nb_diag_set(why, NB_OK, "length %u past the copy", (unsigned)len);
        return NB_OK;
    }
    uint32_t crc = nb_crc32(0, hdr, sizeof hdr);
    for (uint32_t pos = 0; pos < len; pos += CHUNK) {
        size_t n = len - pos < CHUNK ? len - pos : CHUNK;
        if ((err = nb_flash_read(&dr->flash, off + HDR_LEN + pos, chunk, n)) != NB_OK)
            return err;
        crc = nb_crc32(crc, chunk, n);
    }
    if ((err = nb_flash_read(&dr->flash, off + HDR_LEN + len, chunk, CRC_LEN)) != NB_OK)
        return err;
    if (nb_le32(chunk) != crc) {
        nb_diag_set(why, NB_OK, "CRC mismatch");
        return NB_OK;
    }
    *info = (struct copy_info){.ok = true, .seq = nb_le32(hdr + H_SEQ), .len = len};
    return NB_OK;
}

/* Reads the winner's payload into buf and checks its CRC once more: the
 * bytes handed out are the bytes that were checked. */
static enum nb_err read_payload(struct nb_dualrec *dr, int i, const struct copy_info *info,
                                uint8_t *buf, struct nb_diag *diag)
{
    uint8_t hdr[HDR_LEN], tail[CRC_LEN];
    uint64_t off = dr->copy[i].off;
    enum nb_err err = nb_flash_read(&dr->flash, off, hdr, sizeof hdr);
    if (err == NB_OK)
        err = nb_flash_read(&dr->flash, off + HDR_LEN, buf, info->len);
    if (err == NB_OK)
        err = nb_flash_read(&dr->flash, off + HDR_LEN + info->len, tail, sizeof tail);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "record: reading copy %d failed", i);
    if (nb_le32(tail) != nb_crc32(nb_crc32(0, hdr, sizeof hdr), buf, info->len))
        return nb_diag_set(diag, NB_EIO, "record: copy %d changed while it was read", i);
    return NB_OK;
}

enum nb_err nb_dualrec_load(struct nb_dualrec *dr, uint8_t *buf, size_t cap, size_t *len,
                            struct nb_diag *diag)
{
    struct copy_info info[2];
    struct nb_diag why[2];
    for (int i = 0; i < 2; i++) {
        nb_diag_clear(&why[i]);
        enum nb_err err = check_copy(dr, i, &info[i], &why[i]);
        if (err != NB_OK)
            return nb_diag_set(diag, err, "record: reading copy %d failed", i);
    }
    if (!info[0].ok && !info[1].ok)
        return nb_diag_set(diag, NB_EPARSE, "record: no valid copy (0: %s; 1: %s)", why[0].msg,
                           why[1].msg);
    /* Equal sequence numbers cannot come from a store; copy 0 wins so the
     * choice is at least deterministic. */
    int win =
        !info[1].ok || (info[0].ok && !nb_bootctl_seq_newer(info[1].seq, info[0].seq)) ? 0 : 1;
    /* The winner is current even when it does not fit buf: a store may
     * still replace it. */
    dr->current = win;
    dr->seq = info[win].seq;
    if (info[win].len > cap)
        return nb_diag_set(diag, NB_ELENGTH, "record: %u bytes, the buffer holds %zu",
                           (unsigned)info[win].len, cap);
    enum nb_err err = read_payload(dr, win, &info[win], buf, diag);
    if (err != NB_OK)
        return err;
    *len = info[win].len;
    return NB_OK;
}

/* Erases copy i, programs the record into it, syncs and reads it back: a
 * copy is only trusted as current once it reads back exactly as encoded. */
static enum nb_err write_copy(struct nb_dualrec *dr, int i, uint32_t seq, const uint8_t *payload,
                              size_t len)
{
    uint8_t hdr[HDR_LEN], tail[CRC_LEN];
    struct nb_flash_geometry g;
    nb_flash_geometry(&dr->flash, &g);
    memset(hdr, 0, sizeof hdr);
    nb_put_le32(hdr + H_MAGIC, dr->magic);
    nb_put_le16(hdr + H_FORMAT, FORMAT);
    nb_put_le32(hdr + H_SEQ, seq);
    nb_put_le32(hdr + H_LEN, (uint32_t)len);
    nb_put_le32(tail, nb_crc32(nb_crc32(0, hdr, sizeof hdr), payload, len));
    const struct nb__span spans[] = {{hdr, sizeof hdr}, {payload, len}, {tail, sizeof tail}};
    /* Only the sectors the record needs: less wear for small records. */
    uint64_t used = (HDR_LEN + len + CRC_LEN + g.erase_size - 1) / g.erase_size * g.erase_size;
    bool equal = false;
    enum nb_err err = nb_flash_erase(&dr->flash, dr->copy[i].off, used);
    if (err == NB_OK)
        err = nb__flash_write_spans(&dr->flash, dr->copy[i].off, spans, 3);
    if (err == NB_OK)
        err = nb_flash_sync(&dr->flash);
    if (err == NB_OK)
        err = nb__flash_equal_spans(&dr->flash, dr->copy[i].off, spans, 3, &equal);
    if (err == NB_OK && !equal)
        err = NB_EIO;
    return err;
}

enum nb_err nb_dualrec_store(struct nb_dualrec *dr, const uint8_t *payload, size_t len)
{
    if (dr->current < 0 || dr->current > 1)
        return NB_EINVAL;
    if (len > nb_dualrec_capacity(dr))
        return NB_ELENGTH;
    uint32_t seq = dr->seq + 1; /* wraps: nb_bootctl_seq_newer handles it */
    int target = 1 - dr->current;
    enum nb_err err = write_copy(dr, target, seq, payload, len);
    if (err != NB_OK)
        return err;
    dr->current = target;
    dr->seq = seq;
    return NB_OK;
}

/* Makes copy i invalid. On media without erase (a file), erase leaves the
 * old bytes, so the header is overwritten with the erased value instead: a
 * stale copy with a high sequence number would otherwise win over the new
 * provisioning. */
static enum nb_err wipe_copy(struct nb_dualrec *dr, int i)
{
    struct nb_flash_geometry g;
    nb_flash_geometry(&dr->flash, &g);
    enum nb_err err = nb_flash_erase(&dr->flash, dr->copy[i].off, g.erase_size);
    if (err != NB_OK || g.needs_erase)
        return err;
    uint8_t blank[HDR_LEN];
    memset(blank, g.erased_val, sizeof blank);
    const struct nb__span span = {blank, sizeof blank};
    return nb__flash_write_spans(&dr->flash, dr->copy[i].off, &span, 1);
}

enum nb_err nb_dualrec_provision(struct nb_dualrec *dr, const uint8_t *payload, size_t len)
{
    if (len > nb_dualrec_capacity(dr))
        return NB_ELENGTH;
    dr->current = -1;
    enum nb_err err = wipe_copy(dr, 1);
    if (err == NB_OK)
        err = write_copy(dr, 0, 1, payload, len);
    if (err != NB_OK)
        return err;
    dr->current = 0;
    dr->seq = 1;
    return NB_OK;
}
