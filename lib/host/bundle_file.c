/* Reading bundle files on a host (include/nobrick/bundle_file.h): the
 * reader (file or memory), the root chain for verification, full
 * verification and inspection. Parts are read in the order they are trusted:
 * header, signed release, the table its hash binds, then one frame at a
 * time, so memory is one frame whatever the image size. */
#include <nobrick/alloc.h>
#include <nobrick/bundle_file.h>
#include <nobrick/fileio.h>
#include <nobrick/frames.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- readers -------------------------------------------------------------- */

static enum nb_err check_range(const struct nb_bundle_reader *r, uint64_t off, size_t len,
                               struct nb_diag *diag)
{
    if (off > r->len || len > r->len - off)
        return nb_diag_set(diag, NB_ETRUNCATED, "bundle ends early at byte %llu",
                           (unsigned long long)r->len);
    return NB_OK;
}

static enum nb_err fd_read_at(struct nb_bundle_reader *r, uint64_t off, void *buf, size_t len,
                              struct nb_diag *diag)
{
    enum nb_err err = check_range(r, off, len, diag);
    uint8_t *p = buf;
    while (err == NB_OK && len > 0) {
        ssize_t n = pread(r->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nb_diag_set(diag, NB_EIO, "read failed: %s", strerror(errno));
        if (n == 0) /* the file shrank under us */
            return nb_diag_set(diag, NB_ETRUNCATED, "bundle ends early at byte %llu",
                               (unsigned long long)off);
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return err;
}

static void fd_close(struct nb_bundle_reader *r)
{
    if (r->fd >= 0)
        (void)close(r->fd);
    r->fd = -1;
}

static enum nb_err mem_read_at(struct nb_bundle_reader *r, uint64_t off, void *buf, size_t len,
                               struct nb_diag *diag)
{
    enum nb_err err = check_range(r, off, len, diag);
    if (err == NB_OK)
        memcpy(buf, r->mem + off, len);
    return err;
}

static void mem_close(struct nb_bundle_reader *r)
{
    r->mem = NULL;
}

static const struct nb_bundle_reader_ops fd_ops = {fd_read_at, fd_close};
static const struct nb_bundle_reader_ops mem_ops = {mem_read_at, mem_close};

enum nb_err nb_bundle_reader_open_file(struct nb_bundle_reader *r, const char *path,
                                       struct nb_diag *diag)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nb_diag_set(diag, errno == ENOENT ? NB_ENOENT : NB_EIO, "%s: %s", path,
                           strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        (void)close(fd);
        return nb_diag_set(diag, NB_EIO, "%s: not a regular file", path);
    }
    /* Frames are read once, front to back: let the kernel read ahead. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    r->ops = &fd_ops;
    r->fd = fd;
    r->len = (uint64_t)st.st_size;
    return NB_OK;
}

void nb_bundle_reader_from_mem(struct nb_bundle_reader *r, const uint8_t *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->ops = &mem_ops;
    r->fd = -1;
    r->mem = data;
    r->len = len;
}

void nb_bundle_reader_close(struct nb_bundle_reader *r)
{
    if (r->ops != NULL)
        r->ops->close(r);
    r->ops = NULL;
}

/* ---- roots ---------------------------------------------------------------- */

static enum nb_err load_root(const char *path, size_t i, struct nb_root *cur, uint8_t *scratch,
                             struct nb_diag *diag)
{
    uint8_t *text = NULL;
    size_t len = 0;
    struct nb_root next;
    enum nb_err err = nb_file_read(path, NB_ENVELOPE_MAX, &text, &len, diag);
    if (err == NB_OK && i == 0)
        err = nb_root_load_trusted(text, len, scratch, NB_ENVELOPE_SCRATCH_LEN, cur, diag);
    else if (err == NB_OK)
        err = nb_root_step(cur, text, len, scratch, NB_ENVELOPE_SCRATCH_LEN, &next, diag);
    if (err == NB_OK && i > 0)
        *cur = next;
    nb_free(text);
    return err;
}

enum nb_err nb_bundle_file_load_roots(const char *const *paths, size_t n, int64_t now,
                                      struct nb_root *out, struct nb_diag *diag)
{
    if (n == 0 || n > NB_ROOT_MAX_STEPS + 1)
        return nb_diag_set(diag, NB_EINVAL, "give 1..%d root files", NB_ROOT_MAX_STEPS + 1);
    uint8_t *scratch = nb_malloc(NB_ENVELOPE_SCRATCH_LEN);
    struct nb_root *cur = nb_malloc(sizeof *cur);
    struct nb_diag why = {{0}};
    enum nb_err err = scratch == NULL || cur == NULL ? NB_ENOMEM : NB_OK;
    size_t i = 0;
    for (; err == NB_OK && i < n; i++)
        err = load_root(paths[i], i, cur, scratch, &why);
    if (err == NB_OK)
        err = nb_root_check_expiry(cur, now, &why);
    if (err == NB_OK)
        *out = *cur;
    else /* say which file: the chain may be long */
        (void)nb_diag_set(diag, err, "%s: %s", paths[i > 0 ? i - 1 : 0],
                          why.msg[0] != '\0' ? why.msg : nb_strerror(err));
    nb_free(cur);
    nb_free(scratch);
    return err;
}

/* ---- reading the parts, in the order they become trusted ---------------------- */

/* Buffers and state of one pass over a bundle; all freed by parts_free. */
struct parts {
    struct nb_bundle_reader *r;
    struct nb_bundle_header hdr;
    struct nb_release rel;
    uint8_t *envelope;
    uint8_t *scratch; /* the envelope's decoded payload and PAE */
    const uint8_t *payload;
    size_t payload_len;
    uint8_t *table;
    uint64_t frames_len; /* the signed table's */
    uint8_t *stored;
    uint8_t *out;
};

static void parts_free(struct parts *p)
{
    nb_free(p->envelope);
    nb_free(p->scratch);
    nb_free(p->table);
    nb_free(p->stored);
    nb_free(p->out);
}

/* The header and the exact file length first: trailing or missing bytes
 * are refused before any signature work. */
static enum nb_err read_header(struct parts *p, struct nb_diag *diag)
{
    uint8_t hdr[NB_BUNDLE_HEADER_LEN];
    if (p->r->len < NB_BUNDLE_HEADER_LEN)
        return nb_diag_set(diag, NB_ETRUNCATED, "%llu bytes: shorter than a bundle header",
                           (unsigned long long)p->r->len);
    enum nb_err err = p->r->ops->read_at(p->r, 0, hdr, sizeof hdr, diag);
    if (err == NB_OK)
        err = nb_bundle_header_parse(hdr, p->r->len, &p->hdr, diag);
    if (err != NB_OK)
        return err;
    p->envelope = nb_malloc(p->hdr.envelope_len);
    p->scratch = nb_malloc(NB_ENVELOPE_SCRATCH_LEN);
    if (p->envelope == NULL || p->scratch == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    return p->r->ops->read_at(p->r, p->hdr.envelope_off, p->envelope, p->hdr.envelope_len, diag);
}

/* The table, whose length the signed release fixes before it is read, then
 * checked against the release's table hash. */
static enum nb_err read_table(struct parts *p, struct nb_diag *diag)
{
    if (p->hdr.table_len != nb_frame_table_len(p->rel.frame_count))
        return nb_diag_set(diag, NB_EHASH,
                           "frame table is %u bytes, the signed release has %u "
                           "frames (%llu bytes)",
                           p->hdr.table_len, p->rel.frame_count,
                           (unsigned long long)nb_frame_table_len(p->rel.frame_count));
    p->table = nb_malloc(p->hdr.table_len);
    if (p->table == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory for the frame table");
    enum nb_err err = p->r->ops->read_at(p->r, p->hdr.table_off, p->table, p->hdr.table_len, diag);
    if (err == NB_OK)
        err = nb_frame_table_check(&p->rel, p->table, p->hdr.table_len, &p->frames_len, diag);
    if (err != NB_OK)
        return err;
    /* Bytes past the signed frames would be an extraneous "file" no
     * signature covers (SECURITY.md 21, 28): refused, never read. */
    if (p->hdr.frames_len > p->frames_len)
        return nb_diag_set(diag, NB_ETRUNCATED,
                           "%llu bytes after the last frame the signed frame table lists",
                           (unsigned long long)(p->hdr.frames_len - p->frames_len));
    if (p->hdr.frames_len < p->frames_len)
        return nb_diag_set(diag, NB_ETRUNCATED, "frames end %llu bytes before the signed end",
                           (unsigned long long)(p->frames_len - p->hdr.frames_len));
    return NB_OK;
}

static enum nb_err read_frame(struct parts *p, uint32_t i, struct nb_frame_entry *e,
                              struct nb_diag *diag)
{
    nb_frame_entry_get(p->table, i, e);
    return p->r->ops->read_at(p->r, p->hdr.frames_off + e->stored_off, p->stored, e->stored_len,
                              diag);
}

/* Every frame in order, with the running hash of the outputs compared to
 * the signed image hash at the end. Without the content key of an encrypted
 * bundle, only the stored bytes can be checked against the signed table. */
static enum nb_err verify_frames(struct parts *p, struct nb_frame_ctx *fx, struct nb_diag *diag)
{
    bool open = fx->have_key || !p->rel.encrypted;
    struct nb_sha256_ctx sha = {0};
    uint64_t total = 0;
    enum nb_err err = open ? nb_sha256_begin(&sha) : NB_OK;
    for (uint32_t i = 0; err == NB_OK && i < p->rel.frame_count; i++) {
        struct nb_frame_entry e;
        err = read_frame(p, i, &e, diag);
        if (err == NB_OK && !open)
            err = nb_frame_check_stored(i, &e, p->stored, e.stored_len, diag);
        else if (err == NB_OK)
            err =
                nb_frame_open(fx, i, &e, p->stored, e.stored_len, p->out, p->rel.frame_size, diag);
        if (err == NB_OK && open)
            err = nb_sha256_update(&sha, p->out, e.out_len);
        total += e.out_len;
    }
    if (!open)
        return err;
    if (err != NB_OK) {
        nb_sha256_abort(&sha);
        return err;
    }
    uint8_t digest[NB_SHA256_LEN];
    err = nb_sha256_final(&sha, digest);
    if (err == NB_OK &&
        (total != p->rel.image_size || !nb_ct_equal(digest, p->rel.image_sha256, NB_SHA256_LEN)))
        err = nb_diag_set(diag, NB_EHASH, "image hash does not match the signed release");
    return err;
}

static enum nb_err alloc_frame_buffers(struct parts *p, struct nb_diag *diag)
{
    p->stored = nb_malloc(nb_frame_stored_max(&p->rel));
    p->out = nb_malloc(p->rel.frame_size);
    if (p->stored == NULL || p->out == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory for one frame");
    return NB_OK;
}

static enum nb_err verify_content(struct parts *p, const uint8_t *dev_priv, const uint8_t *dev_pub,
                                  struct nb_diag *diag)
{
    uint8_t key[NB_AES256_KEY_LEN];
    bool have_key = false;
    enum nb_err err = alloc_frame_buffers(p, diag);
    if (err == NB_OK && p->rel.encrypted && dev_priv != NULL && dev_pub != NULL) {
        err = nb_release_unwrap_key(p->payload, p->payload_len, dev_priv, dev_pub, key, diag);
        have_key = err == NB_OK;
    }
    struct nb_codec codec = {0};
    if (err == NB_OK)
        err = nb_codec_init(&codec);
    struct nb_frame_ctx fx;
    nb_frame_ctx_init(&fx, &p->rel, have_key ? key : NULL, &codec);
    if (err == NB_OK)
        err = verify_frames(p, &fx, diag);
    nb_frame_ctx_fini(&fx);
    nb_codec_fini(&codec);
    nb_wipe(key, sizeof key);
    return err;
}

enum nb_err nb_bundle_file_verify(const struct nb_root *root, struct nb_bundle_reader *r,
                                  const uint8_t *dev_priv, const uint8_t *dev_pub,
                                  struct nb_bundle_verified *out, struct nb_diag *diag)
{
    struct parts p;
    memset(&p, 0, sizeof p);
    p.r = r;
    enum nb_err err = read_header(&p, diag);
    /* Verify before parse: nothing of the release is read unsigned. */
    if (err == NB_OK)
        err = nb_release_verify(root, p.envelope, p.hdr.envelope_len, p.scratch,
                                NB_ENVELOPE_SCRATCH_LEN, &p.rel, &p.payload, &p.payload_len, diag);
    if (err == NB_OK)
        err = read_table(&p, diag);
    if (err == NB_OK)
        err = verify_content(&p, dev_priv, dev_pub, diag);
    if (err == NB_OK && out != NULL) {
        out->rel = p.rel;
        out->file_len = r->len;
        out->decrypted = !p.rel.encrypted || (dev_priv != NULL && dev_pub != NULL);
    }
    parts_free(&p);
    return err;
}

/* ---- inspection ----------------------------------------------------------- */

/* The release for display only: the envelope is parsed, not verified, and
 * the payload goes through the same strict (fuzzed) parser. */
static enum nb_err read_release_unverified(struct parts *p, struct nb_bundle_info *info,
                                           struct nb_diag *diag)
{
    struct nb_envelope *env = nb_malloc(sizeof *env);
    if (env == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    enum nb_err err = nb_envelope_parse(p->envelope, p->hdr.envelope_len, p->scratch,
                                        NB_ENVELOPE_SCRATCH_LEN, env, diag);
    if (err == NB_OK && strcmp(env->payload_type, NB_PAYLOAD_RELEASE) != 0)
        err = nb_diag_set(diag, NB_EPARSE, "envelope: payload type '%s' is not a release",
                          env->payload_type);
    if (err == NB_OK)
        err = nb_release_parse(env->payload, env->payload_len, &p->rel, diag);
    if (err == NB_OK) {
        info->n_sigs = env->n_sigs;
        for (size_t i = 0; i < env->n_sigs; i++)
            memcpy(info->sig_keyids[i], env->sigs[i].keyid, sizeof info->sig_keyids[i]);
    }
    nb_free(env);
    return err;
}

enum nb_err nb_bundle_file_inspect(struct nb_bundle_reader *r, struct nb_bundle_info *out,
                                   struct nb_diag *diag)
{
    struct parts p;
    memset(&p, 0, sizeof p);
    p.r = r;
    struct nb_bundle_info *info = nb_calloc(1, sizeof *info);
    enum nb_err err = info == NULL ? NB_ENOMEM : read_header(&p, diag);
    if (err == NB_OK)
        err = read_release_unverified(&p, info, diag);
    if (err == NB_OK)
        err = read_table(&p, diag);
    if (err == NB_OK) {
        info->hdr = p.hdr;
        info->rel = p.rel;
        info->stored_min = UINT32_MAX;
        for (uint32_t i = 0; i < p.rel.frame_count; i++) {
            struct nb_frame_entry e;
            nb_frame_entry_get(p.table, i, &e);
            info->stored_min = e.stored_len < info->stored_min ? e.stored_len : info->stored_min;
            info->stored_max = e.stored_len > info->stored_max ? e.stored_len : info->stored_max;
        }
        *out = *info;
    }
    nb_free(info);
    parts_free(&p);
    return err;
}
