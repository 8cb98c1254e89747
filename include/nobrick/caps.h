/* The bootloader's capability record (lib/core/caps.c): what the bootloader
 * in the field can do, written by it at every boot when it changed, read by
 * the agent before it installs. An agent must never arm a trial the
 * bootloader cannot count, or rely on anti-rollback it does not enforce
 * (the ESP-IDF "rollback silently inactive" failures). One copy in its own
 * sector, with a CRC; an unreadable record reads as "unknown", and the agent
 * then refuses to install (NB_EINCOMPAT) until the next boot rewrites it. */
#ifndef NOBRICK_CAPS_H
#define NOBRICK_CAPS_H

#include <nobrick/err.h>
#include <nobrick/hal.h>

#include <stdbool.h>
#include <stdint.h>

#define NB_CAPS_MAGIC 0x5043424Eu /* "NBCP" */
#define NB_CAPS_LEN 64            /* bytes on flash */

struct nb_caps {
    uint32_t boot_version;   /* the bootloader's own version, e.g. 0x000100 for 0.1.0 */
    uint8_t max_tries;       /* largest tries count it honours, >= 1 */
    bool anti_rollback;      /* enforces the minimum security counter */
    bool verifies_signature; /* verifies the release signature and digest before boot */
    uint8_t slots;           /* 2, or 3 with a gold slot */
};

/* Writes caps into region (erase, program) unless it already holds them:
 * the bootloader calls this at every boot and wears nothing when unchanged. */
NB_MUST_CHECK enum nb_err nb_caps_write(const struct nb_flash *flash, struct nb_region region,
                                        const struct nb_caps *caps);

/* Reads the record: NB_EPARSE (diag says why) when absent or corrupt. */
NB_MUST_CHECK enum nb_err nb_caps_read(const struct nb_flash *flash, struct nb_region region,
                                       struct nb_caps *out, struct nb_diag *diag);

/* The agent's check before an install: NB_EINCOMPAT with a diag naming the
 * missing capability when caps cannot run an update needing tries and
 * anti-rollback ("bootloader 0.1.0 supports 1 boot try, this update needs 3"). */
NB_MUST_CHECK enum nb_err nb_caps_check(const struct nb_caps *caps, uint8_t tries,
                                        struct nb_diag *diag);

#endif
