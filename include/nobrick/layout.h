/* The device's flash layout: where boot control, the journal, the trust
 * store, the bootloader's capability record, each slot's metadata and each
 * slot live (lib/core/layout.c). Computed, not stored: the agent, the
 * bootloader and the simulator derive the same layout from the same
 * geometry and sizes, so there is no layout table to corrupt. Order on
 * flash, each region starting and ending on an erase-sector boundary:
 *   bootctl[0] bootctl[1] journal[0] journal[1] trust[0] trust[1] caps
 *   meta[A] meta[B] (meta[GOLD]) slot[A] slot[B] (slot[GOLD]) */
#ifndef NOBRICK_LAYOUT_H
#define NOBRICK_LAYOUT_H

#include <nobrick/bootctl.h>
#include <nobrick/err.h>
#include <nobrick/hal.h>

#include <stdbool.h>
#include <stdint.h>

#define NB_LAYOUT_TRUST_LEN (64u * 1024)     /* one copy of the trust store, before rounding */
#define NB_LAYOUT_META_DEFAULT (512u * 1024) /* one slot's metadata region */

struct nb_layout {
    bool has_gold;
    uint64_t slot_size; /* bytes, rounded up to the erase size */
    struct nb_region bootctl[2];
    struct nb_region journal[2];
    struct nb_region trust[2];
    struct nb_region caps;
    struct nb_region meta[NB_BOOTCTL_SLOTS]; /* meta[GOLD] zero-length without gold */
    struct nb_region slot[NB_BOOTCTL_SLOTS]; /* slot[GOLD] zero-length without gold */
    uint64_t end; /* first byte after the last region: the flash size needed */
};

/* Computes the layout for an erase size, a slot size and a metadata size
 * (0: NB_LAYOUT_META_DEFAULT). NB_EINVAL for a zero size or an erase size
 * that is not a power of two; NB_ELENGTH when the sum overflows. The
 * result's end is the flash size provisioning must create. */
NB_MUST_CHECK enum nb_err nb_layout_compute(uint32_t erase_size, uint64_t slot_size,
                                            uint32_t meta_size, bool has_gold,
                                            struct nb_layout *out);

/* Checks a computed layout against a flash: every region valid for its
 * geometry and the flash large enough (NB_ENOSPC otherwise, with a diag
 * naming the sizes). */
NB_MUST_CHECK enum nb_err nb_layout_check(const struct nb_layout *l,
                                          const struct nb_flash_geometry *g, struct nb_diag *diag);

/* "A", "B", "gold". */
const char *nb_slot_name(enum nb_bootctl_slot_id id);

#endif
