/* Whole-file reads with a hard cap and atomic writes, for host programs
 * (lib/host/fileio.c). Device code reads flash through its HAL. */
#ifndef NOBRICK_FILEIO_H
#define NOBRICK_FILEIO_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads all of path into a new buffer (NUL-terminated for convenience; the
 * NUL is not counted in *len). NB_ELENGTH when the file is larger than max,
 * NB_ENOENT when it does not exist, NB_EIO otherwise; diag names the path and
 * the OS reason. The caller frees *buf with nb_free. */
NB_MUST_CHECK enum nb_err nb_file_read(const char *path, size_t max, uint8_t **buf, size_t *len,
                                       struct nb_diag *diag);

/* Writes data to path atomically: a temporary file beside it, fsync, rename,
 * fsync of the directory. mode is the file's permission bits (0600 for
 * secrets). With exclusive, NB_EEXIST if path already exists (nothing is
 * overwritten). */
NB_MUST_CHECK enum nb_err nb_file_write_atomic(const char *path, const void *data, size_t len,
                                               mode_t mode, bool exclusive, struct nb_diag *diag);

#endif
