/* The agent's journal (journal.h): the update in progress, as a small
 * record in a two-copy store. It names intent (which release into which
 * slot); progress is found again by hashing the slot, so the journal is
 * written a few times per update and never per frame. */
#include <nobrick/encoding.h>
#include <nobrick/journal.h>

#include <string.h>

/* Payload, little-endian; offsets are part of the on-flash format. A
 * format-1 record (J_LEN1 bytes) loads with an empty agent part. */
#define J_OP 0     /* u8 */
#define J_TARGET 1 /* u8, then u16 reserved */
#define J_FRAME_COUNT 4
#define J_FRAMES_DONE 8
#define J_IMAGE_SIZE 12 /* u64 */
#define J_SHA 20
#define J_LEN1 (J_SHA + NB_SHA256_LEN) /* format 1 ends here */
/* Format 2: the agent's part (journal.h, struct nb_journal_agent). */
#define J_DEPLOY 52  /* u64 (a non-negative i64) */
#define J_OWED 60    /* u8 */
#define J_CODE 61    /* u8: -enum nb_err */
#define J_SLOT 62    /* u8, then u8 reserved */
#define J_FLOOR 64   /* u64 (a non-negative i64) */
#define J_VERSION 72 /* NUL-terminated, NUL-padded */
#define J_LEN (J_VERSION + NB_BOOTCTL_VERSION_MAX + 1)

void nb_journal_init(struct nb_journal *j)
{
    memset(j, 0, sizeof *j);
    j->op = NB_JOURNAL_IDLE;
}

static void encode(const struct nb_journal *j, uint8_t out[J_LEN])
{
    memset(out, 0, J_LEN);
    out[J_OP] = (uint8_t)j->op;
    out[J_TARGET] = (uint8_t)j->target_slot;
    nb_put_le32(out + J_FRAME_COUNT, j->frame_count);
    nb_put_le32(out + J_FRAMES_DONE, j->frames_done);
    nb_put_le64(out + J_IMAGE_SIZE, j->image_size);
    memcpy(out + J_SHA, j->envelope_sha256, NB_SHA256_LEN);
    const struct nb_journal_agent *a = &j->agent;
    nb_put_le64(out + J_DEPLOY, (uint64_t)a->deployment_id);
    out[J_OWED] = (uint8_t)a->owed;
    out[J_CODE] = (uint8_t) - (int)a->code;
    out[J_SLOT] = (uint8_t)a->slot;
    nb_put_le64(out + J_FLOOR, (uint64_t)a->time_floor);
    for (size_t i = 0; i < NB_BOOTCTL_VERSION_MAX && a->version[i] != '\0'; i++)
        out[J_VERSION + i] = (uint8_t)a->version[i];
}

/* The agent's part of a format-2 record; every field checked, so a record
 * this version does not understand reads as idle rather than misread. */
static enum nb_err decode_agent(const uint8_t *in, struct nb_journal_agent *a)
{
    uint64_t dep = nb_le64(in + J_DEPLOY), floor = nb_le64(in + J_FLOOR);
    const uint8_t *v = in + J_VERSION;
    if (dep > INT64_MAX || floor > INT64_MAX || in[J_OWED] > NB_JOURNAL_OWED_ROLLED_BACK ||
        in[J_SLOT] >= NB_BOOTCTL_SLOTS || in[J_SLOT + 1] != 0 || v[NB_BOOTCTL_VERSION_MAX] != '\0')
        return NB_EPARSE;
    a->deployment_id = (int64_t)dep;
    a->owed = (enum nb_journal_owed)in[J_OWED];
    a->code = (enum nb_err)(-(int)in[J_CODE]);
    a->slot = (enum nb_bootctl_slot_id)in[J_SLOT];
    a->time_floor = (int64_t)floor;
    memcpy(a->version, v, NB_BOOTCTL_VERSION_MAX + 1);
    return NB_OK;
}

static enum nb_err decode(const uint8_t *in, size_t len, struct nb_journal *j, struct nb_diag *diag)
{
    if ((len != J_LEN1 && len != J_LEN) || in[J_OP] > NB_JOURNAL_INSTALL ||
        in[J_TARGET] >= NB_BOOTCTL_SLOTS || nb_le16(in + J_TARGET + 1) != 0)
        return nb_diag_set(diag, NB_EPARSE, "journal: record not understood, read as idle");
    j->op = (enum nb_journal_op)in[J_OP];
    j->target_slot = (enum nb_bootctl_slot_id)in[J_TARGET];
    j->frame_count = nb_le32(in + J_FRAME_COUNT);
    j->frames_done = nb_le32(in + J_FRAMES_DONE);
    j->image_size = nb_le64(in + J_IMAGE_SIZE);
    memcpy(j->envelope_sha256, in + J_SHA, NB_SHA256_LEN);
    if (len == J_LEN && decode_agent(in, &j->agent) != NB_OK)
        return nb_diag_set(diag, NB_EPARSE, "journal: agent record not understood, read as idle");
    return NB_OK;
}

enum nb_err nb_journal_load(struct nb_dualrec *dr, struct nb_journal *out, struct nb_diag *diag)
{
    uint8_t buf[J_LEN];
    size_t len = 0;
    struct nb_journal j;
    nb_journal_init(&j);
    enum nb_err err = nb_dualrec_load(dr, buf, sizeof buf, &len, NULL);
    if (err != NB_OK && err != NB_EPARSE && err != NB_ELENGTH)
        return nb_diag_set(diag, err, "journal: read failed");
    /* Never written, both copies torn, or a record from another version:
     * idle. Boot control alone decides what boots, so this loses at most a
     * resume. */
    if (err == NB_OK && decode(buf, len, &j, NULL) != NB_OK)
        nb_journal_init(&j);
    *out = j;
    return NB_OK;
}

enum nb_err nb_journal_store(struct nb_dualrec *dr, const struct nb_journal *j)
{
    uint8_t buf[J_LEN];
    const struct nb_journal_agent *a = &j->agent;
    if ((unsigned)j->op > NB_JOURNAL_INSTALL || (unsigned)j->target_slot >= NB_BOOTCTL_SLOTS ||
        (unsigned)a->owed > NB_JOURNAL_OWED_ROLLED_BACK || (unsigned)a->slot >= NB_BOOTCTL_SLOTS ||
        a->deployment_id < 0 || a->time_floor < 0 || (int)a->code > 0 || (int)a->code < -255)
        return NB_EINVAL;
    encode(j, buf);
    /* No valid copy to keep (a fresh device, or both copies lost): start
     * the store afresh. */
    if (dr->current < 0)
        return nb_dualrec_provision(dr, buf, sizeof buf);
    return nb_dualrec_store(dr, buf, sizeof buf);
}
