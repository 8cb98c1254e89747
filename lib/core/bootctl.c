/* Boot control: the slot state machine as pure functions on a record, and
 * the record's two-copy store on the flash HAL (ESP-IDF otadata style). The
 * store never writes the copy that won the last load, so a power cut at any
 * point, even one tearing a program or an erase, leaves a valid copy holding
 * either the state before the store or the state after it. */
#include <nobrick/bootctl.h>
#include <nobrick/crc.h>
#include <nobrick/encoding.h>

#include <string.h>

/* One copy, little-endian. Offsets are part of the on-flash format. */
#define MAGIC 0x4342424Eu /* "NBBC" */
#define FORMAT 1u
#define H_MAGIC 0
#define H_FORMAT 4   /* u16 */
#define H_FLAGS 6    /* u8: bit 0 = has gold */
#define H_PRIMARY 7  /* u8 */
#define H_SEQ 8      /* u32 */
#define H_LEN 12     /* u32: NB_BOOTCTL_RECORD_LEN */
#define H_MIN_SC 16  /* u64 */
#define HDR_LEN 32   /* bytes 24..31 reserved, zero */
#define S_STATE 0    /* u8 */
#define S_TRIES 1    /* u8; bytes 2..7 reserved, zero */
#define S_SC 8       /* u64 */
#define S_SIZE 16    /* u64 */
#define S_SHA 24     /* 32 bytes */
#define S_VERSION 56 /* 64 bytes, NUL-terminated, NUL-padded */
#define SLOT_LEN 120
#define FLAG_GOLD 0x01u
#define SLOTS_END (HDR_LEN + NB_BOOTCTL_SLOTS * SLOT_LEN)
#define CRC_OFF (NB_BOOTCTL_RECORD_LEN - 4) /* bytes SLOTS_END..CRC_OFF reserved */

_Static_assert(S_VERSION + NB_BOOTCTL_VERSION_MAX + 1 == SLOT_LEN, "slot entry layout");
_Static_assert(SLOTS_END <= CRC_OFF, "slot entries overlap the CRC");
_Static_assert(NB_BOOTCTL_RECORD_LEN == 512, "the record size is part of the format");
_Static_assert(NB_BOOTCTL_MAX_TRIES <= UINT8_MAX, "tries are stored in one byte");

/* --- the record -------------------------------------------------------------- */

void nb_bootctl_init(struct nb_bootctl *rec, bool has_gold)
{
    memset(rec, 0, sizeof *rec);
    rec->has_gold = has_gold;
    rec->primary = NB_BOOTCTL_NONE;
}

/* strnlen is POSIX, not C11. */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0')
        n++;
    return n;
}

static bool valid_id(const struct nb_bootctl *rec, enum nb_bootctl_slot_id id)
{
    return (unsigned)id < NB_BOOTCTL_SLOTS && (id != NB_BOOTCTL_GOLD || rec->has_gold);
}

/* Printable ASCII, NUL within the buffer, zeros after it (one encoding per
 * record, so nb_bootctl_equal can trust the bytes). */
static bool version_ok(const char v[NB_BOOTCTL_VERSION_MAX + 1])
{
    size_t n = bounded_len(v, NB_BOOTCTL_VERSION_MAX + 1);
    if (n > NB_BOOTCTL_VERSION_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x20 || v[i] > 0x7E)
            return false;
    for (size_t i = n; i <= NB_BOOTCTL_VERSION_MAX; i++)
        if (v[i] != '\0')
            return false;
    return true;
}

static bool slot_empty_fields(const struct nb_bootctl_slot *s)
{
    static const uint8_t zero_sha[32];
    return s->tries_left == 0 && s->security_counter == 0 && s->image_size == 0 &&
           memcmp(s->sha256, zero_sha, 32) == 0 && s->version[0] == '\0';
}

