/* Writing bundle files (nb_bundle_file_create, include/nobrick/bundle_file.h).
 * The image is read one frame window at a time and its frames go to a
 * temporary file; only when the table and the signed release are known is
 * the bundle assembled in a second temporary file and renamed into place, so
 * a reader never sees half a bundle and memory stays at one frame. */
#include <nobrick/alloc.h>
#include <nobrick/bundle_file.h>
#include <nobrick/frames.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct creator {
    const struct nb_bundle_create_opts *o;
    struct nb_release rel;
    int image_fd, frames_fd, out_fd;
    char *frames_path, *out_tmp;
    uint8_t *window, *stored, *table;
    size_t stored_cap, table_len;
    uint64_t frames_len;
    uint8_t key[NB_AES256_KEY_LEN];
    struct nb_recipient *recipients;
    char *payload, *envelope;
    size_t payload_len, envelope_len;
    struct nb_codec codec;
};

static enum nb_err os_fail(struct nb_diag *diag, const char *what, const char *path)
{
    return nb_diag_set(diag, NB_EIO, "%s %s: %s", what, path, strerror(errno));
}

static enum nb_err read_full(int fd, uint8_t *buf, size_t len, const char *path,
                             struct nb_diag *diag)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return os_fail(diag, "cannot read", path);
        if (n == 0)
            return nb_diag_set(diag, NB_EIO, "%s changed while being read", path);
        buf += n;
        len -= (size_t)n;
    }
    return NB_OK;
}

static enum nb_err write_full(int fd, const void *data, size_t len, const char *path,
                              struct nb_diag *diag)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return os_fail(diag, "cannot write", path);
        p += n;
        len -= (size_t)n;
    }
    return NB_OK;
}

