/* Flash HAL on a regular file or a block device: pread/pwrite with bounds
 * and alignment checks, erase as a no-op (nothing to erase; see
 * nobrick/flash_file.h), sync as fdatasync followed by dropping the file's
 * cached pages, so reads after a sync come from the storage (O_DIRECT is not
 * used: it would force every program to be aligned to the device's sectors). */
#include <nobrick/alloc.h>
#include <nobrick/flash_file.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct nb_flash_file {
    int fd;
    struct nb_flash_geometry geo;
};

static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static enum nb_err check_range(const struct nb_flash_file *ff, uint64_t off, uint64_t len,
                               uint32_t align)
{
    if (off > ff->geo.size || len > ff->geo.size - off)
        return NB_EINVAL;
    return off % align == 0 && len % align == 0 ? NB_OK : NB_EINVAL;
}

static enum nb_err file_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct nb_flash_file *ff = ctx;
    enum nb_err err = check_range(ff, off, len, 1);
    uint8_t *p = buf;

    while (err == NB_OK && len > 0) {
        ssize_t n = pread(ff->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NB_EIO; /* n == 0: the file shrank under us */
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return err;
}

static enum nb_err file_program(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct nb_flash_file *ff = ctx;
    enum nb_err err = check_range(ff, off, len, ff->geo.write_size);
    const uint8_t *p = buf;

    while (err == NB_OK && len > 0) {
        ssize_t n = pwrite(ff->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return errno == ENOSPC ? NB_ENOSPC : NB_EIO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return err;
}

/* Nothing to erase on a file or block device; the range is still checked so
 * that a layout bug shows up here as it would on NOR. */
static enum nb_err file_erase(void *ctx, uint64_t off, uint64_t len)
{
    struct nb_flash_file *ff = ctx;
    return check_range(ff, off, len, ff->geo.erase_size);
}

/* Durable, and the cache dropped: the install engine reads the slot back
 * after a sync to verify what the storage holds (DESIGN.md), and a read
 * served from the page cache would only verify what was written to RAM. */
static enum nb_err file_sync(void *ctx)
{
    return nb_flash_file_drop_cache(ctx);
}

static void file_geometry(void *ctx, struct nb_flash_geometry *out)
{
    const struct nb_flash_file *ff = ctx;
    *out = ff->geo;
}

static const struct nb_flash_ops file_ops = {
    .read = file_read,
    .program = file_program,
    .erase = file_erase,
    .sync = file_sync,
    .geometry = file_geometry,
};

/* Finds the size of the file or device (lseek works for both) and, for a
 * regular file being created, extends it. Sets ff->geo.size. */
static enum nb_err size_file(struct nb_flash_file *ff, const char *path,
                             const struct nb_flash_file_config *cfg, struct nb_diag *diag)
{
    struct stat st;
    off_t end = lseek(ff->fd, 0, SEEK_END);
    if (end < 0 || fstat(ff->fd, &st) != 0)
        return nb_diag_set(diag, NB_EIO, "flash file: %s: %s", path, strerror(errno));
    uint64_t have = (uint64_t)end;
    if (cfg->size == 0 && have == 0)
        return nb_diag_set(diag, NB_EINVAL, "flash file: %s is empty and no size given", path);
    if (cfg->size > have && cfg->create && S_ISREG(st.st_mode)) {
        if (ftruncate(ff->fd, (off_t)cfg->size) != 0)
            return nb_diag_set(diag, NB_EIO, "flash file: %s: extend: %s", path, strerror(errno));
        have = cfg->size;
    }
    if (cfg->size > have)
        return nb_diag_set(diag, NB_ENOSPC, "flash file: %s is %llu bytes, %llu needed", path,
                           (unsigned long long)have, (unsigned long long)cfg->size);
    ff->geo.size = cfg->size != 0 ? cfg->size : have - have % cfg->erase_size;
    return NB_OK;
}

enum nb_err nb_flash_file_open(const char *path, const struct nb_flash_file_config *cfg,
                               struct nb_flash_file **out, struct nb_diag *diag)
{
    if (!is_pow2(cfg->erase_size) || !is_pow2(cfg->write_size) ||
        cfg->write_size > cfg->erase_size || cfg->size % cfg->erase_size != 0)
        return nb_diag_set(diag, NB_EINVAL, "flash file: bad geometry for %s", path);
    struct nb_flash_file *ff = nb_calloc(1, sizeof *ff);
    if (ff == NULL)
        return NB_ENOMEM;
    ff->geo = (struct nb_flash_geometry){.erase_size = cfg->erase_size,
                                         .write_size = cfg->write_size,
                                         .erased_val = 0xFF,
                                         .needs_erase = false};
    ff->fd = open(path, O_RDWR | O_CLOEXEC | (cfg->create ? O_CREAT : 0), 0644);
    enum nb_err err = NB_OK;
    if (ff->fd < 0)
        err = nb_diag_set(diag, errno == ENOENT ? NB_ENOENT : NB_EIO, "flash file: %s: %s", path,
                          strerror(errno));
    else
        err = size_file(ff, path, cfg, diag);
    if (err != NB_OK) {
        nb_flash_file_close(ff);
        return err;
    }
    *out = ff;
    return NB_OK;
}

void nb_flash_file_close(struct nb_flash_file *ff)
{
    if (ff == NULL)
        return;
    if (ff->fd >= 0)
        (void)close(ff->fd);
    nb_free(ff);
}

struct nb_flash nb_flash_file_flash(struct nb_flash_file *ff)
{
    return (struct nb_flash){.ops = &file_ops, .ctx = ff};
}

enum nb_err nb_flash_file_drop_cache(struct nb_flash_file *ff)
{
    if (fdatasync(ff->fd) != 0)
        return NB_EIO;
    /* Advisory by design: a failure here only means the next read may come
     * from the cache, which is not an error for the caller's data. */
    (void)posix_fadvise(ff->fd, 0, 0, POSIX_FADV_DONTNEED);
    return NB_OK;
}