static enum nb_err check_slot(const struct nb_bootctl_slot *s, unsigned i, struct nb_diag *diag)
{
    if ((unsigned)s->state > NB_BOOTCTL_BAD)
        return nb_diag_set(diag, NB_EPARSE, "boot control: slot %u: unknown state %u", i,
                           (unsigned)s->state);
    if (s->tries_left > NB_BOOTCTL_MAX_TRIES ||
        (s->state != NB_BOOTCTL_TRIAL && s->tries_left != 0))
        return nb_diag_set(diag, NB_EPARSE, "boot control: slot %u: %u tries in state %u", i,
                           s->tries_left, (unsigned)s->state);
    if (!version_ok(s->version))
        return nb_diag_set(diag, NB_EPARSE, "boot control: slot %u: bad version string", i);
    if (s->state == NB_BOOTCTL_EMPTY && !slot_empty_fields(s))
        return nb_diag_set(diag, NB_EPARSE, "boot control: slot %u: empty but has fields", i);
    return NB_OK;
}

enum nb_err nb_bootctl_check(const struct nb_bootctl *rec, struct nb_diag *diag)
{
    unsigned trials = 0;
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++) {
        enum nb_err err = check_slot(&rec->slot[i], i, diag);
        if (err != NB_OK)
            return err;
        trials += rec->slot[i].state == NB_BOOTCTL_TRIAL;
    }
    if (!rec->has_gold && rec->slot[NB_BOOTCTL_GOLD].state != NB_BOOTCTL_EMPTY)
        return nb_diag_set(diag, NB_EPARSE, "boot control: gold slot used but not configured");
    if (trials > 1)
        return nb_diag_set(diag, NB_EPARSE, "boot control: %u slots in trial", trials);
    if (rec->primary != NB_BOOTCTL_NONE &&
        (rec->primary >= NB_BOOTCTL_SLOTS || rec->slot[rec->primary].state != NB_BOOTCTL_GOOD))
        return nb_diag_set(diag, NB_EPARSE, "boot control: primary %u is not a good slot",
                           rec->primary);
    return NB_OK;
}

static bool slot_equal(const struct nb_bootctl_slot *a, const struct nb_bootctl_slot *b)
{
    return a->state == b->state && a->tries_left == b->tries_left &&
           a->security_counter == b->security_counter && a->image_size == b->image_size &&
           memcmp(a->sha256, b->sha256, 32) == 0 &&
           memcmp(a->version, b->version, sizeof a->version) == 0;
}

bool nb_bootctl_equal(const struct nb_bootctl *a, const struct nb_bootctl *b)
{
    if (a->has_gold != b->has_gold || a->primary != b->primary ||
        a->min_security_counter != b->min_security_counter)
        return false;
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++)
        if (!slot_equal(&a->slot[i], &b->slot[i]))
            return false;
    return true;
}

enum nb_err nb_bootctl_mark_installing(struct nb_bootctl *rec, enum nb_bootctl_slot_id id)
{
    if (!valid_id(rec, id) || rec->primary == (uint8_t)id)
        return NB_EINVAL;
    if (id == NB_BOOTCTL_GOLD && rec->slot[id].state != NB_BOOTCTL_EMPTY)
        return NB_EINVAL;
    memset(&rec->slot[id], 0, sizeof rec->slot[id]);
    rec->slot[id].state = NB_BOOTCTL_INSTALLING;
    return NB_OK;
}

enum nb_err nb_bootctl_mark_ready(struct nb_bootctl *rec, enum nb_bootctl_slot_id id,
                                  const char *version, uint64_t security_counter,
                                  uint64_t image_size, const uint8_t sha256[32])
{
    if (!valid_id(rec, id) || rec->slot[id].state != NB_BOOTCTL_INSTALLING)
        return NB_EINVAL;
    size_t n = bounded_len(version, NB_BOOTCTL_VERSION_MAX + 1);
    if (n > NB_BOOTCTL_VERSION_MAX)
        return NB_ELENGTH;
    for (size_t i = 0; i < n; i++)
        if (version[i] < 0x20 || version[i] > 0x7E)
            return NB_EINVAL;
    if (security_counter < rec->min_security_counter)
        return NB_EROLLBACK;
    struct nb_bootctl_slot *s = &rec->slot[id];
    memset(s->version, 0, sizeof s->version);
    memcpy(s->version, version, n);
    s->security_counter = security_counter;
    s->image_size = image_size;
    memcpy(s->sha256, sha256, 32);
    s->state = NB_BOOTCTL_READY;
    return NB_OK;
}

