/* The install engine (install.h): begin (verify, preflight, journal, mark
 * the target INSTALLING) and finish (read back, arm the trial). Frames and
 * the resume scan are in install_frames.c. Nothing is written before every
 * preflight check has passed, and boot control alone decides what boots:
 * the journal only lets an interrupted install continue. */
#include "install_internal.h"

#include <nobrick/slotmeta.h>

#include <string.h>

void nb_install_init(struct nb_install *in, const struct nb_install_device *dev,
                     const struct nb_install_bufs *bufs)
{
    memset(in, 0, sizeof *in);
    in->dev = *dev;
    in->bufs = *bufs;
    in->phase = NB_INSTALL_NEW;
    in->target = NB_BOOTCTL_A;
}

void nb_install_fini(struct nb_install *in)
{
    nb_frame_ctx_fini(&in->fctx);
    in->fctx.codec = NULL;
}

void nb_install_progress(const struct nb_install *in, uint32_t *done, uint32_t *total)
{
    *done = in->frames_done;
    *total = in->phase == NB_INSTALL_NEW ? 0 : in->rel.frame_count;
}

enum nb_err nb__install_fail(struct nb_install *in, enum nb_err err)
{
    in->phase = NB_INSTALL_FAILED;
    return err;
}

/* Wraps an inner diag as "install refused: <inner>" and fails the install. */
static enum nb_err refuse(struct nb_install *in, struct nb_diag *diag, enum nb_err err,
                          const struct nb_diag *why)
{
    nb_diag_set(diag, err, "install refused: %s", why->msg);
    return nb__install_fail(in, err);
}

uint8_t nb__install_tries(const struct nb_install *in)
{
    return in->dev.tries == 0 ? NB_BOOTCTL_DEFAULT_TRIES : in->dev.tries;
}

/* The A/B slot that is not the primary; A when the primary is none or gold
 * (gold is never written after the factory). */
static enum nb_bootctl_slot_id pick_target(const struct nb_bootctl *bc)
{
    return bc->primary == NB_BOOTCTL_A ? NB_BOOTCTL_B : NB_BOOTCTL_A;
}

/* True when target already holds this release, armed: a power cut hit
 * after the trial was stored, before the journal went idle, or while it
 * went idle. That last write can be cut after it completed (a torn program
 * whose unwritten tail was padding), and then the journal is idle and the
 * caller cannot tell the install finished: the same install run again must
 * succeed, not be refused as "another trial pending" (install.h: after a
 * cut anywhere, the same install continues). With an idle journal the
 * record's fields, set from the signed release that armed the trial, say
 * which release it is. */
static bool already_armed(const struct nb_install *in, const struct nb_bootctl *bc,
                          const struct nb_journal *j)
{
    const struct nb_bootctl_slot *s = &bc->slot[in->target];
    bool ours = j->op == NB_JOURNAL_IDLE ||
                (j->op == NB_JOURNAL_INSTALL && j->target_slot == in->target &&
                 memcmp(j->envelope_sha256, in->envelope_sha256, NB_SHA256_LEN) == 0);
    return ours && s->state == NB_BOOTCTL_TRIAL && s->image_size == in->rel.image_size &&
           s->security_counter == in->rel.security_counter &&
           strcmp(s->version, in->rel.version) == 0 &&
           memcmp(s->sha256, in->rel.image_sha256, NB_SHA256_LEN) == 0;
}

/* Refuses while a trial is pending: the device must first learn whether
 * the running update is good. The trial of this very release is not in
 * the way (a resumed install, see already_armed). */
static enum nb_err check_no_trial(struct nb_install *in, const struct nb_bootctl *bc,
                                  const struct nb_journal *j, struct nb_diag *diag)
{
    for (int i = 0; i < NB_BOOTCTL_SLOTS; i++) {
        if (bc->slot[i].state != NB_BOOTCTL_TRIAL)
            continue;
        if (i == (int)in->target && already_armed(in, bc, j))
            continue;
        nb_diag_set(diag, NB_EINVAL,
                    "install refused: slot %s is on trial (version %s): commit or reject the "
                    "running trial first",
                    nb_slot_name((enum nb_bootctl_slot_id)i), bc->slot[i].version);
        return nb__install_fail(in, NB_EINVAL);
    }
    return NB_OK;
}

