/* The shared sector store of flash_mem (flash_mem_store.c): each distinct
 * sector content held once, found by its hash, freed with its last
 * reference. Internal to lib/hal/sim. */
#ifndef NOBRICK_HAL_SIM_FLASH_MEM_STORE_H
#define NOBRICK_HAL_SIM_FLASH_MEM_STORE_H

#include <nobrick/flash_mem.h>

#include <stddef.h>
#include <stdint.h>

/* One stored content: immutable while referenced. */
struct nb__mem_sector {
    struct nb__mem_sector *next; /* hash chain */
    uint64_t hash;
    uint64_t refs;
    uint8_t data[]; /* the store's erase_size bytes */
};

uint32_t nb__mem_store_erase_size(const struct nb_flash_mem_store *st);

/* The stored sector equal to data (erase_size bytes), with one more
 * reference; created from a copy of data when there is none. NULL: no
 * memory. */
struct nb__mem_sector *nb__mem_store_intern(struct nb_flash_mem_store *st, const uint8_t *data);
/* One more reference to s. */
void nb__mem_store_ref(struct nb_flash_mem_store *st, struct nb__mem_sector *s);
/* One reference fewer; freed with its last. */
void nb__mem_store_unref(struct nb_flash_mem_store *st, struct nb__mem_sector *s);

#endif