enum nb_err nb_bootctl_mark_trial(struct nb_bootctl *rec, enum nb_bootctl_slot_id id, uint8_t tries)
{
    if (!valid_id(rec, id) || rec->slot[id].state != NB_BOOTCTL_READY)
        return NB_EINVAL;
    if (tries == 0 || tries > NB_BOOTCTL_MAX_TRIES)
        return NB_EINVAL;
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++)
        if (rec->slot[i].state == NB_BOOTCTL_TRIAL)
            return NB_EINVAL;
    if (rec->slot[id].security_counter < rec->min_security_counter)
        return NB_EROLLBACK;
    rec->slot[id].state = NB_BOOTCTL_TRIAL;
    rec->slot[id].tries_left = tries;
    return NB_OK;
}

enum nb_err nb_bootctl_consume_try(struct nb_bootctl *rec, enum nb_bootctl_slot_id id)
{
    if (!valid_id(rec, id) || rec->slot[id].state != NB_BOOTCTL_TRIAL ||
        rec->slot[id].tries_left == 0)
        return NB_EINVAL;
    rec->slot[id].tries_left--;
    return NB_OK;
}

enum nb_err nb_bootctl_mark_good(struct nb_bootctl *rec, enum nb_bootctl_slot_id id)
{
    if (!valid_id(rec, id))
        return NB_EINVAL;
    struct nb_bootctl_slot *s = &rec->slot[id];
    /* A repeated commit (the agent cannot know whether its first store
     * survived a power cut) changes nothing. */
    if (s->state == NB_BOOTCTL_GOOD &&
        (rec->primary == (uint8_t)id || (id == NB_BOOTCTL_GOLD && rec->primary != NB_BOOTCTL_NONE)))
        return NB_OK;
    if (s->state != NB_BOOTCTL_TRIAL)
        return NB_EINVAL;
    if (s->security_counter < rec->min_security_counter)
        return NB_EROLLBACK;
    s->state = NB_BOOTCTL_GOOD;
    s->tries_left = 0;
    if (id != NB_BOOTCTL_GOLD || rec->primary == NB_BOOTCTL_NONE)
        rec->primary = (uint8_t)id;
    /* The only place the minimum moves, and only up: once an image with
     * counter n is committed, nothing below n boots again. */
    if (s->security_counter > rec->min_security_counter)
        rec->min_security_counter = s->security_counter;
    return NB_OK;
}

/* The good slot to fall back to when the primary goes bad. */
static uint8_t fallback(const struct nb_bootctl *rec, enum nb_bootctl_slot_id bad)
{
    static const enum nb_bootctl_slot_id order[] = {NB_BOOTCTL_A, NB_BOOTCTL_B, NB_BOOTCTL_GOLD};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (order[i] != bad && rec->slot[order[i]].state == NB_BOOTCTL_GOOD)
            return (uint8_t)order[i];
    return NB_BOOTCTL_NONE;
}

enum nb_err nb_bootctl_mark_bad(struct nb_bootctl *rec, enum nb_bootctl_slot_id id)
{
    if (!valid_id(rec, id) || rec->slot[id].state == NB_BOOTCTL_EMPTY)
        return NB_EINVAL;
    rec->slot[id].state = NB_BOOTCTL_BAD;
    rec->slot[id].tries_left = 0;
    if (rec->primary == (uint8_t)id)
        rec->primary = fallback(rec, id);
    return NB_OK;
}

/* --- the codec ------------------------------------------------------------------ */

bool nb_bootctl_seq_newer(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(a - b) < 0x80000000u;
}

static void encode_slot(const struct nb_bootctl_slot *s, uint8_t *p)
{
    p[S_STATE] = (uint8_t)s->state;
    p[S_TRIES] = s->tries_left;
    nb_put_le64(p + S_SC, s->security_counter);
    nb_put_le64(p + S_SIZE, s->image_size);
    memcpy(p + S_SHA, s->sha256, 32);
    memcpy(p + S_VERSION, s->version, NB_BOOTCTL_VERSION_MAX + 1);
}

