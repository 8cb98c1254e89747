/* nobrick-boot's policy (boot.h): one power-on picks the slot to boot. It
 * re-verifies every candidate (signature against the trusted root, security
 * counter, record against signed release, image digest) right before booting
 * it, so nothing written after the agent's own check (SECURITY.md 37) can
 * boot. Every state change is stored before the next step, and a failed
 * store ends the run: the next power-on starts over from the top, which the
 * policy is written to survive at any flash operation. */
#include <nobrick/boot.h>
#include <nobrick/crypto.h>
#include <nobrick/envelope.h>
#include <nobrick/release.h>
#include <nobrick/root.h>
#include <nobrick/slotmeta.h>
#include <nobrick/trust.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define WINDOW_MIN 4096u

/* One power-on: the record as loaded and changed, the trusted root. */
struct run {
    const struct nb_boot_device *dev;
    const struct nb_boot_bufs *bufs;
    struct nb_boot_result *out;
    struct nb_bootctl rec;
    struct nb_root root;
};

void nb_boot_caps(const struct nb_layout *layout, struct nb_caps *out)
{
    memset(out, 0, sizeof *out);
    out->boot_version = NB_BOOT_VERSION;
    out->max_tries = NB_BOOTCTL_MAX_TRIES;
    out->anti_rollback = true;
    out->verifies_signature = true;
    out->slots = layout->has_gold ? 3 : 2;
}

/* A failure of the flash or of the verifier itself (no memory, crypto
 * library) says nothing against the slot: the run stops without marking
 * anything, and the next power-on tries again. */
static bool fatal(enum nb_err err)
{
    return err == NB_EIO || err == NB_EPOWER || err == NB_ENOMEM || err == NB_ECRYPTO;
}

__attribute__((format(printf, 4, 5))) static void event(struct nb_boot_result *out,
                                                        enum nb_bootctl_slot_id slot,
                                                        enum nb_err err, const char *fmt, ...)
{
    if (out->n_events >= NB_BOOT_MAX_EVENTS)
        return;
    struct nb_boot_event *e = &out->events[out->n_events++];
    e->slot = slot;
    e->err = err;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(e->what, sizeof e->what, fmt, ap);
    va_end(ap);
}

static bool bufs_ok(const struct nb_boot_bufs *b)
{
    return b->scratch != NULL && b->scratch_len >= NB_ENVELOPE_SCRATCH_LEN && b->envelope != NULL &&
           b->envelope_cap >= NB_ENVELOPE_MAX && b->trust_text != NULL &&
           b->trust_cap >= NB_TRUST_ROOT_MAX && b->window != NULL && b->window_len >= WINDOW_MIN;
}

/* --- verification ---------------------------------------------------------- */

/* SHA-256 of the first size bytes of a slot, read window by window. */
static enum nb_err hash_slot(const struct run *r, enum nb_bootctl_slot_id id, uint64_t size,
                             uint8_t digest[NB_SHA256_LEN])
{
    const struct nb_boot_bufs *b = r->bufs;
    uint64_t base = r->dev->layout->slot[id].off;
    struct nb_sha256_ctx ctx;
    enum nb_err err = nb_sha256_begin(&ctx);
    if (err != NB_OK)
        return err;
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < b->window_len ? (size_t)(size - off) : b->window_len;
        err = nb_flash_read(r->dev->flash, base + off, b->window, n);
        if (err == NB_OK)
            err = nb_sha256_update(&ctx, b->window, n);
        if (err != NB_OK) {
            nb_sha256_abort(&ctx);
            return err;
        }
        off += n;
    }
    return nb_sha256_final(&ctx, digest);
}

/* The record must say what the release signed: an unsigned field (the
 * MCUboot CVE-2024-32883 class) decides nothing. */
static enum nb_err check_release(const struct nb_boot_device *dev, const struct nb_bootctl *rec,
                                 enum nb_bootctl_slot_id id, const struct nb_release *rel,
                                 struct nb_diag *diag)
{
    const struct nb_bootctl_slot *s = &rec->slot[id];
    if (rel->security_counter < rec->min_security_counter)
        return nb_diag_set(diag, NB_EROLLBACK, "security counter %llu below the minimum %llu",
                           (unsigned long long)rel->security_counter,
                           (unsigned long long)rec->min_security_counter);
    if (s->security_counter != rel->security_counter || s->image_size != rel->image_size ||
        strcmp(s->version, rel->version) != 0 ||
        !nb_ct_equal(s->sha256, rel->image_sha256, NB_SHA256_LEN))
        return nb_diag_set(diag, NB_EMISMATCH, "boot record disagrees with the signed release");
    /* A signed size past the slot would hash a neighbour's bytes. */
    if (rel->image_size > dev->layout->slot[id].len)
        return nb_diag_set(diag, NB_ELENGTH, "image of %llu bytes larger than the slot",
                           (unsigned long long)rel->image_size);
    return NB_OK;
}

