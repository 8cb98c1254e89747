/* The agent's journal (journal.h): the update in progress, as a small
 * record in a two-copy store. It names intent (which release into which
 * slot); progress is found again by hashing the slot, so the journal is
 * written a few times per update and never per frame. */
#include <nobrick/encoding.h>
#include <nobrick/journal.h>

#include <string.h>

/* Payload, little-endian; offsets are part of the on-flash format. */
#define J_OP 0     /* u8 */
#define J_TARGET 1 /* u8, then u16 reserved */
#define J_FRAME_COUNT 4
#define J_FRAMES_DONE 8
#define J_IMAGE_SIZE 12 /* u64 */
#define J_SHA 20
#define J_LEN (J_SHA + NB_SHA256_LEN)

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
}

static enum nb_err decode(const uint8_t *in, size_t len, struct nb_journal *j, struct nb_diag *diag)
{
    if (len != J_LEN || in[J_OP] > NB_JOURNAL_INSTALL || in[J_TARGET] >= NB_BOOTCTL_SLOTS ||
        nb_le16(in + J_TARGET + 1) != 0)
        return nb_diag_set(diag, NB_EPARSE, "journal: record not understood, read as idle");
    j->op = (enum nb_journal_op)in[J_OP];
    j->target_slot = (enum nb_bootctl_slot_id)in[J_TARGET];
    j->frame_count = nb_le32(in + J_FRAME_COUNT);
    j->frames_done = nb_le32(in + J_FRAMES_DONE);
    j->image_size = nb_le64(in + J_IMAGE_SIZE);
    memcpy(j->envelope_sha256, in + J_SHA, NB_SHA256_LEN);
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
    if ((unsigned)j->op > NB_JOURNAL_INSTALL || (unsigned)j->target_slot >= NB_BOOTCTL_SLOTS)
        return NB_EINVAL;
    encode(j, buf);
    /* No valid copy to keep (a fresh device, or both copies lost): start
     * the store afresh. */
    if (dr->current < 0)
        return nb_dualrec_provision(dr, buf, sizeof buf);
    return nb_dualrec_store(dr, buf, sizeof buf);
}
