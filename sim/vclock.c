/* The shared clock file (vclock.h): mapped read-write, written with one
 * atomic 8-byte store, which the server reads with one atomic load. */
#include "vclock.h"

#include <nobrick/alloc.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define VCLOCK_LEN 8

_Static_assert(sizeof(_Atomic int64_t) == VCLOCK_LEN, "the clock file is one int64");

struct sim_vclock {
    _Atomic int64_t *map;
};

enum nb_err sim_vclock_open(const char *path, struct sim_vclock **out, struct nb_diag *diag)
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return nb_diag_set(diag, NB_EIO, "--clock-file %s: %s (start the server with it first)",
                           path, strerror(errno));
    enum nb_err err = NB_OK;
    if (fstat(fd, &st) != 0 || st.st_size != VCLOCK_LEN)
        err = nb_diag_set(diag, NB_EINVAL, "--clock-file %s: not the server's 8-byte clock file",
                          path);
    void *m = err == NB_OK ? mmap(NULL, VCLOCK_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                           : MAP_FAILED;
    if (err == NB_OK && m == MAP_FAILED)
        err = nb_diag_set(diag, NB_EIO, "--clock-file %s: mmap: %s", path, strerror(errno));
    (void)close(fd);
    struct sim_vclock *v = err == NB_OK ? nb_calloc(1, sizeof *v) : NULL;
    if (err == NB_OK && v == NULL) {
        (void)munmap(m, VCLOCK_LEN);
        err = nb_diag_set(diag, NB_ENOMEM, "out of memory");
    }
    if (err != NB_OK)
        return err;
    v->map = m;
    *out = v;
    return NB_OK;
}

void sim_vclock_close(struct sim_vclock *v)
{
    if (v == NULL)
        return;
    (void)munmap((void *)v->map, VCLOCK_LEN);
    nb_free(v);
}

void sim_vclock_set(struct sim_vclock *v, int64_t unix_s)
{
    atomic_store(v->map, unix_s);
}