/* Release against the device: class, counter, size, delta, geometry. */
static enum nb_err check_release(struct nb_install *in, const struct nb_bootctl *bc,
                                 struct nb_diag *diag)
{
    const struct nb_release *r = &in->rel;
    struct nb_flash_geometry g;
    struct nb_diag why;
    nb_diag_clear(&why);
    nb_flash_geometry(in->dev.flash, &g);
    enum nb_err err = nb_release_check_hw(r, in->dev.hw_class, &why);
    if (err != NB_OK)
        return refuse(in, diag, err, &why);
    /* A bootloader or modem image signed for this class must not land in
     * the system slots (SECURITY.md 24). */
    const char *component = in->dev.component != NULL ? in->dev.component : NB_COMPONENT_DEFAULT;
    if (strcmp(r->component, component) != 0) {
        nb_diag_set(diag, NB_EINCOMPAT,
                    "install refused: bundle is for component '%s', the slots of this device "
                    "hold '%s': install it with the tool for that component",
                    r->component, component);
        return nb__install_fail(in, NB_EINCOMPAT);
    }
    if (r->security_counter < bc->min_security_counter) {
        nb_diag_set(diag, NB_EROLLBACK,
                    "install refused: security counter %llu is below this device's minimum "
                    "%llu (rollback)",
                    (unsigned long long)r->security_counter,
                    (unsigned long long)bc->min_security_counter);
        return nb__install_fail(in, NB_EROLLBACK);
    }
    if (r->image_size > in->dev.layout->slot[in->target].len) {
        nb_diag_set(diag, NB_ENOSPC,
                    "install refused: image is %llu bytes, slot %s holds %llu: this release "
                    "does not fit this device's layout",
                    (unsigned long long)r->image_size, nb_slot_name(in->target),
                    (unsigned long long)in->dev.layout->slot[in->target].len);
        return nb__install_fail(in, NB_ENOSPC);
    }
    if (r->has_delta_base) {
        nb_diag_set(diag, NB_EUNSUPPORTED,
                    "install refused: delta releases are not supported yet: ask for a full "
                    "image");
        return nb__install_fail(in, NB_EUNSUPPORTED);
    }
    if (r->frame_size % g.erase_size != 0) {
        nb_diag_set(diag, NB_EINCOMPAT,
                    "install refused: frame size %u is not a multiple of this flash's erase "
                    "size %u: rebuild the bundle with a larger frame size",
                    (unsigned)r->frame_size, (unsigned)g.erase_size);
        return nb__install_fail(in, NB_EINCOMPAT);
    }
    return NB_OK;
}

/* Buffers, tries and the bootloader: can this device carry it out? */
static enum nb_err check_device(struct nb_install *in, struct nb_diag *diag)
{
    struct nb_caps caps;
    struct nb_diag why;
    nb_diag_clear(&why);
    uint8_t tries = nb__install_tries(in);
    uint64_t table_len = nb_frame_table_len(in->rel.frame_count);
    if (tries > NB_BOOTCTL_MAX_TRIES) {
        nb_diag_set(diag, NB_EINVAL, "install: %u tries asked, at most %u", tries,
                    NB_BOOTCTL_MAX_TRIES);
        return nb__install_fail(in, NB_EINVAL);
    }
    if (in->bufs.window_cap < in->rel.frame_size || in->bufs.table_cap < table_len) {
        nb_diag_set(diag, NB_ENOSPC,
                    "install: window buffer %zu bytes (frame size %u), table buffer %zu bytes "
                    "(table %llu): give the engine larger buffers",
                    in->bufs.window_cap, (unsigned)in->rel.frame_size, in->bufs.table_cap,
                    (unsigned long long)table_len);
        return nb__install_fail(in, NB_ENOSPC);
    }
    if (nb_caps_read(in->dev.flash, in->dev.layout->caps, &caps, &why) != NB_OK) {
        nb_diag_set(diag, NB_EINCOMPAT,
                    "install refused: bootloader capabilities unknown (%s): boot the device "
                    "once with nobrick-boot first",
                    why.msg);
        return nb__install_fail(in, NB_EINCOMPAT);
    }
    enum nb_err err = nb_caps_check(&caps, tries, &why);
    return err == NB_OK ? NB_OK : refuse(in, diag, err, &why);
}

