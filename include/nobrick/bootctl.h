/* Boot control: the per-slot state the agent and the bootloader share
 * (lib/core/bootctl.c). Two parts, kept apart on purpose:
 * - the record and its transitions: pure functions on a struct nb_bootctl
 *   that refuse any step breaking an invariant (below);
 * - the on-flash codec and store: two copies in two erase sectors, each with
 *   a sequence number and a CRC-32; the newer valid copy wins and a store
 *   writes the older one, so a torn write leaves the other intact.
 * Record invariants (checked by nb_bootctl_check, on load and before store):
 * - primary is NB_BOOTCTL_NONE or names a slot in state GOOD;
 * - at most one slot is in TRIAL; tries_left is 0 outside TRIAL;
 * - an EMPTY slot has every field zero; gold is EMPTY unless has_gold;
 * - min_security_counter only grows, and only when a slot is marked good. */
#ifndef NOBRICK_BOOTCTL_H
#define NOBRICK_BOOTCTL_H

#include <nobrick/dualrec.h>
#include <nobrick/err.h>
#include <nobrick/hal.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nb_bootctl_slot_id { NB_BOOTCTL_A = 0, NB_BOOTCTL_B = 1, NB_BOOTCTL_GOLD = 2 };
#define NB_BOOTCTL_SLOTS 3
#define NB_BOOTCTL_NONE 0xFF      /* primary when no slot is good */
#define NB_BOOTCTL_VERSION_MAX 63 /* characters, printable ASCII */
#define NB_BOOTCTL_MAX_TRIES 7
#define NB_BOOTCTL_DEFAULT_TRIES 3
#define NB_BOOTCTL_RECORD_LEN 512 /* bytes of one encoded copy */

/* Values are stored on flash: append only. */
enum nb_bootctl_state {
    NB_BOOTCTL_EMPTY = 0,      /* nothing installed */
    NB_BOOTCTL_INSTALLING = 1, /* being written: never bootable */
    NB_BOOTCTL_READY = 2,      /* written and verified, not yet armed */
    NB_BOOTCTL_TRIAL = 3,      /* armed: the bootloader tries it tries_left times */
    NB_BOOTCTL_GOOD = 4,       /* committed by the agent's health check */
    NB_BOOTCTL_BAD = 5,        /* failed: never booted again */
};

struct nb_bootctl_slot {
    enum nb_bootctl_state state;
    uint8_t tries_left;
    uint64_t security_counter;
    uint64_t image_size;
    uint8_t sha256[32]; /* of the verified image */
    char version[NB_BOOTCTL_VERSION_MAX + 1];
};

struct nb_bootctl {
    bool has_gold;
    uint8_t primary; /* slot booted when no trial is pending, or NB_BOOTCTL_NONE */
    uint64_t min_security_counter;
    struct nb_bootctl_slot slot[NB_BOOTCTL_SLOTS];
};

/* --- the record ------------------------------------------------------------
 * Each transition returns NB_OK and changes rec, or returns an error and
 * leaves rec unchanged: NB_EINVAL for a step the state machine forbids (or
 * a bad slot id), NB_EROLLBACK for a security counter below the minimum. */

/* A fresh record: every slot empty, no primary, minimum counter 0. */
void nb_bootctl_init(struct nb_bootctl *rec, bool has_gold);
/* NB_OK when rec satisfies the invariants above, NB_EPARSE otherwise. */
NB_MUST_CHECK enum nb_err nb_bootctl_check(const struct nb_bootctl *rec, struct nb_diag *diag);
/* True when a and b hold the same state (what a store would write). */
bool nb_bootctl_equal(const struct nb_bootctl *a, const struct nb_bootctl *b);

/* Starts writing a slot: clears it and marks it INSTALLING. Refused for the
 * primary (the image the device falls back to) and, once written, for gold
 * (read-only after the factory). */
NB_MUST_CHECK enum nb_err nb_bootctl_mark_installing(struct nb_bootctl *rec,
                                                     enum nb_bootctl_slot_id id);
/* INSTALLING -> READY once the image is written and read back: records what
 * was verified. NB_ELENGTH for a version longer than NB_BOOTCTL_VERSION_MAX,
 * NB_EINVAL for a non-printable one. */
NB_MUST_CHECK enum nb_err nb_bootctl_mark_ready(struct nb_bootctl *rec, enum nb_bootctl_slot_id id,
                                                const char *version, uint64_t security_counter,
                                                uint64_t image_size, const uint8_t sha256[32]);
