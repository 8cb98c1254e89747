/* Simulated NOR flash backed by a file (lib/hal/sim/flash_sim.c), for tests
 * and nobrick-sim. It is stricter than real parts so bugs show up in tests:
 * program only on erased bytes (MCUboot's simflash), aligned writes and
 * erases, and power cuts that can tear the operation in progress (a prefix
 * applied, the rest left as it was), the failure MCUboot's simulator missed.
 * It counts operations, bytes and per-sector erases (wear), like littlefs's
 * emubd. The file holds the flash contents, so reopening it is a reboot. */
#ifndef NOBRICK_FLASH_SIM_H
#define NOBRICK_FLASH_SIM_H

#include <nobrick/err.h>
#include <nobrick/hal.h>

#include <stdbool.h>
#include <stdint.h>

struct nb_flash_sim;

struct nb_flash_sim_config {
    uint64_t size;       /* multiple of erase_size */
    uint32_t erase_size; /* power of two, e.g. 4096 */
    uint32_t write_size; /* power of two dividing erase_size, e.g. 16 */
    bool create;         /* create or truncate the file, fully erased */
};

struct nb_flash_sim_stats {
    uint64_t reads, programs, erases; /* operations accepted, torn ones included */
    uint64_t bytes_read, bytes_programmed, bytes_erased;
    uint64_t violations;    /* programs refused: a target byte was not erased */
    uint64_t torn;          /* operations torn by a power cut */
    uint64_t last_torn_len; /* bytes fully applied by the last torn operation */
};

/* Opens (or with cfg->create, creates) the flash file at path. With create
 * false the file must already be exactly cfg->size bytes. Power is on and no
 * cut is armed. NB_EINVAL on a bad geometry, NB_EIO on a file error (diag
 * says which), NB_ENOMEM. The caller closes *out with nb_flash_sim_close. */
NB_MUST_CHECK enum nb_err nb_flash_sim_open(const char *path, const struct nb_flash_sim_config *cfg,
                                            struct nb_flash_sim **out, struct nb_diag *diag);
/* Closes the file and frees sim; NULL is a no-op. */
void nb_flash_sim_close(struct nb_flash_sim *sim);

/* The flash HAL of sim; valid until nb_flash_sim_close. */
struct nb_flash nb_flash_sim_flash(struct nb_flash_sim *sim);

/* Arms a power cut: the next n_ops programs and erases complete, the one
 * after is cut. With tear, a prefix of that operation chosen from seed is
 * applied (the byte after the prefix half-changed); without, none of it.
 * From then on every operation, reads included, fails with NB_EIO and
 * nb_flash_sim_power_lost is true. Refused operations (misaligned, out of
 * range, program on unerased bytes) do not count. */
void nb_flash_sim_cut_after(struct nb_flash_sim *sim, uint64_t n_ops, bool tear, uint64_t seed);
/* Disarms a pending cut. */
void nb_flash_sim_disarm(struct nb_flash_sim *sim);
/* True once a cut has happened. (The HAL reports NB_EIO; a dedicated error
 * code for a power loss would let callers tell it apart without asking.) */
bool nb_flash_sim_power_lost(const struct nb_flash_sim *sim);
/* Power back on without reopening: the flash keeps what the cut left. */
void nb_flash_sim_restore_power(struct nb_flash_sim *sim);

/* Counters since open or the last reset. "Count ops" mode is simply running
 * a scenario without a cut and reading programs + erases. */
void nb_flash_sim_stats(const struct nb_flash_sim *sim, struct nb_flash_sim_stats *out);
void nb_flash_sim_reset_stats(struct nb_flash_sim *sim);
/* Erases of one sector since open (wear); 0 for an index out of range. */
uint32_t nb_flash_sim_erase_count(const struct nb_flash_sim *sim, uint64_t sector);
/* The most-erased sector's count. */
uint32_t nb_flash_sim_max_erase_count(const struct nb_flash_sim *sim);
/* Why the most recent failure happened (empty string if none has). */
const char *nb_flash_sim_last_error(const struct nb_flash_sim *sim);

#endif