enum nb_err nb_boot_check_slot(const struct nb_boot_device *dev, const struct nb_boot_bufs *bufs,
                               const struct nb_root *root, const struct nb_bootctl *rec,
                               enum nb_bootctl_slot_id id, struct nb_release *out,
                               struct nb_diag *diag)
{
    size_t env_len = 0, table_len = 0;
    if (bufs->scratch == NULL || bufs->scratch_len < NB_ENVELOPE_SCRATCH_LEN ||
        bufs->envelope == NULL || bufs->envelope_cap < NB_ENVELOPE_MAX || id > NB_BOOTCTL_GOLD)
        return nb_diag_set(diag, NB_EINVAL, "boot check: scratch or envelope buffer too small");
    enum nb_err err = nb_slotmeta_read(dev->flash, dev->layout->meta[id], bufs->envelope,
                                       bufs->envelope_cap, &env_len, NULL, 0, &table_len, diag);
    if (err != NB_OK)
        return err;
    struct nb_release rel;
    err = nb_release_verify(root, bufs->envelope, env_len, bufs->scratch, bufs->scratch_len, &rel,
                            NULL, NULL, diag);
    if (err == NB_OK)
        err = check_release(dev, rec, id, &rel, diag);
    if (err == NB_OK && out != NULL)
        *out = rel;
    return err;
}

/* Secure boot of one slot, in the order a port must keep: signature before
 * parse, counter and record before the (long) hash, the hash last. */
static enum nb_err verify_slot(struct run *r, enum nb_bootctl_slot_id id, struct nb_diag *diag)
{
    struct nb_release rel;
    enum nb_err err = nb_boot_check_slot(r->dev, r->bufs, &r->root, &r->rec, id, &rel, diag);
    if (err != NB_OK)
        return err;
    uint8_t digest[NB_SHA256_LEN];
    err = hash_slot(r, id, rel.image_size, digest);
    if (err != NB_OK)
        return err;
    if (!nb_ct_equal(digest, rel.image_sha256, NB_SHA256_LEN))
        return nb_diag_set(diag, NB_EBOOT_VERIFY, "image hash mismatch");
    return NB_OK;
}

/* --- decisions ------------------------------------------------------------- */

/* A refused slot is marked BAD (never tried again; if it was primary, the
 * record's fallback becomes primary) except gold, which stays read-only. */
static enum nb_err refuse(struct run *r, enum nb_bootctl_slot_id id, enum nb_err why,
                          const struct nb_diag *diag)
{
    event(r->out, id, why, "slot %s: refused: %s (%s)", nb_slot_name(id), diag->msg,
          nb_errname(why));
    if (id == NB_BOOTCTL_GOLD)
        return NB_OK;
    enum nb_err err = nb_bootctl_mark_bad(&r->rec, id);
    if (err == NB_OK)
        err = nb_boot_control_store(&r->dev->bootctl, &r->rec);
    return err;
}

/* The chosen slot: a good slot booted as a fallback becomes primary (the
 * record must name what actually runs), then the result is filled. */
static enum nb_err choose(struct run *r, enum nb_bootctl_slot_id id)
{
    const struct nb_bootctl_slot *s = &r->rec.slot[id];
    if (s->state == NB_BOOTCTL_GOOD && r->rec.primary != (uint8_t)id) {
        r->rec.primary = (uint8_t)id; /* no transition promotes a good slot */
        enum nb_err err = nb_boot_control_store(&r->dev->bootctl, &r->rec);
        if (err != NB_OK)
            return err;
    }
    struct nb_boot_result *out = r->out;
    out->slot = id;
    memcpy(out->version, s->version, sizeof out->version);
    out->state = s->state;
    out->tries_left = s->tries_left;
    if (s->state == NB_BOOTCTL_TRIAL)
        event(out, id, NB_OK, "slot %s: trial boot of %s, %u tries left", nb_slot_name(id),
              s->version, (unsigned)s->tries_left);
    else
        event(out, id, NB_OK, "slot %s: booting %s", nb_slot_name(id), s->version);
    return NB_OK;
}

/* Verifies id: NB_OK with *booted when chosen; NB_OK without when refused
 * (and recorded); a fatal error otherwise. */
static enum nb_err attempt(struct run *r, enum nb_bootctl_slot_id id, bool *booted)
{
    struct nb_diag diag = {{0}};
    enum nb_err err = verify_slot(r, id, &diag);
    if (err == NB_OK) {
        *booted = true;
        return choose(r, id);
    }
    if (fatal(err))
        return err;
    return refuse(r, id, err, &diag);
}

/* The pending trial, if any. A try is consumed and stored before the slot
 * is even verified: a crash anywhere in the trial boot still counts. */
