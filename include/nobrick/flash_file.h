/* Flash HAL on a plain file or a block device (lib/hal/posix/flash_file.c),
 * for Linux A/B slots. A file or a block device has nothing to erase:
 * erase is a no-op and program (pwrite) may overwrite any bytes, so the
 * geometry says needs_erase = false and the erase size is only the unit the
 * layout aligns regions to. Skipping a real erase (writing 0xFF, or a
 * discard) saves a full extra write of every slot on eMMC and SD cards. */
#ifndef NOBRICK_FLASH_FILE_H
#define NOBRICK_FLASH_FILE_H

#include <nobrick/err.h>
#include <nobrick/hal.h>

#include <stdbool.h>
#include <stdint.h>

struct nb_flash_file;

struct nb_flash_file_config {
    uint64_t size;       /* bytes; 0 = the size of the existing file or device */
    uint32_t erase_size; /* power of two, alignment of regions (e.g. 4096) */
    uint32_t write_size; /* power of two dividing erase_size (1, or 512 for
                            a block device) */
    bool create;         /* create a regular file of size bytes if missing */
};

/* Opens path read-write. A regular file shorter than cfg->size is extended
 * (with zeros) only when cfg->create; a device or file smaller than
 * cfg->size is NB_ENOSPC. NB_EINVAL on a bad geometry, NB_ENOENT, NB_EIO
 * (diag names the path and the OS reason), NB_ENOMEM. The caller closes
 * *out with nb_flash_file_close. */
NB_MUST_CHECK enum nb_err nb_flash_file_open(const char *path,
                                             const struct nb_flash_file_config *cfg,
                                             struct nb_flash_file **out, struct nb_diag *diag);
/* Closes the file (without syncing) and frees ff; NULL is a no-op. */
void nb_flash_file_close(struct nb_flash_file *ff);

/* The flash HAL of ff; sync is nb_flash_file_drop_cache (fdatasync, then
 * the cached pages dropped), so a read-back after a sync reads the storage.
 * Valid until nb_flash_file_close. */
struct nb_flash nb_flash_file_flash(struct nb_flash_file *ff);

/* Syncs, then asks the kernel to drop the file's cached pages, so the next
 * read comes from the storage (a read-back verify or a benchmark that must
 * not measure the page cache). Advisory: the kernel may keep dirty or mapped
 * pages. NB_EIO on a sync failure. */
NB_MUST_CHECK enum nb_err nb_flash_file_drop_cache(struct nb_flash_file *ff);

#endif
