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

/* What the online agent must remember across a reboot (journal format 2;
 * a format-1 record reads with these zero). Values are stored: append only. */
enum nb_journal_owed {
    NB_JOURNAL_OWED_NONE = 0,        /* nothing pending */
    NB_JOURNAL_OWED_TRIAL = 1,       /* a trial is armed: reboot, health, then commit or reject */
    NB_JOURNAL_OWED_COMMITTED = 2,   /* report "committed" to the server */
    NB_JOURNAL_OWED_ROLLED_BACK = 3, /* report "rolled_back" (with code) to the server */
};

struct nb_journal_agent {
    int64_t deployment_id; /* the server's deployment being carried out; 0 none */
    enum nb_journal_owed owed;
    enum nb_err code;                         /* why it rolled back (NB_OK otherwise) */
    enum nb_bootctl_slot_id slot;             /* the slot the trial is in */
    char version[NB_BOOTCTL_VERSION_MAX + 1]; /* the release of the trial */
    int64_t time_floor; /* newest signed issued_at accepted: only moves forward */
};

struct nb_journal {
    enum nb_journal_op op;
    enum nb_bootctl_slot_id target_slot;
    uint8_t envelope_sha256[NB_SHA256_LEN]; /* the release being installed */
    uint64_t image_size;
    uint32_t frame_count;
    uint32_t frames_done; /* a hint for progress reports; always re-checked */
    /* The agent's part: kept as it is by the install engine, which rewrites
     * only the fields above. */
    struct nb_journal_agent agent;
};

/* An idle journal with an empty agent part. */
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