static enum nb_err try_trial(struct run *r, bool *booted)
{
    int found = -1;
    for (int i = 0; i < NB_BOOTCTL_SLOTS && found < 0; i++)
        if (r->rec.slot[i].state == NB_BOOTCTL_TRIAL)
            found = i;
    if (found < 0)
        return NB_OK;
    enum nb_bootctl_slot_id id = (enum nb_bootctl_slot_id)found;
    if (r->rec.slot[id].tries_left == 0) {
        event(r->out, id, NB_EBOOT_VERIFY, "slot %s: %s not committed after its last try (%s)",
              nb_slot_name(id), r->rec.slot[id].version, nb_errname(NB_EBOOT_VERIFY));
        enum nb_err err = nb_bootctl_mark_bad(&r->rec, id);
        return err == NB_OK ? nb_boot_control_store(&r->dev->bootctl, &r->rec) : err;
    }
    enum nb_err err = nb_bootctl_consume_try(&r->rec, id);
    if (err == NB_OK)
        err = nb_boot_control_store(&r->dev->bootctl, &r->rec);
    if (err != NB_OK)
        return err;
    return attempt(r, id, booted);
}

/* The good slots, in the order the record falls back: the primary, the
 * other of A/B, gold. */
static size_t good_order(const struct nb_bootctl *rec, enum nb_bootctl_slot_id order[3])
{
    static const enum nb_bootctl_slot_id rest[] = {NB_BOOTCTL_A, NB_BOOTCTL_B, NB_BOOTCTL_GOLD};
    size_t n = 0;
    if (rec->primary < NB_BOOTCTL_SLOTS)
        order[n++] = (enum nb_bootctl_slot_id)rec->primary;
    for (size_t i = 0; i < 3; i++)
        if (rest[i] != (enum nb_bootctl_slot_id)rec->primary &&
            rec->slot[rest[i]].state == NB_BOOTCTL_GOOD)
            order[n++] = rest[i];
    return n;
}

size_t nb_boot_candidates(const struct nb_bootctl *rec,
                          enum nb_bootctl_slot_id out[NB_BOOTCTL_SLOTS])
{
    enum nb_bootctl_slot_id good[3];
    size_t n = 0, n_good = good_order(rec, good);
    for (int i = 0; i < NB_BOOTCTL_SLOTS; i++)
        if (rec->slot[i].state == NB_BOOTCTL_TRIAL && rec->slot[i].tries_left > 0)
            out[n++] = (enum nb_bootctl_slot_id)i;
    for (size_t i = 0; i < n_good && n < NB_BOOTCTL_SLOTS; i++)
        if (rec->slot[good[i]].state == NB_BOOTCTL_GOOD)
            out[n++] = good[i];
    return n;
}

static enum nb_err try_good(struct run *r, bool *booted)
{
    enum nb_bootctl_slot_id order[3];
    size_t n = good_order(&r->rec, order);
    for (size_t i = 0; i < n && !*booted; i++) {
        if (r->rec.slot[order[i]].state != NB_BOOTCTL_GOOD)
            continue;
        enum nb_err err = attempt(r, order[i], booted);
        if (err != NB_OK)
            return err;
    }
    return NB_OK;
}

/* The root every candidate is verified against. Without one nothing can be
 * verified, but nothing is marked either: the slots are not at fault. */
static enum nb_err load_root(struct run *r)
{
    struct nb_diag diag = {{0}};
    size_t len = 0;
    const struct nb_boot_bufs *b = r->bufs;
    enum nb_err err = nb_trust_load(r->dev->trust, b->trust_text, b->trust_cap, &len, b->scratch,
                                    b->scratch_len, &r->root, &diag);
    if (err == NB_OK || fatal(err))
        return err;
    enum nb_bootctl_slot_id slot =
        r->rec.primary < NB_BOOTCTL_SLOTS ? (enum nb_bootctl_slot_id)r->rec.primary : NB_BOOTCTL_A;
    event(r->out, slot, err, "trust store unusable, nothing can be verified: %s (%s)", diag.msg,
          nb_errname(err));
    return NB_EBOOT_VERIFY;
}

enum nb_err nb_boot_run(const struct nb_boot_device *dev, const struct nb_boot_bufs *bufs,
                        struct nb_boot_result *out)
{
    memset(out, 0, sizeof *out);
    if (!bufs_ok(bufs))
        return NB_EINVAL;
    struct nb_caps caps;
    nb_boot_caps(dev->layout, &caps);
    enum nb_err err = nb_caps_write(dev->flash, dev->layout->caps, &caps);
    if (err != NB_OK)
        return err;
    struct run r = {.dev = dev, .bufs = bufs, .out = out};
    err = nb_boot_control_load(&dev->bootctl, &r.rec, NULL);
    if (err == NB_OK)
        err = load_root(&r);
    bool booted = false;
    if (err == NB_OK)
        err = try_trial(&r, &booted);
    if (err == NB_OK && !booted)
        err = try_good(&r, &booted);
    if (err == NB_OK && !booted)
        err = NB_EBOOT_VERIFY;
    return err;
}
