/* Whole-file reads with a hard cap, and atomic writes, for host programs.
 *
 * Reads never trust st_size alone (a file can grow while it is read), so the
 * cap is enforced on the bytes actually read. Writes go to a temporary file
 * beside the target and are published with rename (or link, which cannot
 * overwrite, for exclusive creation), so a crash leaves the old or the new
 * file, never a torn one. */
#include <nobrick/alloc.h>
#include <nobrick/crypto.h>
#include <nobrick/encoding.h>
#include <nobrick/fileio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Maps an OS failure to a code, with the path and the OS's reason in diag. */
static enum nb_err os_fail(struct nb_diag *diag, const char *what, const char *path, int e)
{
    enum nb_err err = e == ENOENT ? NB_ENOENT : e == EEXIST ? NB_EEXIST : NB_EIO;
    return nb_diag_set(diag, err, "%s %s: %s", what, path, strerror(e));
}

static ssize_t read_retry(int fd, void *buf, size_t len)
{
    ssize_t n;
    do {
        n = read(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n;
}

/* Opens path for reading, refusing anything but a regular file within max.
 * O_NONBLOCK keeps a FIFO from blocking the open before fstat refuses it. */
static enum nb_err open_regular(const char *path, size_t max, int *fd_out, size_t *size_out,
                                struct nb_diag *diag)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return os_fail(diag, "open", path, errno);
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return os_fail(diag, "stat", path, e);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return nb_diag_set(diag, NB_EIO, "read %s: not a regular file", path);
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
        close(fd);
        return nb_diag_set(diag, NB_ELENGTH, "read %s: %jd bytes, over the limit of %zu", path,
                           (intmax_t)st.st_size, max);
    }
    *fd_out = fd;
    *size_out = (size_t)st.st_size;
    return NB_OK;
}

/* Makes room for at least one more byte, without passing max. */
static enum nb_err grow(uint8_t **b, size_t *cap, size_t max)
{
    size_t step = *cap > 4096 ? *cap : 4096;
    size_t ncap = step > max - *cap ? max : *cap + step;
    uint8_t *nb = nb_realloc(*b, ncap + 1);
    if (nb == NULL)
        return NB_ENOMEM;
    *b = nb;
    *cap = ncap;
    return NB_OK;
}

/* Reads to EOF into *b (cap bytes plus room for a NUL), growing up to max. */
static enum nb_err read_all(int fd, const char *path, size_t max, uint8_t **b, size_t cap,
                            size_t *used_out, struct nb_diag *diag)
{
    size_t used = 0;
    for (;;) {
        uint8_t extra;
        ssize_t n = used < cap ? read_retry(fd, *b + used, cap - used) : read_retry(fd, &extra, 1);
        if (n < 0)
            return os_fail(diag, "read", path, errno);
        if (n == 0)
            break;
        if (used < cap) {
            used += (size_t)n;
            continue;
        }
        /* The file grew since fstat: keep it only while it stays within max. */
        if (cap == max)
            return nb_diag_set(diag, NB_ELENGTH, "read %s: grew past the limit of %zu", path, max);
        if (grow(b, &cap, max) != NB_OK)
            return nb_diag_set(diag, NB_ENOMEM, "read %s: out of memory", path);
        (*b)[used++] = extra;
    }
    (*b)[used] = '\0';
    *used_out = used;
    return NB_OK;
}

enum nb_err nb_file_read(const char *path, size_t max, uint8_t **buf, size_t *len,
                         struct nb_diag *diag)
{
    int fd = -1;
    size_t size = 0, used = 0;

    if (max > SIZE_MAX - 1)
        max = SIZE_MAX - 1; /* room for the NUL */
    enum nb_err err = open_regular(path, max, &fd, &size, diag);
    if (err != NB_OK)
        return err;
    uint8_t *b = nb_malloc(size + 1);
    if (b == NULL) {
        err = nb_diag_set(diag, NB_ENOMEM, "read %s: out of memory", path);
        goto out;
    }
    err = read_all(fd, path, max, &b, size, &used, diag);
    if (err == NB_OK) {
        *buf = b;
        *len = used;
        b = NULL;
    }
out:
    nb_free(b);
    close(fd);
    return err;
}

/* --- atomic write ---------------------------------------------------------- */

/* Where a file goes: its directory, opened, and its name within it. */
struct target {
    int dirfd;
    const char *base;
    char tmp[NAME_MAX + 1];
};

