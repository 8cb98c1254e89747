/* A slot's metadata region (lib/core/slotmeta.c): the signed release
 * envelope and the frame table of the image in that slot, kept with it so
 * the bootloader can re-verify the slot before booting it (secure boot) and
 * an interrupted install can resume without fetching them again. Written
 * while the slot is INSTALLING (never bootable), so it needs no second copy:
 * a torn write is found by the CRC or, at worst, by the signature check.
 * Layout, little-endian: "NBMETA\0\0" (8), u16 format = 1, u16 reserved,
 * u32 envelope_len, u32 table_len, u32 CRC-32 of the 20 bytes before it,
 * then the envelope text, then the table. */
#ifndef NOBRICK_SLOTMETA_H
#define NOBRICK_SLOTMETA_H

#include <nobrick/err.h>
#include <nobrick/hal.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_SLOTMETA_HEADER_LEN 24

/* Erases region and writes the envelope and table into it. NB_ENOSPC when
 * they do not fit (diag names the sizes). */
NB_MUST_CHECK enum nb_err nb_slotmeta_write(const struct nb_flash *flash, struct nb_region region,
                                            const uint8_t *envelope, size_t envelope_len,
                                            const uint8_t *table, size_t table_len,
                                            struct nb_diag *diag);

/* Sets *equal when region already holds exactly this envelope and table
 * (what nb_slotmeta_write would write), so a resumed install does not
 * rewrite it. Reads in small pieces; NB_EIO on a read failure. */
NB_MUST_CHECK enum nb_err nb_slotmeta_matches(const struct nb_flash *flash, struct nb_region region,
                                              const uint8_t *envelope, size_t envelope_len,
                                              const uint8_t *table, size_t table_len, bool *equal);

/* Reads the envelope text into env_buf (env_cap) and, when table_buf is not
 * NULL, the table into table_buf (table_cap). NB_EPARSE for a bad header or
 * CRC, NB_ELENGTH when a part is larger than its buffer. The caller verifies
 * what it read: nothing here is trusted. */
NB_MUST_CHECK enum nb_err nb_slotmeta_read(const struct nb_flash *flash, struct nb_region region,
                                           uint8_t *env_buf, size_t env_cap, size_t *env_len,
                                           uint8_t *table_buf, size_t table_cap, size_t *table_len,
                                           struct nb_diag *diag);

#endif
