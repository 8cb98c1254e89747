/* The install engine (lib/core/install.c): writes one signed release into
 * the inactive slot, push-fed and bounded in memory. It never does I/O of
 * its own beyond the flash HAL: the caller (the agent, the simulator, a
 * test) fetches bytes from wherever and hands them over; the engine owns no
 * buffer (the caller's struct nb_install_bufs) and allocates nothing.
 *
 * Steps, in this order (DESIGN.md "Device state"):
 *   begin   verify the release against the device's root (verify before
 *           parse), preflight: hardware class (NB_EINCOMPAT), security
 *           counter not below the device's minimum (NB_EROLLBACK), image fits
 *           the slot (NB_ENOSPC), delta base present (NB_EUNSUPPORTED for
 *           now), bootloader capabilities (NB_EINCOMPAT); nothing is written
 *           before all of these pass. Then: journal "installing R into slot
 *           S", boot control marks S INSTALLING.
 *   table   check the frame table against the release; write envelope and
 *           table to the slot's metadata region; find the first frame whose
 *           output is not already in the slot (resume).
 *   frames  for each frame the engine asks for: stored-bytes hash from the
 *           signed table, decrypt, decompress, output hash, then erase and
 *           program its window of the slot.
 *   finish  read the whole image back from flash and hash it against the
 *           signed image digest; boot control marks S READY then TRIAL with
 *           N tries (one store); journal idle.
 * Every step is idempotent: after a power cut anywhere, running the same
 * install again (begin with the same envelope) continues from the first
 * frame not yet in the slot, and a step already done is not redone. */
#ifndef NOBRICK_INSTALL_H
#define NOBRICK_INSTALL_H

#include <nobrick/bootctl.h>
#include <nobrick/caps.h>
#include <nobrick/codec.h>
#include <nobrick/dualrec.h>
#include <nobrick/err.h>
#include <nobrick/frames.h>
#include <nobrick/hal.h>
#include <nobrick/journal.h>
#include <nobrick/layout.h>
#include <nobrick/release.h>
#include <nobrick/root.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the device is: given by the caller, borrowed for the install. */
struct nb_install_device {
    const struct nb_flash *flash;
    const struct nb_layout *layout;
    struct nb_boot_control bootctl; /* the two-copy record, or a bootloader's environment */
    struct nb_dualrec *journal;
    const struct nb_root *root; /* the trusted root (trust store) */
    const char *hw_class;
    const char *component;      /* what slots A/B hold; NULL: NB_COMPONENT_DEFAULT ("system") */
    const uint8_t *x25519_priv; /* NULL: the device cannot open encrypted bundles */
    const uint8_t *x25519_pub;
    uint8_t tries; /* 1..NB_BOOTCTL_MAX_TRIES; 0 = NB_BOOTCTL_DEFAULT_TRIES */
};

/* Caller-owned buffers. scratch: NB_ENVELOPE_SCRATCH_LEN (release
 * verification); table: the frame table (nb_frame_table_len of the frame
 * count); stored: nb_frame_stored_max of the release; window: the frame
 * size (output of one frame, and read-back). nb_install_table and
 * nb_install_frame say NB_ENOSPC, naming the buffer, when one is short. */
struct nb_install_bufs {
    uint8_t *scratch;
    size_t scratch_len;
    uint8_t *table;
    size_t table_cap;
    uint8_t *window;
    size_t window_cap;
    struct nb_codec *codec;
};

enum nb_install_phase {
    NB_INSTALL_NEW,     /* before begin */
    NB_INSTALL_BEGUN,   /* release verified, slot INSTALLING: table next */
    NB_INSTALL_FRAMES,  /* frames wanted */
    NB_INSTALL_WRITTEN, /* every frame in the slot: finish next */
    NB_INSTALL_DONE,    /* slot in TRIAL */
    NB_INSTALL_FAILED,
};

/* The engine's state: a few hundred bytes plus the release struct. */
struct nb_install {
    struct nb_install_device dev;
    struct nb_install_bufs bufs;
    enum nb_install_phase phase;
    struct nb_release rel;
    enum nb_bootctl_slot_id target;
    uint8_t envelope_sha256[NB_SHA256_LEN];
    struct nb_frame_ctx fctx;
    size_t table_len;
    uint32_t next_frame;     /* first frame not yet in the slot */
    uint32_t frames_done;    /* frames verified in the slot */
    uint32_t frames_skipped; /* of those, found already there on resume */
    bool resumed;            /* the journal named this release and slot, or its trial is armed */
};

/* Prepares an install; nothing is read or written. */
void nb_install_init(struct nb_install *in, const struct nb_install_device *dev,
                     const struct nb_install_bufs *bufs);
/* Wipes the content key and decoder state references. */
void nb_install_fini(struct nb_install *in);

/* begin: verify and preflight (see above), then journal and mark the target
 * INSTALLING. The envelope text is copied into scratch's care only for the
 * duration of the call. Errors name what was refused, e.g. "install refused:
 * bundle is for hardware class thermo-v3, this device is thermo-v2". */
NB_MUST_CHECK enum nb_err nb_install_begin(struct nb_install *in, const uint8_t *envelope,
                                           size_t envelope_len, struct nb_diag *diag);

/* table: check, store with the envelope in the slot's metadata, scan the
 * slot for frames already written (resume). envelope is given again so the
 * engine keeps no copy of it. */
NB_MUST_CHECK enum nb_err nb_install_table(struct nb_install *in, const uint8_t *envelope,
                                           size_t envelope_len, const uint8_t *table,
                                           size_t table_len, struct nb_diag *diag);

/* The next frame the engine needs, or false when every frame is in the
 * slot (then call finish). */
bool nb_install_want(const struct nb_install *in, uint32_t *index);

/* One frame's stored bytes (modified in place: decrypted). index must be
 * the wanted one (NB_EINVAL otherwise). On NB_EHASH / NB_EDECRYPT /
 * NB_ETRUNCATED the frame was not written and may be fetched again; the
 * install stays usable. */
NB_MUST_CHECK enum nb_err nb_install_frame(struct nb_install *in, uint32_t index, uint8_t *stored,
                                           size_t stored_len, struct nb_diag *diag);

/* finish: read back and hash the whole image from flash, then READY ->
 * TRIAL (one boot-control store), journal idle. NB_EHASH when the slot does
 * not hold the signed image (then the slot is marked BAD). */
NB_MUST_CHECK enum nb_err nb_install_finish(struct nb_install *in, struct nb_diag *diag);

/* Progress for reports: frames done of the release's frame count. */
void nb_install_progress(const struct nb_install *in, uint32_t *done, uint32_t *total);

#endif