enum nb_err nb_bootctl_encode(const struct nb_bootctl *rec, uint32_t seq,
                              uint8_t out[NB_BOOTCTL_RECORD_LEN])
{
    if (nb_bootctl_check(rec, NULL) != NB_OK)
        return NB_EINVAL;
    memset(out, 0, NB_BOOTCTL_RECORD_LEN);
    nb_put_le32(out + H_MAGIC, MAGIC);
    nb_put_le16(out + H_FORMAT, FORMAT);
    out[H_FLAGS] = rec->has_gold ? FLAG_GOLD : 0;
    out[H_PRIMARY] = rec->primary;
    nb_put_le32(out + H_SEQ, seq);
    nb_put_le32(out + H_LEN, NB_BOOTCTL_RECORD_LEN);
    nb_put_le64(out + H_MIN_SC, rec->min_security_counter);
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++)
        encode_slot(&rec->slot[i], out + HDR_LEN + i * SLOT_LEN);
    nb_put_le32(out + CRC_OFF, nb_crc32(0, out, CRC_OFF));
    return NB_OK;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* The CRC already rules out torn and rotten copies; these checks keep one
 * encoding per record and refuse a copy written by a newer, incompatible
 * format that happens to reuse the version number. */
static enum nb_err decode_header(const uint8_t *in, struct nb_bootctl *rec, struct nb_diag *diag)
{
    if (nb_le32(in + H_MAGIC) != MAGIC)
        return nb_diag_set(diag, NB_EPARSE, "boot control: bad magic");
    if (nb_le16(in + H_FORMAT) != FORMAT || nb_le32(in + H_LEN) != NB_BOOTCTL_RECORD_LEN)
        return nb_diag_set(diag, NB_EPARSE, "boot control: format %u, length %u not supported",
                           nb_le16(in + H_FORMAT), (unsigned)nb_le32(in + H_LEN));
    if (nb_le32(in + CRC_OFF) != nb_crc32(0, in, CRC_OFF))
        return nb_diag_set(diag, NB_EPARSE, "boot control: CRC mismatch");
    if ((in[H_FLAGS] & ~FLAG_GOLD) != 0 || !all_zero(in + 24, HDR_LEN - 24) ||
        !all_zero(in + SLOTS_END, CRC_OFF - SLOTS_END))
        return nb_diag_set(diag, NB_EPARSE, "boot control: reserved bits set");
    rec->has_gold = (in[H_FLAGS] & FLAG_GOLD) != 0;
    rec->primary = in[H_PRIMARY];
    rec->min_security_counter = nb_le64(in + H_MIN_SC);
    return NB_OK;
}

static enum nb_err decode_slot(const uint8_t *p, struct nb_bootctl_slot *s, unsigned i,
                               struct nb_diag *diag)
{
    if (!all_zero(p + S_TRIES + 1, S_SC - S_TRIES - 1))
        return nb_diag_set(diag, NB_EPARSE, "boot control: slot %u: reserved bits set", i);
    /* The raw byte is range-checked by nb_bootctl_check; storing an
     * out-of-range value in the enum first would be undefined behaviour. */
    if (p[S_STATE] > NB_BOOTCTL_BAD)
        return nb_diag_set(diag, NB_EPARSE, "boot control: slot %u: unknown state %u", i,
                           p[S_STATE]);
    s->state = (enum nb_bootctl_state)p[S_STATE];
    s->tries_left = p[S_TRIES];
    s->security_counter = nb_le64(p + S_SC);
    s->image_size = nb_le64(p + S_SIZE);
    memcpy(s->sha256, p + S_SHA, 32);
    memcpy(s->version, p + S_VERSION, NB_BOOTCTL_VERSION_MAX + 1);
    return NB_OK;
}