/* The content key, before anything is written (SECURITY.md 36). */
static enum nb_err open_key(struct nb_install *in, const uint8_t *payload, size_t len,
                            struct nb_diag *diag)
{
    uint8_t key[NB_AES256_KEY_LEN];
    struct nb_diag why;
    nb_diag_clear(&why);
    if (!in->rel.encrypted) {
        nb_frame_ctx_init(&in->fctx, &in->rel, NULL, in->bufs.codec);
        return NB_OK;
    }
    if (in->dev.x25519_priv == NULL || in->dev.x25519_pub == NULL) {
        nb_diag_set(diag, NB_EDECRYPT,
                    "install refused: release %s is encrypted and this device has no "
                    "decryption key",
                    in->rel.version);
        return nb__install_fail(in, NB_EDECRYPT);
    }
    enum nb_err err =
        nb_release_unwrap_key(payload, len, in->dev.x25519_priv, in->dev.x25519_pub, key, &why);
    if (err != NB_OK)
        return refuse(in, diag, err, &why);
    nb_frame_ctx_init(&in->fctx, &in->rel, key, in->bufs.codec);
    nb_wipe(key, sizeof key);
    return NB_OK;
}

/* Journal first, then the slot: after a cut between the two, the next
 * begin finds the slot not INSTALLING and simply does both again. */
static enum nb_err start(struct nb_install *in, struct nb_bootctl *bc,
                         const struct nb_journal *current, struct nb_diag *diag)
{
    struct nb_journal j = {.op = NB_JOURNAL_INSTALL,
                           .target_slot = in->target,
                           .image_size = in->rel.image_size,
                           .frame_count = in->rel.frame_count,
                           .frames_done = 0,
                           .agent = current->agent};
    memcpy(j.envelope_sha256, in->envelope_sha256, NB_SHA256_LEN);
    enum nb_err err = nb_journal_store(in->dev.journal, &j);
    if (err != NB_OK) {
        nb_diag_set(diag, err, "install: writing the journal failed");
        return nb__install_fail(in, err);
    }
    err = nb_bootctl_mark_installing(bc, in->target);
    if (err == NB_OK)
        err = nb_boot_control_store(&in->dev.bootctl, bc);
    if (err != NB_OK) {
        nb_diag_set(diag, err, "install: marking slot %s installing failed",
                    nb_slot_name(in->target));
        return nb__install_fail(in, err);
    }
    return NB_OK;
}

/* Reads boot control and the journal, picks the target and decides
 * whether this is the resumption of the same install. */
static enum nb_err read_state(struct nb_install *in, struct nb_bootctl *bc, struct nb_journal *j,
                              struct nb_diag *diag)
{
    enum nb_err err = nb_boot_control_load(&in->dev.bootctl, bc, diag);
    if (err == NB_OK)
        err = nb_journal_load(in->dev.journal, j, diag);
    if (err != NB_OK)
        return nb__install_fail(in, err);
    in->target = pick_target(bc);
    in->resumed = (j->op == NB_JOURNAL_INSTALL && j->target_slot == in->target &&
                   memcmp(j->envelope_sha256, in->envelope_sha256, NB_SHA256_LEN) == 0 &&
                   bc->slot[in->target].state == NB_BOOTCTL_INSTALLING) ||
                  already_armed(in, bc, j);
    return NB_OK;
}

enum nb_err nb_install_begin(struct nb_install *in, const uint8_t *envelope, size_t envelope_len,
                             struct nb_diag *diag)
{
    const uint8_t *payload = NULL;
    size_t payload_len = 0;
    struct nb_bootctl bc;
    struct nb_journal j;
    struct nb_diag why;
    nb_diag_clear(&why);
    if (in->phase != NB_INSTALL_NEW)
        return nb_diag_set(diag, NB_EINVAL, "install: begin called twice: start a new install");
    enum nb_err err =
        nb_release_verify(in->dev.root, envelope, envelope_len, in->bufs.scratch,
                          in->bufs.scratch_len, &in->rel, &payload, &payload_len, &why);
    if (err == NB_OK)
        err = nb_sha256(envelope, envelope_len, in->envelope_sha256);
    if (err != NB_OK)
        return refuse(in, diag, err, &why);
    if ((err = read_state(in, &bc, &j, diag)) != NB_OK ||
        (err = check_no_trial(in, &bc, &j, diag)) != NB_OK ||
        (err = check_release(in, &bc, diag)) != NB_OK || (err = check_device(in, diag)) != NB_OK ||
        (err = open_key(in, payload, payload_len, diag)) != NB_OK)
        return err;
    /* Every check passed: from here on, flash is written. */
    if (!in->resumed && (err = start(in, &bc, &j, diag)) != NB_OK)
        return err;
    in->phase = NB_INSTALL_BEGUN;
    return NB_OK;
}

/* SHA-256 of the slot's first image_size bytes, read through the HAL in
 * frame-sized pieces: what the bootloader will hash, not what we wrote.
 * Frame-sized, not window_cap-sized: a caller may give a window for the
 * largest frame any release could have (8 MiB) and must only pay, in
 * touched memory, for the frame size of the release at hand. */
