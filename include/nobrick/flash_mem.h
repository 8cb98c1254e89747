/* Simulated NOR flash in memory, stored compactly (lib/hal/sim/flash_mem.c),
 * for the fleet simulator: the same rules and power-cut model as
 * flash_sim.h (erase before program, aligned writes and erases, cuts that
 * tear the operation in progress), but held by erase sector so that
 * thousands of devices fit in memory:
 * - an erased sector costs nothing;
 * - a sector equal to one in the shared store costs a pointer: the store
 *   holds each distinct sector content once (content-addressed,
 *   reference-counted), so devices provisioned from one factory image, or
 *   that installed the same release, share its sectors;
 * - a sector written since the last nb_flash_mem_share is private to the
 *   device (its overlay) until it is shared again.
 * Not thread-safe: a store and its flashes belong to one thread. */
#ifndef NOBRICK_FLASH_MEM_H
#define NOBRICK_FLASH_MEM_H

#include <nobrick/err.h>
#include <nobrick/flash_sim.h>
#include <nobrick/hal.h>

#include <stdbool.h>
#include <stdint.h>

struct nb_flash_mem_store;
struct nb_flash_mem;

/* A store of shared sectors of erase_size bytes (a power of two). NB_EINVAL
 * for a bad size, NB_ENOMEM. */
NB_MUST_CHECK enum nb_err nb_flash_mem_store_new(uint32_t erase_size,
                                                 struct nb_flash_mem_store **out);
/* Frees the store; every flash using it must be freed first. NULL: no-op. */
void nb_flash_mem_store_free(struct nb_flash_mem_store *st);

struct nb_flash_mem_store_usage {
    uint64_t sectors; /* distinct contents held */
    uint64_t refs;    /* device sectors pointing at them */
    uint64_t bytes;   /* memory the store uses, its index included */
};
void nb_flash_mem_store_usage(const struct nb_flash_mem_store *st,
                              struct nb_flash_mem_store_usage *out);

struct nb_flash_mem_config {
    uint64_t size;       /* multiple of erase_size */
    uint32_t erase_size; /* the store's */
    uint32_t write_size; /* power of two dividing erase_size, e.g. 16 */
};

/* A fully erased flash sharing sectors through st (borrowed: it must
 * outlive the flash). Power is on, no cut armed. NB_EINVAL for a bad
 * geometry or an erase size other than the store's, NB_ENOMEM. */
NB_MUST_CHECK enum nb_err nb_flash_mem_new(struct nb_flash_mem_store *st,
                                           const struct nb_flash_mem_config *cfg,
                                           struct nb_flash_mem **out);
/* A new flash with src's contents (src is shared first, see below): it
 * costs its sector table only. Power on, no cut armed, counters zero. */
NB_MUST_CHECK enum nb_err nb_flash_mem_clone(struct nb_flash_mem *src, struct nb_flash_mem **out);
/* Frees m, releasing its sectors; NULL is a no-op. */
void nb_flash_mem_free(struct nb_flash_mem *m);

/* The flash HAL of m; valid until nb_flash_mem_free. */
struct nb_flash nb_flash_mem_flash(struct nb_flash_mem *m);

/* Moves m's private sectors into the store (an erased one is dropped, one
 * equal to a stored content points at it): the contents are unchanged, the
 * memory is shared. Cheap to call often (once per simulated reboot):
 * only sectors written since the last call are hashed. NB_ENOMEM leaves m
 * as it was for the sectors not yet moved. */
NB_MUST_CHECK enum nb_err nb_flash_mem_share(struct nb_flash_mem *m);

/* Power cuts, as in flash_sim.h: the next n_ops programs and erases
 * complete, the one after is cut (with tear: a prefix chosen from seed is
 * applied, the byte after it half-changed; without: nothing of it); then
 * every operation fails with NB_EIO until restore_power. */
void nb_flash_mem_cut_after(struct nb_flash_mem *m, uint64_t n_ops, bool tear, uint64_t seed);
void nb_flash_mem_disarm(struct nb_flash_mem *m);
bool nb_flash_mem_power_lost(const struct nb_flash_mem *m);
/* Power back on: the flash keeps what the cut left; nothing armed. */
void nb_flash_mem_restore_power(struct nb_flash_mem *m);

/* Operation counters, as flash_sim's (wear is not tracked here). */
void nb_flash_mem_stats(const struct nb_flash_mem *m, struct nb_flash_sim_stats *out);
void nb_flash_mem_reset_stats(struct nb_flash_mem *m);

struct nb_flash_mem_usage {
    uint64_t private_sectors; /* the overlay: written since the last share */
    uint64_t shared_sectors;  /* pointing into the store */
    uint64_t bytes;           /* this flash's own memory: overlay, sector table, state */
};
void nb_flash_mem_usage(const struct nb_flash_mem *m, struct nb_flash_mem_usage *out);

/* Why the most recent failure happened ("" if none has). */
const char *nb_flash_mem_last_error(const struct nb_flash_mem *m);

#endif
