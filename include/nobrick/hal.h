/* The hardware abstraction of the device side: flash, boot control, clock and
 * random. Each HAL is a const ops table plus a context, passed in by the
 * caller and never reached through a global (SQLite's VFS), so the core, the
 * bootloader and the simulator run unchanged on a file, a block device, an
 * MCU's NOR flash or the power-cut simulator (lib/hal/sim). */
#ifndef NOBRICK_HAL_H
#define NOBRICK_HAL_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- flash ----------------------------------------------------------------
 *
 * The contract is NOR-like, the strictest of the media nobrick targets:
 * - erase(off, len): off and len are multiples of erase_size; afterwards the
 *   range reads as erased_val (0xFF) when needs_erase is true, and is
 *   unspecified otherwise (a block device has nothing to erase).
 * - program(off, buf, len): off and len are multiples of write_size; when
 *   needs_erase is true every byte programmed must be erased first (NOR can
 *   only clear bits; the simulator refuses anything else with NB_EIO).
 * - read(off, buf, len): any alignment.
 * Ranges outside [0, size) are NB_EINVAL. A power cut can interrupt any
 * program or erase: code that must survive one never relies on a program
 * or erase being atomic (see docs/device-state.md). */
struct nb_flash_geometry {
    uint64_t size;       /* bytes */
    uint32_t erase_size; /* bytes, power of two */
    uint32_t write_size; /* bytes, power of two, divides erase_size */
    uint8_t erased_val;  /* value of an erased byte (0xFF for NOR) */
    bool needs_erase;    /* program only on erased bytes */
};

struct nb_flash_ops {
    enum nb_err (*read)(void *ctx, uint64_t off, void *buf, size_t len);
    enum nb_err (*program)(void *ctx, uint64_t off, const void *buf, size_t len);
    enum nb_err (*erase)(void *ctx, uint64_t off, uint64_t len);
    /* Makes every completed program and erase durable, and makes the reads
     * that follow come from the medium, not a cache (files: fdatasync, then
     * the cached pages dropped), so a read-back after a sync verifies what
     * the storage holds. */
    enum nb_err (*sync)(void *ctx);
    void (*geometry)(void *ctx, struct nb_flash_geometry *out);
};

struct nb_flash {
    const struct nb_flash_ops *ops;
    void *ctx;
};

NB_MUST_CHECK static inline enum nb_err nb_flash_read(const struct nb_flash *f, uint64_t off,
                                                      void *buf, size_t len)
{
    return f->ops->read(f->ctx, off, buf, len);
}
NB_MUST_CHECK static inline enum nb_err nb_flash_program(const struct nb_flash *f, uint64_t off,
                                                         const void *buf, size_t len)
{
    return f->ops->program(f->ctx, off, buf, len);
}
NB_MUST_CHECK static inline enum nb_err nb_flash_erase(const struct nb_flash *f, uint64_t off,
                                                       uint64_t len)
{
    return f->ops->erase(f->ctx, off, len);
}
NB_MUST_CHECK static inline enum nb_err nb_flash_sync(const struct nb_flash *f)
{
    return f->ops->sync(f->ctx);
}
static inline void nb_flash_geometry(const struct nb_flash *f, struct nb_flash_geometry *out)
{
    f->ops->geometry(f->ctx, out);
}

/* --- regions ----------------------------------------------------------------
 * A region is a range of flash owned by one user (a slot, a boot-control
 * copy, the journal). The layout checks every region once with
 * nb_region_valid; the helpers are written so that off + len never
 * overflows, which stops a crafted layout from wrapping around to offset 0. */
struct nb_region {
    uint64_t off;
    uint64_t len;
};

/* True when r is non-empty, lies inside the flash and starts and ends on
 * erase-sector boundaries (so erasing it never touches a neighbour). */
static inline bool nb_region_valid(const struct nb_region *r, const struct nb_flash_geometry *g)
{
    if (r->len == 0 || r->off > g->size || r->len > g->size - r->off)
        return false;
    return r->off % g->erase_size == 0 && r->len % g->erase_size == 0;
}

/* True when [off, off+len) lies inside r. */
static inline bool nb_region_contains(const struct nb_region *r, uint64_t off, uint64_t len)
{
    return off >= r->off && off - r->off <= r->len && len <= r->len - (off - r->off);
}

static inline bool nb_region_overlap(const struct nb_region *a, const struct nb_region *b)
{
    if (a->len == 0 || b->len == 0)
        return false;
    return a->off < b->off ? b->off - a->off < a->len : a->off - b->off < b->len;
}

/* --- boot control -------------------------------------------------------------
 * Where the per-slot states live: the two-copy on-flash record
 * (lib/core/bootctl.c, for the simulator and MCU-style devices) or a
 * bootloader's environment. load fills a struct nb_bootctl (see
 * nobrick/bootctl.h) with the newest valid state; store replaces it so that a
 * power cut leaves either the old or the new state, never a mix. */
struct nb_bootctl;

struct nb_boot_control_ops {
    enum nb_err (*load)(void *ctx, struct nb_bootctl *out, struct nb_diag *diag);
    enum nb_err (*store)(void *ctx, const struct nb_bootctl *rec);
};

struct nb_boot_control {
    const struct nb_boot_control_ops *ops;
    void *ctx;
};

/* load: NB_OK and *out written, or NB_EPARSE (nothing valid stored: diag
 * names what), NB_EIO, NB_ENOMEM; *out is untouched on failure. store:
 * NB_EINVAL for a record failing nb_bootctl_check, else the backend's I/O
 * error, and the stored state is then the old one or the new one. */
NB_MUST_CHECK static inline enum nb_err
nb_boot_control_load(const struct nb_boot_control *bc, struct nb_bootctl *out, struct nb_diag *diag)
{
    return bc->ops->load(bc->ctx, out, diag);
}
NB_MUST_CHECK static inline enum nb_err nb_boot_control_store(const struct nb_boot_control *bc,
                                                              const struct nb_bootctl *rec)
{
    return bc->ops->store(bc->ctx, rec);
}

/* --- clock ----------------------------------------------------------------- */
struct nb_clock_ops {
    /* Monotonic milliseconds since an arbitrary origin; never goes back. */
    enum nb_err (*now_ms)(void *ctx, uint64_t *out_ms);
    /* Wall-clock seconds since the Unix epoch; may jump, may be unknown
     * (NB_EUNSUPPORTED on a device without a real-time clock). */
    enum nb_err (*unix_s)(void *ctx, int64_t *out_s);
};

struct nb_clock {
    const struct nb_clock_ops *ops;
    void *ctx;
};

/* --- random ---------------------------------------------------------------- */
struct nb_rng_ops {
    /* Fills buf with len bytes fit for nonces and keys (the seeded simulator
     * backend is deterministic and for tests only). */
    enum nb_err (*fill)(void *ctx, void *buf, size_t len);
};

struct nb_rng {
    const struct nb_rng_ops *ops;
    void *ctx;
};

#endif