static enum nb_err hash_slot(struct nb_install *in, uint8_t out[NB_SHA256_LEN])
{
    struct nb_sha256_ctx h = {0};
    uint64_t base = in->dev.layout->slot[in->target].off;
    enum nb_err err = nb_sha256_begin(&h);
    for (uint64_t pos = 0; err == NB_OK && pos < in->rel.image_size;) {
        uint64_t left = in->rel.image_size - pos;
        size_t n = left < in->rel.frame_size ? (size_t)left : in->rel.frame_size;
        err = nb_flash_read(in->dev.flash, base + pos, in->bufs.window, n);
        if (err == NB_OK)
            err = nb_sha256_update(&h, in->bufs.window, n);
        pos += n;
    }
    if (err == NB_OK)
        return nb_sha256_final(&h, out);
    nb_sha256_abort(&h);
    return err;
}

/* The read-back found other bytes than the signed image: the slot must
 * never boot. */
static enum nb_err mark_slot_bad(struct nb_install *in, struct nb_bootctl *bc, struct nb_diag *diag)
{
    enum nb_err err = nb_bootctl_mark_bad(bc, in->target);
    if (err == NB_OK)
        err = nb_boot_control_store(&in->dev.bootctl, bc);
    nb_diag_set(diag, NB_EHASH,
                "install: slot %s does not hold the signed image after writing (read-back "
                "hash mismatch)%s: retry the install; if it repeats, the flash may be failing",
                nb_slot_name(in->target), err == NB_OK ? ", slot marked bad" : "");
    return nb__install_fail(in, NB_EHASH);
}

static enum nb_err arm_trial(struct nb_install *in, struct nb_bootctl *bc, struct nb_diag *diag)
{
    const struct nb_release *r = &in->rel;
    const struct nb_bootctl_slot *s = &bc->slot[in->target];
    if (s->state == NB_BOOTCTL_TRIAL && s->image_size == r->image_size &&
        memcmp(s->sha256, r->image_sha256, NB_SHA256_LEN) == 0)
        return NB_OK; /* armed before a power cut: not armed twice */
    enum nb_err err = nb_bootctl_mark_ready(bc, in->target, r->version, r->security_counter,
                                            r->image_size, r->image_sha256);
    if (err == NB_OK)
        err = nb_bootctl_mark_trial(bc, in->target, nb__install_tries(in));
    if (err == NB_OK)
        err = nb_boot_control_store(&in->dev.bootctl, bc);
    if (err != NB_OK) {
        nb_diag_set(diag, err, "install: arming the trial of slot %s failed",
                    nb_slot_name(in->target));
        return nb__install_fail(in, err);
    }
    return NB_OK;
}

enum nb_err nb_install_finish(struct nb_install *in, struct nb_diag *diag)
{
    uint8_t digest[NB_SHA256_LEN];
    struct nb_bootctl bc;
    struct nb_journal idle;
    if (in->phase != NB_INSTALL_WRITTEN)
        return nb_diag_set(diag, NB_EINVAL, "install: finish before every frame was written");
    enum nb_err err = nb_flash_sync(in->dev.flash);
    if (err == NB_OK)
        err = hash_slot(in, digest);
    if (err == NB_OK)
        err = nb_boot_control_load(&in->dev.bootctl, &bc, diag);
    if (err != NB_OK) {
        nb_diag_set(diag, err, "install: reading back slot %s failed", nb_slot_name(in->target));
        return nb__install_fail(in, err);
    }
    if (memcmp(digest, in->rel.image_sha256, NB_SHA256_LEN) != 0)
        return mark_slot_bad(in, &bc, diag);
    if ((err = arm_trial(in, &bc, diag)) != NB_OK)
        return err;
    /* Already idle (the same install run again after its last write): a
     * step already done is not redone, so a repeated install writes nothing. */
    err = nb_journal_load(in->dev.journal, &idle, diag);
    if (err == NB_OK && idle.op != NB_JOURNAL_IDLE) {
        struct nb_journal_agent keep = idle.agent; /* the agent's, not ours */
        nb_journal_init(&idle);
        idle.agent = keep;
        err = nb_journal_store(in->dev.journal, &idle);
    }
    if (err != NB_OK) {
        /* The trial is armed and will boot; a stale journal only makes the
         * next begin of this release a no-op resume. */
        nb_diag_set(diag, err, "install: clearing the journal failed");
        return nb__install_fail(in, err);
    }
    in->phase = NB_INSTALL_DONE;
    return NB_OK;
}