static enum nb_err target_open(struct target *t, const char *path, struct nb_diag *diag)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash == NULL ? 0 : (size_t)(slash - path);

    t->base = slash == NULL ? path : slash + 1;
    /* ".<base>.tmp.<16 hex>" must fit in one directory entry name. */
    if (t->base[0] == '\0' || strlen(t->base) > NAME_MAX - 22 || dir_len >= sizeof dir)
        return nb_diag_set(diag, NB_EINVAL, "write %s: not a usable file name", path);
    if (slash == NULL)
        memcpy(dir, ".", 2);
    else if (dir_len == 0)
        memcpy(dir, "/", 2);
    else {
        memcpy(dir, path, dir_len);
        dir[dir_len] = '\0';
    }
    t->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (t->dirfd < 0)
        return os_fail(diag, "open directory of", path, errno);
    return NB_OK;
}

/* Creates a fresh temporary file beside the target; O_EXCL and O_NOFOLLOW
 * stop a planted file or symlink from being written through. */
static enum nb_err temp_create(struct target *t, const char *path, int *fd_out,
                               struct nb_diag *diag)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        uint8_t rnd[8];
        char hex[2 * sizeof rnd + 1];
        if (nb_random(rnd, sizeof rnd) != NB_OK ||
            nb_hex_encode(rnd, sizeof rnd, hex, sizeof hex) != NB_OK)
            return nb_diag_set(diag, NB_EIO, "write %s: no random temporary name", path);
        (void)snprintf(t->tmp, sizeof t->tmp, ".%s.tmp.%s", t->base, hex);
        int fd =
            openat(t->dirfd, t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
            *fd_out = fd;
            return NB_OK;
        }
        if (errno != EEXIST)
            return os_fail(diag, "create temporary file for", path, errno);
    }
    return nb_diag_set(diag, NB_EIO, "write %s: no free temporary name", path);
}

/* Writes, sets the mode exactly (not filtered by the umask), syncs, closes. */
static enum nb_err temp_fill(int fd, const char *path, const void *data, size_t len, mode_t mode,
                             struct nb_diag *diag)
{
    const uint8_t *p = data;
    size_t off = 0;
    int e = 0;

    if (fchmod(fd, mode & 07777) != 0)
        e = errno;
    while (e == 0 && off < len) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno != EINTR)
            e = errno;
        else if (n > 0)
            off += (size_t)n;
    }
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    return e == 0 ? NB_OK : os_fail(diag, "write", path, e);
}

/* Publishes the temporary file under the target's name. link() fails with
 * EEXIST instead of replacing, which makes exclusive creation atomic even
 * against a racing writer (a file system without hard links, such as FAT,
 * makes exclusive writes fail with NB_EIO); rename() replaces atomically. */
static enum nb_err publish(struct target *t, const char *path, bool exclusive, struct nb_diag *diag)
{
    if (exclusive) {
        if (linkat(t->dirfd, t->tmp, t->dirfd, t->base, 0) != 0)
            return os_fail(diag, "create", path, errno);
        (void)unlinkat(t->dirfd, t->tmp, 0);
    } else if (renameat(t->dirfd, t->tmp, t->dirfd, t->base) != 0) {
        return os_fail(diag, "rename into", path, errno);
    }
    /* The new directory entry is durable only once the directory is synced. */
    if (fsync(t->dirfd) != 0)
        return os_fail(diag, "sync directory of", path, errno);
    return NB_OK;
}

enum nb_err nb_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                                 bool exclusive, struct nb_diag *diag)
{
    struct target t;
    struct stat st;
    int fd = -1;

    enum nb_err err = target_open(&t, path, diag);
    if (err != NB_OK)
        return err;
    /* Fast refusal before any write; publish() is what guarantees it. */
    if (exclusive && fstatat(t.dirfd, t.base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        err = nb_diag_set(diag, NB_EEXIST, "create %s: %s", path, strerror(EEXIST));
        goto out;
    }
    err = temp_create(&t, path, &fd, diag);
    if (err != NB_OK)
        goto out;
    err = temp_fill(fd, path, data, len, mode, diag);
    if (err == NB_OK)
        err = publish(&t, path, exclusive, diag);
    if (err != NB_OK)
        (void)unlinkat(t.dirfd, t.tmp, 0); /* gone already after a rename */
out:
    close(t.dirfd);
    return err;
}
