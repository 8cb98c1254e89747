/* The server's clock (clock.h). Without a clock file, time(NULL). With
 * one, the mapped int64 is read with an atomic load: the simulator writes
 * it with an atomic store, so a reader never sees half of a new value. The
 * mapping is made once, before the request and engine threads exist, and
 * undone after they stopped: the pointer itself needs no lock. */
#include "clock.h"
#include "srv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(_Atomic int64_t) == SRV_CLOCK_FILE_LEN, "the clock file is one int64");

static _Atomic int64_t *clock_map;

int64_t srv_now(void)
{
    _Atomic int64_t *m = clock_map;
    return m != NULL ? atomic_load(m) : (int64_t)time(NULL);
}

bool srv_clock_virtual(void)
{
    return clock_map != NULL;
}

/* A new (empty) clock file starts at the real time. */
static bool fill_empty(int fd)
{
    int64_t now = (int64_t)time(NULL);
    return pwrite(fd, &now, sizeof now, 0) == (ssize_t)sizeof now;
}

enum nb_err srv_clock_open(const char *path, struct nb_diag *diag)
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return nb_diag_set(diag, NB_EIO, "--clock-file %s: %s", path, strerror(errno));
    enum nb_err err = NB_OK;
    if (fstat(fd, &st) != 0 || (st.st_size == 0 && !fill_empty(fd)) || fstat(fd, &st) != 0)
        err = nb_diag_set(diag, NB_EIO, "--clock-file %s: %s", path, strerror(errno));
    else if (st.st_size != SRV_CLOCK_FILE_LEN)
        err = nb_diag_set(diag, NB_EINVAL,
                          "--clock-file %s: %lld bytes; it must hold exactly one 8-byte "
                          "native-endian int64 of Unix seconds",
                          path, (long long)st.st_size);
    void *m =
        err == NB_OK ? mmap(NULL, SRV_CLOCK_FILE_LEN, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (err == NB_OK && m == MAP_FAILED)
        err = nb_diag_set(diag, NB_EIO, "--clock-file %s: mmap: %s", path, strerror(errno));
    (void)close(fd);
    if (err != NB_OK)
        return err;
    if (atomic_load((_Atomic int64_t *)m) <= 0) {
        (void)munmap(m, SRV_CLOCK_FILE_LEN);
        return nb_diag_set(diag, NB_EINVAL, "--clock-file %s: holds no positive Unix time", path);
    }
    clock_map = m;
    return NB_OK;
}

void srv_clock_close(void)
{
    if (clock_map != NULL)
        (void)munmap((void *)clock_map, SRV_CLOCK_FILE_LEN);
    clock_map = NULL;
}