/* READY -> TRIAL with 1..NB_BOOTCTL_MAX_TRIES tries; refused while another
 * slot is in TRIAL. */
NB_MUST_CHECK enum nb_err nb_bootctl_mark_trial(struct nb_bootctl *rec, enum nb_bootctl_slot_id id,
                                                uint8_t tries);
/* The bootloader's step before booting a TRIAL slot: one try fewer.
 * NB_EINVAL when none is left (the caller marks the slot bad instead). */
NB_MUST_CHECK enum nb_err nb_bootctl_consume_try(struct nb_bootctl *rec,
                                                 enum nb_bootctl_slot_id id);
/* TRIAL -> GOOD (commit): the slot becomes primary (gold only when there is
 * no other) and the minimum security counter rises to the slot's, never
 * down. Idempotent on the primary, so a commit repeated after a power cut
 * succeeds. */
NB_MUST_CHECK enum nb_err nb_bootctl_mark_good(struct nb_bootctl *rec, enum nb_bootctl_slot_id id);
/* Any non-empty state -> BAD. If the slot was primary, another good slot
 * (the other of A/B first, then gold) becomes primary, or none. */
NB_MUST_CHECK enum nb_err nb_bootctl_mark_bad(struct nb_bootctl *rec, enum nb_bootctl_slot_id id);

/* --- the codec --------------------------------------------------------------
 * One copy is NB_BOOTCTL_RECORD_LEN bytes, little-endian (layout in
 * docs/device-state.md), ending in a CRC-32 of everything before it. */

/* Encodes a record that passes nb_bootctl_check (NB_EINVAL otherwise). */
NB_MUST_CHECK enum nb_err nb_bootctl_encode(const struct nb_bootctl *rec, uint32_t seq,
                                            uint8_t out[NB_BOOTCTL_RECORD_LEN]);
/* Decodes and checks one copy: NB_EPARSE (diag says why) for a bad magic,
 * format version, CRC, field or invariant. */
NB_MUST_CHECK enum nb_err nb_bootctl_decode(const uint8_t in[NB_BOOTCTL_RECORD_LEN],
                                            struct nb_bootctl *out, uint32_t *seq,
                                            struct nb_diag *diag);
/* True when sequence number a is newer than b, across wrap-around (serial
 * number arithmetic: a is newer when a - b, as a signed 32-bit value, > 0). */
bool nb_bootctl_seq_newer(uint32_t a, uint32_t b);

/* --- the store on flash -----------------------------------------------------
 * A two-copy record (dualrec.h) whose payload is one encoded record. The
 * caller owns the struct; it holds no allocation. */
struct nb_bootctl_flash {
    struct nb_dualrec dr; /* the two copies: the authority */
    int current;          /* copy that won the last load/store, or -1 (a copy of dr's) */
    uint32_t seq;         /* its sequence number (a copy of dr's) */
};

/* Checks the two regions (valid, disjoint, each holding a record and the
 * two-copy overhead) and binds them to flash. NB_EINVAL otherwise. */
NB_MUST_CHECK enum nb_err nb_bootctl_flash_init(struct nb_bootctl_flash *bf,
                                                const struct nb_flash *flash,
                                                struct nb_region copy0, struct nb_region copy1);
/* Reads both copies; the newer valid one wins. NB_EPARSE when neither is
 * valid (a fresh device must be provisioned), NB_EIO on a read failure. */
NB_MUST_CHECK enum nb_err nb_bootctl_load(struct nb_bootctl_flash *bf, struct nb_bootctl *out,
                                          struct nb_diag *diag);
/* Writes rec with the next sequence number into the copy that did not win
 * (erase, program, read back), then makes it current. Needs a successful
 * load or provision first (NB_EINVAL). On failure the current copy is
 * untouched and a retry writes the same target again. */
NB_MUST_CHECK enum nb_err nb_bootctl_store(struct nb_bootctl_flash *bf,
                                           const struct nb_bootctl *rec);
/* Factory step: erases both copies and writes rec as sequence 1. */
NB_MUST_CHECK enum nb_err nb_bootctl_provision(struct nb_bootctl_flash *bf,
                                               const struct nb_bootctl *rec);
/* The boot-control HAL of this store (load and store above). */
struct nb_boot_control nb_bootctl_flash_control(struct nb_bootctl_flash *bf);

#endif
