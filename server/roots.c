/* The published root chain (roots.h): the anchor from --root, then the
 * uploaded versions, each checked with nb_root_step before it is stored
 * (DATA/roots/N.json, atomically) and kept in memory as text, the newest
 * also parsed. One mutex guards it all: publications are rare, reads are
 * copies. */
#include "roots.h"

#include <nobrick/alloc.h>
#include <nobrick/envelope.h>
#include <nobrick/fileio.h>
#include <nobrick/trust.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct srv_roots {
    pthread_mutex_t lock;
    char dir[1024];
    uint32_t first; /* the anchor's version: texts[i] is version first + i */
    size_t n;
    uint8_t *texts[SRV_ROOTS_MAX + 1];
    size_t lens[SRV_ROOTS_MAX + 1];
    struct nb_root anchor, newest;
    uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN];
};

static enum nb_err root_path(const struct srv_roots *r, uint32_t version, char *out, size_t cap)
{
    int k = snprintf(out, cap, "%s/%u.json", r->dir, (unsigned)version);
    return k > 0 && (size_t)k < cap ? NB_OK : NB_ELENGTH;
}

/* Takes text (owned) as version newest + 1, already checked. */
static void append(struct srv_roots *r, uint8_t *text, size_t len, const struct nb_root *root)
{
    r->texts[r->n] = text;
    r->lens[r->n] = len;
    r->n++;
    r->newest = *root;
}

static enum nb_err load_anchor(struct srv_roots *r, const char *path, int64_t now,
                               struct nb_diag *diag)
{
    uint8_t *text = NULL;
    size_t len = 0;
    struct nb_diag why = {{0}};
    enum nb_err err = nb_file_read(path, NB_TRUST_ROOT_MAX, &text, &len, diag);
    if (err != NB_OK)
        return err;
    err = nb_root_load_trusted(text, len, r->scratch, sizeof r->scratch, &r->newest, &why);
    if (err == NB_OK)
        err = nb_root_check_expiry(&r->newest, now, &why);
    if (err != NB_OK) {
        nb_free(text);
        return nb_diag_set(diag, err, "%s: %s", path, why.msg[0] ? why.msg : nb_strerror(err));
    }
    r->first = r->newest.version;
    r->anchor = r->newest;
    append(r, text, len, &r->newest);
    return NB_OK;
}

/* The stored successors of the anchor, in order, until one is missing. */
static enum nb_err load_stored(struct srv_roots *r, struct nb_diag *diag)
{
    char path[1100];
    while (r->n <= SRV_ROOTS_MAX) {
        uint8_t *text = NULL;
        size_t len = 0;
        struct nb_root next;
        struct nb_diag why = {{0}};
        enum nb_err err = root_path(r, r->newest.version + 1, path, sizeof path);
        if (err == NB_OK)
            err = nb_file_read(path, NB_TRUST_ROOT_MAX, &text, &len, &why);
        if (err == NB_ENOENT)
            return NB_OK;
        if (err == NB_OK)
            err = nb_root_step(&r->newest, text, len, r->scratch, sizeof r->scratch, &next, &why);
        if (err != NB_OK) {
            nb_free(text);
            return nb_diag_set(diag, err, "%s: %s (remove it, or fix the chain)", path,
                               why.msg[0] ? why.msg : nb_strerror(err));
        }
        append(r, text, len, &next);
    }
    return NB_OK;
}