enum nb_err nb_bootctl_decode(const uint8_t in[NB_BOOTCTL_RECORD_LEN], struct nb_bootctl *out,
                              uint32_t *seq, struct nb_diag *diag)
{
    struct nb_bootctl rec;
    memset(&rec, 0, sizeof rec);
    enum nb_err err = decode_header(in, &rec, diag);
    for (unsigned i = 0; err == NB_OK && i < NB_BOOTCTL_SLOTS; i++)
        err = decode_slot(in + HDR_LEN + i * SLOT_LEN, &rec.slot[i], i, diag);
    if (err == NB_OK)
        err = nb_bootctl_check(&rec, diag);
    if (err != NB_OK)
        return err;
    *out = rec;
    *seq = nb_le32(in + H_SEQ);
    return NB_OK;
}

/* --- the store on flash -----------------------------------------------------------
 * The two-copy scheme is dualrec.c's; this part only encodes and decodes.
 * The record keeps its own magic, sequence and CRC (its codec is also used
 * by other boot-control backends); the sequence inside mirrors dualrec's. */

static void sync_copy(struct nb_bootctl_flash *bf)
{
    bf->current = bf->dr.current;
    bf->seq = bf->dr.seq;
}

enum nb_err nb_bootctl_flash_init(struct nb_bootctl_flash *bf, const struct nb_flash *flash,
                                  struct nb_region copy0, struct nb_region copy1)
{
    enum nb_err err = nb_dualrec_init(&bf->dr, flash, copy0, copy1, MAGIC);
    if (err != NB_OK)
        return err;
    if (nb_dualrec_capacity(&bf->dr) < NB_BOOTCTL_RECORD_LEN)
        return NB_EINVAL;
    sync_copy(bf);
    return NB_OK;
}

enum nb_err nb_bootctl_load(struct nb_bootctl_flash *bf, struct nb_bootctl *out,
                            struct nb_diag *diag)
{
    uint8_t buf[NB_BOOTCTL_RECORD_LEN];
    struct nb_bootctl rec;
    size_t len = 0;
    uint32_t seq = 0;
    enum nb_err err = nb_dualrec_load(&bf->dr, buf, sizeof buf, &len, diag);
    sync_copy(bf);
    if (err == NB_ELENGTH || (err == NB_OK && len != NB_BOOTCTL_RECORD_LEN))
        return nb_diag_set(diag, NB_EPARSE, "boot control: record of %zu bytes not supported", len);
    if (err == NB_EPARSE)
        return nb_diag_set(diag, NB_EPARSE, "boot control: no valid copy");
    if (err != NB_OK)
        return err;
    err = nb_bootctl_decode(buf, &rec, &seq, diag);
    if (err != NB_OK)
        return err;
    *out = rec;
    return NB_OK;
}

enum nb_err nb_bootctl_store(struct nb_bootctl_flash *bf, const struct nb_bootctl *rec)
{
    uint8_t buf[NB_BOOTCTL_RECORD_LEN];
    if (bf->dr.current < 0)
        return NB_EINVAL;
    enum nb_err err = nb_bootctl_encode(rec, bf->dr.seq + 1, buf);
    if (err == NB_OK)
        err = nb_dualrec_store(&bf->dr, buf, sizeof buf);
    sync_copy(bf);
    return err;
}

enum nb_err nb_bootctl_provision(struct nb_bootctl_flash *bf, const struct nb_bootctl *rec)
{
    uint8_t buf[NB_BOOTCTL_RECORD_LEN];
    enum nb_err err = nb_bootctl_encode(rec, 1, buf);
    if (err == NB_OK)
        err = nb_dualrec_provision(&bf->dr, buf, sizeof buf);
    sync_copy(bf);
    return err;
}

static enum nb_err flash_load(void *ctx, struct nb_bootctl *out, struct nb_diag *diag)
{
    return nb_bootctl_load(ctx, out, diag);
}

static enum nb_err flash_store(void *ctx, const struct nb_bootctl *rec)
{
    return nb_bootctl_store(ctx, rec);
}

static const struct nb_boot_control_ops flash_control_ops = {
    .load = flash_load,
    .store = flash_store,
};

struct nb_boot_control nb_bootctl_flash_control(struct nb_bootctl_flash *bf)
{
    return (struct nb_boot_control){.ops = &flash_control_ops, .ctx = bf};
}
