/* The agent's journal (lib/core/journal.c): what update is in progress, kept
 * in a two-copy record (dualrec.h) so that every step of an install can be
 * interrupted by a power cut and resumed or undone. It records intent, not
 * progress: which frames are already in the slot is found again by hashing
 * the slot against the signed frame table, so the journal is written a few
 * times per update, not once per frame (flash wear). */
#ifndef NOBRICK_JOURNAL_H
#define NOBRICK_JOURNAL_H

#include <nobrick/bootctl.h>
#include <nobrick/crypto.h>
#include <nobrick/dualrec.h>
#include <nobrick/err.h>

#include <stdint.h>

#define NB_JOURNAL_MAGIC 0x4C4A424Eu /* "NBJL" */

/* Values are stored on flash: append only. */
enum nb_journal_op {
    NB_JOURNAL_IDLE = 0,    /* nothing in progress */
    NB_JOURNAL_INSTALL = 1, /* writing target_slot with the release below */
};

struct nb_journal {
    enum nb_journal_op op;
    enum nb_bootctl_slot_id target_slot;
    uint8_t envelope_sha256[NB_SHA256_LEN]; /* the release being installed */
    uint64_t image_size;
    uint32_t frame_count;
    uint32_t frames_done; /* a hint for progress reports; always re-checked */
};

/* An idle journal. */
void nb_journal_init(struct nb_journal *j);

/* Loads the journal. A store never written or unreadable (both copies bad)
 * reads as idle with NB_OK: losing the journal loses only a resume, never
 * safety, because boot control alone decides what boots. NB_EIO on a read
 * failure. */
NB_MUST_CHECK enum nb_err nb_journal_load(struct nb_dualrec *dr, struct nb_journal *out,
                                          struct nb_diag *diag);

/* Stores j (a power cut leaves the previous or the new journal). */
NB_MUST_CHECK enum nb_err nb_journal_store(struct nb_dualrec *dr, const struct nb_journal *j);

#endif