/* A temporary file beside path: same file system, so rename is atomic. */
static enum nb_err temp_beside(const char *path, const char *suffix, char **name, int *fd,
                               struct nb_diag *diag)
{
    size_t len = strlen(path) + strlen(suffix) + 1;
    *name = nb_malloc(len);
    if (*name == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    memcpy(*name, path, strlen(path));
    memcpy(*name + strlen(path), suffix, strlen(suffix) + 1);
    *fd = mkstemp(*name);
    if (*fd < 0) {
        enum nb_err err = os_fail(diag, "cannot create a file beside", path);
        nb_free(*name);
        *name = NULL;
        return err;
    }
    return NB_OK;
}

/* ---- options and the release ---------------------------------------------- */

/* A string option into its release field; one that does not fit is refused,
 * never cut (a cut version or class would still look valid). */
static enum nb_err copy_field(char *dst, size_t cap, const char *src, const char *what,
                              struct nb_diag *diag)
{
    size_t len = src != NULL ? strlen(src) : 0;
    if (src == NULL || len >= cap)
        return nb_diag_set(diag, NB_EINVAL, "%s '%.40s%s': not 1..%zu characters", what,
                           src != NULL ? src : "", len > 40 ? "..." : "", cap - 1);
    memcpy(dst, src, len + 1);
    return NB_OK;
}

static enum nb_err fill_release(struct creator *c, struct nb_diag *diag)
{
    const struct nb_bundle_create_opts *o = c->o;
    struct nb_release *rel = &c->rel;
    const char *component = o->component != NULL ? o->component : NB_COMPONENT_DEFAULT;
    if (o->n_hw_classes == 0 || o->n_hw_classes > NB_RELEASE_MAX_HW_CLASSES)
        return nb_diag_set(diag, NB_EINVAL, "give 1..%d hardware classes (%zu given)",
                           NB_RELEASE_MAX_HW_CLASSES, o->n_hw_classes);
    if (o->n_signers == 0 || o->n_signers > NB_ENVELOPE_MAX_SIGS)
        return nb_diag_set(diag, NB_EINVAL, "give 1..%d signing keys", NB_ENVELOPE_MAX_SIGS);
    if (o->n_recipients > NB_RELEASE_MAX_RECIPIENTS)
        return nb_diag_set(diag, NB_EINVAL, "at most %d recipients", NB_RELEASE_MAX_RECIPIENTS);
    if (o->level < 0 || o->level > 19)
        return nb_diag_set(diag, NB_EINVAL, "zstd level %d not in 1..19", o->level);
    /* Contents are checked by check_release_early. */
    enum nb_err err = copy_field(rel->version, sizeof rel->version, o->version, "version", diag);
    if (err == NB_OK)
        err = copy_field(rel->component, sizeof rel->component, component, "component", diag);
    for (size_t i = 0; err == NB_OK && i < o->n_hw_classes; i++)
        err = copy_field(rel->hw_classes[i], sizeof rel->hw_classes[i], o->hw_classes[i],
                         "hardware class", diag);
    if (err != NB_OK)
        return err;
    rel->n_hw_classes = o->n_hw_classes;
    rel->security_counter = o->security_counter;
    rel->created = o->created;
    rel->frame_size = o->frame_size != 0 ? o->frame_size : NB_FRAME_SIZE_DEFAULT;
    rel->compression = o->compression;
    rel->encrypted = o->n_recipients > 0;
    rel->n_recipients = o->n_recipients;
    return NB_OK;
}

/* Runs the release's own validation before any image byte is read: the
 * release with placeholder image fields must be writable (nb_release_write
 * parses what it wrote back, so a device would accept it). */
static enum nb_err check_release_early(struct creator *c, struct nb_diag *diag)
{
    struct nb_release probe = c->rel;
    probe.image_size = 1;
    probe.frame_count = 1;
    size_t len;
    enum nb_err err = nb_release_write(&probe, c->recipients, c->o->n_recipients, c->payload,
                                       NB_PAYLOAD_MAX + 1, &len, diag);
    return err == NB_EINVAL || err == NB_ELENGTH ? NB_EINVAL : err;
}

static enum nb_err seal_recipients(struct creator *c, struct nb_diag *diag)
{
    size_t n = c->o->n_recipients;
    if (n == 0)
        return NB_OK;
    c->recipients = nb_calloc(n, sizeof *c->recipients);
    if (c->recipients == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    enum nb_err err = nb_random(c->key, sizeof c->key);
    for (size_t i = 0; err == NB_OK && i < n; i++) {
        err = nb_release_seal_key(c->key, c->o->recipients[i], &c->recipients[i]);
        if (err != NB_OK)
            return nb_diag_set(diag, err, "recipient %zu: cannot seal the content key to it",
                               i + 1);
    }
    return err;
}

/* ---- frames --------------------------------------------------------------- */

static enum nb_err open_image(struct creator *c, struct nb_diag *diag)
{
    const char *path = c->o->image_path;
    c->image_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (c->image_fd < 0)
        return nb_diag_set(diag, errno == ENOENT ? NB_ENOENT : NB_EIO, "%s: %s", path,
                           strerror(errno));
    struct stat st;
    if (fstat(c->image_fd, &st) != 0 || !S_ISREG(st.st_mode))
        return nb_diag_set(diag, NB_EINVAL, "%s: not a regular file", path);
    uint64_t size = (uint64_t)st.st_size, fs = c->rel.frame_size;
    if (size == 0 || size > NB_IMAGE_SIZE_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "%s: %llu bytes; an image has 1..%llu", path,
                           (unsigned long long)size, (unsigned long long)NB_IMAGE_SIZE_MAX);
    uint64_t count = (size + fs - 1) / fs;
    if (count > NB_FRAMES_MAX_COUNT)
        return nb_diag_set(diag, NB_ELENGTH,
                           "%s: %llu frames of %u bytes, more than %u: use a "
                           "larger frame size",
                           path, (unsigned long long)count, c->rel.frame_size, NB_FRAMES_MAX_COUNT);
    (void)posix_fadvise(c->image_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    c->rel.image_size = size;
    c->rel.frame_count = (uint32_t)count;
    return NB_OK;
}

static enum nb_err alloc_buffers(struct creator *c, struct nb_diag *diag)
{
    c->table_len = (size_t)nb_frame_table_len(c->rel.frame_count);
    c->stored_cap = nb_frame_stored_max(&c->rel);
    c->window = nb_malloc(c->rel.frame_size);
    c->stored = nb_malloc(c->stored_cap);
    c->table = nb_calloc(1, c->table_len);
    if (c->window == NULL || c->stored == NULL || c->table == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    return nb_codec_init(&c->codec);
}

static enum nb_err write_frames(struct creator *c, struct nb_diag *diag)
{
    struct nb_frame_ctx fx;
    nb_frame_ctx_init(&fx, &c->rel, c->rel.encrypted ? c->key : NULL, &c->codec);
    fx.level = c->o->level != 0 ? c->o->level : NB_BUNDLE_LEVEL_DEFAULT;
    struct nb_sha256_ctx sha = {0};
    enum nb_err err = nb_sha256_begin(&sha);
    uint64_t left = c->rel.image_size;
    for (uint32_t i = 0; err == NB_OK && i < c->rel.frame_count; i++) {
        size_t n = left < c->rel.frame_size ? (size_t)left : c->rel.frame_size;
        struct nb_frame_entry e;
        err = read_full(c->image_fd, c->window, n, c->o->image_path, diag);
        if (err == NB_OK)
            err = nb_sha256_update(&sha, c->window, n);
        if (err == NB_OK)
            err = nb_frame_seal(&fx, i, c->frames_len, c->window, n, c->stored, c->stored_cap, &e,
                                diag);
        if (err == NB_OK)
            err = write_full(c->frames_fd, c->stored, e.stored_len, c->frames_path, diag);
        if (err == NB_OK)
            nb_frame_entry_put(c->table, i, &e);
        c->frames_len += err == NB_OK ? e.stored_len : 0;
        left -= n;
    }
    if (err == NB_OK)
        err = nb_sha256_final(&sha, c->rel.image_sha256);
    nb_sha256_abort(&sha);
    nb_frame_ctx_fini(&fx);
    nb_frame_table_put_header(c->table, c->rel.frame_count, c->rel.frame_size);
    if (err == NB_OK)
        err = nb_sha256(c->table, c->table_len, c->rel.table_sha256);
    return err;
}

/* ---- signing and assembling ----------------------------------------------- */

static enum nb_err sign_release(struct creator *c, struct nb_diag *diag)
{
    size_t pae_len = 0, n = c->o->n_signers;
    enum nb_err err = nb_release_write(&c->rel, c->recipients, c->o->n_recipients, c->payload,
                                       NB_PAYLOAD_MAX + 1, &c->payload_len, diag);
    uint8_t *pae = err == NB_OK ? nb_malloc(NB_PAE_HEADER_MAX + c->payload_len) : NULL;
    struct nb_signature *sigs = err == NB_OK ? nb_calloc(n, sizeof *sigs) : NULL;
    if (err == NB_OK && (pae == NULL || sigs == NULL))
        err = nb_diag_set(diag, NB_ENOMEM, "out of memory");
    if (err == NB_OK)
        err = nb_pae(NB_PAYLOAD_RELEASE, (const uint8_t *)c->payload, c->payload_len, pae,
                     NB_PAE_HEADER_MAX + c->payload_len, &pae_len);
    for (size_t i = 0; err == NB_OK && i < n; i++)
        err = nb_signer_sign_envelope(&c->o->signers[i], pae, pae_len, &sigs[i], diag);
    if (err == NB_OK)
        err = nb_envelope_write(NB_PAYLOAD_RELEASE, (const uint8_t *)c->payload, c->payload_len,
                                sigs, n, c->envelope, NB_ENVELOPE_MAX + 1, &c->envelope_len);
    if (err != NB_OK)
        (void)nb_diag_set(diag, err, "cannot sign the release");
    nb_free(pae);
    nb_free(sigs);
    return err;
}

static enum nb_err copy_frames(struct creator *c, struct nb_diag *diag)
{
    if (lseek(c->frames_fd, 0, SEEK_SET) != 0)
        return os_fail(diag, "cannot rewind", c->frames_path);
    enum nb_err err = NB_OK;
    for (uint64_t left = c->frames_len; err == NB_OK && left > 0;) {
        size_t n = left < c->rel.frame_size ? (size_t)left : c->rel.frame_size;
        err = read_full(c->frames_fd, c->window, n, c->frames_path, diag);
        if (err == NB_OK)
            err = write_full(c->out_fd, c->window, n, c->out_tmp, diag);
        left -= n;
    }
    return err;
}

/* Makes a rename durable. Best effort: some file systems refuse to fsync a
 * directory, and the rename itself is already atomic. */
static void sync_dir_of(const char *path)
{
    char *dir = nb_strdup(path);
    if (dir == NULL)
        return;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    int fd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
    nb_free(dir);
}

/* Header, envelope, table, frames; then fsync, rename, fsync the directory:
 * after a crash out_path is the old file or the whole new one. */
static enum nb_err assemble(struct creator *c, struct nb_diag *diag)
{
    uint8_t hdr[NB_BUNDLE_HEADER_LEN];
    nb_bundle_header_write((uint32_t)c->envelope_len, (uint32_t)c->table_len, c->frames_len, hdr);
    enum nb_err err = temp_beside(c->o->out_path, ".tmp-XXXXXX", &c->out_tmp, &c->out_fd, diag);
    if (err == NB_OK)
        err = write_full(c->out_fd, hdr, sizeof hdr, c->out_tmp, diag);
    if (err == NB_OK)
        err = write_full(c->out_fd, c->envelope, c->envelope_len, c->out_tmp, diag);
    if (err == NB_OK)
        err = write_full(c->out_fd, c->table, c->table_len, c->out_tmp, diag);
    if (err == NB_OK)
        err = copy_frames(c, diag);
    /* A bundle is public (signed, and encrypted where it matters). */
    if (err == NB_OK && (fchmod(c->out_fd, 0644) != 0 || fsync(c->out_fd) != 0))
        err = os_fail(diag, "cannot sync", c->out_tmp);
    if (err == NB_OK && rename(c->out_tmp, c->o->out_path) != 0)
        err = os_fail(diag, "cannot rename to", c->o->out_path);
    if (err != NB_OK)
        return err;
    nb_free(c->out_tmp); /* renamed: nothing left to remove */
    c->out_tmp = NULL;
    sync_dir_of(c->o->out_path);
    return NB_OK;
}

static void creator_free(struct creator *c)
{
    if (c->image_fd >= 0)
        (void)close(c->image_fd);
    if (c->frames_fd >= 0)
        (void)close(c->frames_fd);
    if (c->out_fd >= 0)
        (void)close(c->out_fd);
    if (c->frames_path != NULL)
        (void)unlink(c->frames_path);
    if (c->out_tmp != NULL)
        (void)unlink(c->out_tmp);
    nb_free(c->frames_path);
    nb_free(c->out_tmp);
    nb_free(c->window);
    nb_free(c->stored);
    nb_free(c->table);
    nb_free(c->recipients);
    nb_free(c->payload);
    nb_free(c->envelope);
    nb_codec_fini(&c->codec);
    nb_wipe(c->key, sizeof c->key);
}

enum nb_err nb_bundle_file_create(const struct nb_bundle_create_opts *o,
                                  struct nb_bundle_summary *summary, struct nb_diag *diag)
{
    struct creator c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.image_fd = c.frames_fd = c.out_fd = -1;
    c.payload = nb_malloc(NB_PAYLOAD_MAX + 1);
    c.envelope = nb_malloc(NB_ENVELOPE_MAX + 1);
    enum nb_err err = c.payload == NULL || c.envelope == NULL
                          ? nb_diag_set(diag, NB_ENOMEM, "out of memory")
                          : fill_release(&c, diag);
    if (err == NB_OK)
        err = seal_recipients(&c, diag);
    if (err == NB_OK)
        err = check_release_early(&c, diag);
    if (err == NB_OK)
        err = open_image(&c, diag);
    if (err == NB_OK)
        err = alloc_buffers(&c, diag);
    if (err == NB_OK)
        err = temp_beside(o->out_path, ".frames-XXXXXX", &c.frames_path, &c.frames_fd, diag);
    if (err == NB_OK)
        err = write_frames(&c, diag);
    if (err == NB_OK)
        err = sign_release(&c, diag);
    if (err == NB_OK)
        err = assemble(&c, diag);
    if (err == NB_OK && summary != NULL) {
        summary->rel = c.rel;
        summary->frames_len = c.frames_len;
        summary->file_len = NB_BUNDLE_HEADER_LEN + c.envelope_len + c.table_len + c.frames_len;
    }
    creator_free(&c);
    return err;
}