enum nb_err srv_roots_open(const char *anchor_path, const char *data_dir, int64_t now,
                           struct srv_roots **out, struct nb_diag *diag)
{
    struct srv_roots *r = nb_calloc(1, sizeof *r);
    if (r == NULL)
        return NB_ENOMEM;
    pthread_mutex_init(&r->lock, NULL);
    int k = snprintf(r->dir, sizeof r->dir, "%s/roots", data_dir);
    enum nb_err err = k > 0 && (size_t)k < sizeof r->dir ? NB_OK : NB_ELENGTH;
    if (err != NB_OK)
        (void)nb_diag_set(diag, err, "--data: path too long");
    if (err == NB_OK && mkdir(r->dir, 0755) != 0 && errno != EEXIST)
        err = nb_diag_set(diag, NB_EIO, "%s: %s", r->dir, strerror(errno));
    if (err == NB_OK)
        err = load_anchor(r, anchor_path, now, diag);
    if (err == NB_OK)
        err = load_stored(r, diag);
    if (err != NB_OK) {
        srv_roots_close(r);
        return err;
    }
    *out = r;
    return NB_OK;
}

void srv_roots_close(struct srv_roots *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        nb_free(r->texts[i]);
    pthread_mutex_destroy(&r->lock);
    nb_free(r);
}

void srv_roots_newest(struct srv_roots *r, struct nb_root *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->newest;
    pthread_mutex_unlock(&r->lock);
}

void srv_roots_anchor(struct srv_roots *r, struct nb_root *out)
{
    *out = r->anchor; /* set once at open */
}

uint32_t srv_roots_version(struct srv_roots *r)
{
    pthread_mutex_lock(&r->lock);
    uint32_t v = r->newest.version;
    pthread_mutex_unlock(&r->lock);
    return v;
}

uint32_t srv_roots_first(struct srv_roots *r)
{
    return r->first; /* set once at open */
}

static enum nb_err publish_locked(struct srv_roots *r, const uint8_t *text, size_t len, int64_t now,
                                  struct nb_root *prev, struct nb_root *out, struct nb_diag *diag)
{
    char path[1100];
    struct nb_root next;
    if (r->n > SRV_ROOTS_MAX)
        return nb_diag_set(diag, NB_ELENGTH,
                           "this server keeps %d roots after its anchor: restart it with a newer "
                           "--root",
                           SRV_ROOTS_MAX);
    enum nb_err err =
        nb_root_step(&r->newest, text, len, r->scratch, sizeof r->scratch, &next, diag);
    if (err == NB_OK)
        err = nb_root_check_expiry(&next, now, diag);
    if (err == NB_OK && (err = root_path(r, next.version, path, sizeof path)) == NB_OK)
        err = nb_file_write_atomic(path, text, len, 0644, true, diag);
    uint8_t *copy = err == NB_OK ? nb_malloc(len) : NULL;
    if (err == NB_OK && copy == NULL)
        err = NB_ENOMEM;
    if (err != NB_OK)
        return err;
    memcpy(copy, text, len);
    if (prev != NULL)
        *prev = r->newest;
    append(r, copy, len, &next);
    *out = next;
    return NB_OK;
}

enum nb_err srv_roots_publish(struct srv_roots *r, const uint8_t *text, size_t len, int64_t now,
                              struct nb_root *prev, struct nb_root *out, struct nb_diag *diag)
{
    /* Checked before anything else: a device could not store a larger one. */
    if (len > NB_TRUST_ROOT_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "root is %zu bytes, a device's trust store holds %u",
                           len, (unsigned)NB_TRUST_ROOT_MAX);
    pthread_mutex_lock(&r->lock);
    enum nb_err err = publish_locked(r, text, len, now, prev, out, diag);
    pthread_mutex_unlock(&r->lock);
    return err;
}

enum nb_err srv_roots_get(struct srv_roots *r, uint32_t version, uint8_t **text, size_t *len)
{
    enum nb_err err = NB_ENOENT;
    pthread_mutex_lock(&r->lock);
    if (version >= r->first && version - r->first < r->n) {
        size_t i = version - r->first;
        uint8_t *copy = nb_malloc(r->lens[i]);
        err = copy == NULL ? NB_ENOMEM : NB_OK;
        if (copy != NULL) {
            memcpy(copy, r->texts[i], r->lens[i]);
            *text = copy;
            *len = r->lens[i];
        }
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}
