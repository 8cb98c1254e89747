/* Content-addressed artifact files (artifacts.h). Names are the SHA-256 of
 * the bytes, computed while they are written; the file is fsynced before
 * the rename and the directory after it, so a name on disk always matches
 * its bytes, whatever the crash point. */
#include "artifacts.h"

#include <nobrick/encoding.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum nb_err make_dir(const char *path, struct nb_diag *diag)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return nb_diag_set(diag, NB_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return nb_diag_set(diag, NB_EIO, "%s: not a directory", path);
    return NB_OK;
}

/* Temporary files left by a crash are never published: remove them. */
static void clean_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[PATH_MAX + 300];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "upload-", 7) != 0)
            continue;
        (void)snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        (void)unlink(p);
    }
    if (d != NULL)
        closedir(d);
}

enum nb_err artifacts_init(struct artifacts *a, const char *data_dir, struct nb_diag *diag)
{
    int n1 = snprintf(a->dir, sizeof a->dir, "%s/artifacts", data_dir);
    int n2 = snprintf(a->tmp, sizeof a->tmp, "%s/tmp", data_dir);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof a->dir || (size_t)n2 >= sizeof a->tmp)
        return nb_diag_set(diag, NB_EINVAL, "--data: path too long");
    enum nb_err err = make_dir(data_dir, diag);
    if (err == NB_OK)
        err = make_dir(a->dir, diag);
    if (err == NB_OK)
        err = make_dir(a->tmp, diag);
    if (err == NB_OK)
        clean_tmp(a->tmp);
    return err;
}

enum nb_err artifact_upload_begin(const struct artifacts *a, struct artifact_upload *up)
{
    memset(up, 0, sizeof *up);
    up->fd = -1;
    int n = snprintf(up->path, sizeof up->path, "%s/upload-XXXXXX", a->tmp);
    if (n < 0 || (size_t)n >= sizeof up->path)
        return NB_EINVAL;
    up->fd = mkstemp(up->path);
    if (up->fd < 0) {
        up->path[0] = '\0';
        return NB_EIO;
    }
    enum nb_err err = nb_sha256_begin(&up->sha);
    if (err != NB_OK)
        artifact_upload_abort(up);
    return err;
}

enum nb_err artifact_upload_write(struct artifact_upload *up, const void *data, size_t len)
{
    enum nb_err err = nb_sha256_update(&up->sha, data, len);
    const uint8_t *p = data;
    while (err == NB_OK && len > 0) {
        ssize_t n = write(up->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return errno == ENOSPC ? NB_ENOSPC : NB_EIO;
        p += n;
        len -= (size_t)n;
        up->len += (uint64_t)n;
    }
    return err;
}

enum nb_err artifact_upload_close(struct artifact_upload *up)
{
    uint8_t digest[NB_SHA256_LEN];
    enum nb_err err = fsync(up->fd) == 0 ? NB_OK : NB_EIO;
    if (close(up->fd) != 0 && err == NB_OK)
        err = NB_EIO;
    up->fd = -1;
    if (err == NB_OK)
        err = nb_sha256_final(&up->sha, digest);
    if (err == NB_OK)
        err = nb_hex_encode(digest, sizeof digest, up->hex, sizeof up->hex);
    return err;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
}

enum nb_err artifact_upload_publish(const struct artifacts *a, struct artifact_upload *up)
{
    char dest[PATH_MAX + ARTIFACT_HEX_LEN + 2];
    int n = snprintf(dest, sizeof dest, "%s/%s", a->dir, up->hex);
    if (n < 0 || (size_t)n >= sizeof dest || up->hex[0] == '\0')
        return NB_EINVAL;
    if (chmod(up->path, 0644) != 0 || rename(up->path, dest) != 0)
        return NB_EIO;
    up->path[0] = '\0';
    sync_dir(a->dir);
    return NB_OK;
}

void artifact_upload_abort(struct artifact_upload *up)
{
    if (up->fd >= 0)
        (void)close(up->fd);
    up->fd = -1;
    nb_sha256_abort(&up->sha);
    if (up->path[0] != '\0')
        (void)unlink(up->path);
    up->path[0] = '\0';
}

static bool is_hex_name(const char *hex)
{
    size_t i = 0;
    for (; hex[i] != '\0'; i++) {
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return false;
    }
    return i == ARTIFACT_HEX_LEN;
}

enum nb_err artifact_open(const struct artifacts *a, const char *hex, int *fd, uint64_t *size)
{
    /* Only a digest can name a file: no "../" can reach outside the store. */
    if (!is_hex_name(hex))
        return NB_EINVAL;
    char path[PATH_MAX + ARTIFACT_HEX_LEN + 2];
    (void)snprintf(path, sizeof path, "%s/%s", a->dir, hex);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return errno == ENOENT ? NB_ENOENT : NB_EIO;
    struct stat st;
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        (void)close(f);
        return NB_EIO;
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    return NB_OK;
}
