/* nobrick-boot's policy (boot/boot.c): the reference bootloader, on the same
 * flash HAL, boot-control record and verification code as the agent. One
 * call is one power-on:
 *   1. write the capability record (caps.h) if it changed;
 *   2. a slot in TRIAL with tries left: consume one try (stored before
 *      booting, so a crash during the trial boot still counts), verify, boot;
 *      a TRIAL slot with no try left is marked BAD;
 *   3. else the primary (GOOD) slot: verify, boot;
 *   4. else any other GOOD slot, then the gold slot: verify, boot.
 * Verify (secure boot) = the slot's signed release envelope (slotmeta.h)
 * against the trust store's root, its security counter not below the
 * record's minimum (NB_EROLLBACK), the record's digest equal to the signed
 * one, and the SHA-256 of the slot's image_size bytes equal to it. A slot
 * that fails is marked BAD and the next candidate is tried, except gold,
 * which is read-only: refused, never marked. A good slot booted in place of
 * the primary becomes primary. Never allocates: the caller passes the
 * buffers. docs/bootloader.md is the reference. */
#ifndef NOBRICK_BOOT_H
#define NOBRICK_BOOT_H

#include <nobrick/bootctl.h>
#include <nobrick/caps.h>
#include <nobrick/dualrec.h>
#include <nobrick/err.h>
#include <nobrick/hal.h>
#include <nobrick/layout.h>
#include <nobrick/release.h>
#include <nobrick/root.h>

#include <stddef.h>
#include <stdint.h>

#define NB_BOOT_VERSION 0x000100u /* 0.1.0 */
#define NB_BOOT_MAX_EVENTS 8

struct nb_boot_device {
    const struct nb_flash *flash;
    const struct nb_layout *layout;
    struct nb_boot_control bootctl; /* the two-copy record, or a bootloader's environment */
    struct nb_dualrec *trust;
};

/* scratch: NB_ENVELOPE_SCRATCH_LEN; envelope: NB_ENVELOPE_MAX; trust_text:
 * NB_TRUST_ROOT_MAX; window: any size >= 4096 (hashing the slot). */
struct nb_boot_bufs {
    uint8_t *scratch;
    size_t scratch_len;
    uint8_t *envelope;
    size_t envelope_cap;
    uint8_t *trust_text;
    size_t trust_cap;
    uint8_t *window;
    size_t window_len;
};

/* One thing the bootloader did or refused, for the report. */
struct nb_boot_event {
    enum nb_bootctl_slot_id slot;
    enum nb_err err; /* NB_OK: booted; else why the slot was refused */
    char
        what[160]; /* e.g. "slot B: trial, try 1 of 3" or "slot B: hash mismatch (E_BOOT_VERIFY)" */
};

struct nb_boot_result {
    enum nb_bootctl_slot_id slot; /* booted slot, when NB_OK */
    char version[NB_BOOTCTL_VERSION_MAX + 1];
    enum nb_bootctl_state state; /* its state after this boot: TRIAL or GOOD */
    uint8_t tries_left;          /* for a trial boot */
    struct nb_boot_event events[NB_BOOT_MAX_EVENTS];
    size_t n_events;
};

/* The capabilities this bootloader reports. */
void nb_boot_caps(const struct nb_layout *layout, struct nb_caps *out);

/* One power-on. NB_OK with the slot to boot; NB_EBOOT_VERIFY when nothing
 * is bootable (every candidate refused, or no usable trust store: the
 * events say why); NB_EIO or NB_EPOWER when the flash fails under it, and
 * NB_ENOMEM or NB_ECRYPTO when the verifier itself fails (nothing is marked
 * bad for those: the next power-on starts over); the load's NB_EPARSE when
 * boot control holds no valid copy (never provisioned); NB_EINVAL for
 * buffers below the sizes above. *out is written whatever the result:
 * the events so far, and the boot when NB_OK. A trial whose tries ran out is
 * reported as an NB_EBOOT_VERIFY event ("not committed"). */
NB_MUST_CHECK enum nb_err nb_boot_run(const struct nb_boot_device *dev,
                                      const struct nb_boot_bufs *bufs, struct nb_boot_result *out);

/* The slots a power-on would try now, in its order (at most
 * NB_BOOTCTL_SLOTS): the TRIAL slot with tries left, the primary, the other
 * GOOD slots (A/B, then gold). Reads only rec. */
size_t nb_boot_candidates(const struct nb_bootctl *rec,
                          enum nb_bootctl_slot_id out[NB_BOOTCTL_SLOTS]);

/* Secure boot of slot id, all but the image hash: the slot's signed release
 * (slotmeta.h) verified against root, its security counter not below rec's
 * minimum, rec's record of the slot equal to what was signed, the signed
 * size within the slot. nb_boot_run does this, then hashes the image; the
 * hash does not depend on the root, so this answers "does this slot verify
 * under that root?" for any root without reading the image. Needs bufs'
 * scratch and envelope only (NB_EINVAL when short); *out (may be NULL) is
 * the release on NB_OK. Codes: those of nb_slotmeta_read and
 * nb_release_verify, NB_EROLLBACK, NB_EMISMATCH, NB_ELENGTH. Writes
 * nothing. */
NB_MUST_CHECK enum nb_err
nb_boot_check_slot(const struct nb_boot_device *dev, const struct nb_boot_bufs *bufs,
                   const struct nb_root *root, const struct nb_bootctl *rec,
                   enum nb_bootctl_slot_id id, struct nb_release *out, struct nb_diag *diag);

#endif
