/* The install driver: reads a bundle's parts through a struct
 * nb_bundle_reader and pushes them into the install engine (install.h),
 * which verifies everything against signed data before it writes. Memory:
 * the envelope, the frame table and one frame, whatever the image size. */
#include "bundle_install.h"

#include <nobrick/alloc.h>
#include <nobrick/bundle.h>
#include <nobrick/codec.h>
#include <nobrick/envelope.h>
#include <nobrick/frames.h>
#include <nobrick/install.h>

#include <string.h>

/* Buffers of one install, owned here. */
struct bufs {
    struct nb_bundle_header hdr;
    uint8_t *envelope, *table, *scratch, *window, *stored;
    size_t stored_cap, window_len;
    struct nb_codec codec;
};

static void bufs_free(struct bufs *b)
{
    nb_codec_fini(&b->codec);
    nb_free(b->stored);
    nb_free(b->window);
    nb_free(b->scratch);
    nb_free(b->table);
    nb_free(b->envelope);
}

/* Reads header, envelope and table. The window is sized from the table
 * header's frame size: unverified here, but capped, and the engine refuses a
 * table that disagrees with the signed release. */
static enum nb_err read_parts(struct nb_bundle_reader *r, struct bufs *b, struct nb_diag *diag)
{
    uint8_t hdr[NB_BUNDLE_HEADER_LEN];
    enum nb_err err = r->ops->read_at(r, 0, hdr, sizeof hdr, diag);
    if (err == NB_OK)
        err = nb_bundle_header_parse(hdr, r->len, &b->hdr, diag);
    if (err != NB_OK)
        return err;
    b->envelope = nb_malloc(b->hdr.envelope_len);
    b->table = nb_malloc(b->hdr.table_len);
    b->scratch = nb_malloc(NB_ENVELOPE_SCRATCH_LEN);
    if (b->envelope == NULL || b->table == NULL || b->scratch == NULL)
        return NB_ENOMEM;
    err = r->ops->read_at(r, b->hdr.envelope_off, b->envelope, b->hdr.envelope_len, diag);
    if (err == NB_OK)
        err = r->ops->read_at(r, b->hdr.table_off, b->table, b->hdr.table_len, diag);
    if (err != NB_OK)
        return err;
    uint32_t fs = (uint32_t)b->table[12] | (uint32_t)b->table[13] << 8 |
                  (uint32_t)b->table[14] << 16 | (uint32_t)b->table[15] << 24;
    if (fs < NB_FRAME_SIZE_MIN || fs > NB_FRAME_SIZE_MAX || (fs & (fs - 1)) != 0)
        return nb_diag_set(diag, NB_EPARSE, "bundle: frame table: bad frame size %u", fs);
    b->window_len = fs;
    b->window = nb_malloc(fs);
    if (b->window == NULL)
        return NB_ENOMEM;
    return nb_codec_init(&b->codec);
}

/* Reads frame index and hands it to the engine; one more read on a hash or
 * truncation failure. */
static enum nb_err feed_frame(struct nb_install *in, struct nb_bundle_reader *r, struct bufs *b,
                              uint32_t index, struct nb_diag *diag)
{
    struct nb_frame_entry e;
    nb_frame_entry_get(b->table, index, &e);
    if (e.stored_len > b->stored_cap)
        return nb_diag_set(diag, NB_ELENGTH, "bundle: frame %u is larger than the release allows",
                           index);
    enum nb_err err = NB_EIO;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct nb_diag d2 = {{0}};
        err = r->ops->read_at(r, b->hdr.frames_off + e.stored_off, b->stored, e.stored_len, &d2);
        if (err == NB_OK)
            err = nb_install_frame(in, index, b->stored, e.stored_len, &d2);
        if (err != NB_EHASH && err != NB_ETRUNCATED) {
            if (err != NB_OK && diag != NULL)
                *diag = d2;
            return err;
        }
        if (attempt == 1 && diag != NULL)
            *diag = d2;
    }
    return err;
}

static enum nb_err run(struct nb_install *in, struct nb_bundle_reader *r, struct bufs *b,
                       agent_progress_fn progress, void *arg, struct nb_diag *diag)
{
    enum nb_err err = nb_install_begin(in, b->envelope, b->hdr.envelope_len, diag);
    if (err != NB_OK)
        return err;
    b->stored_cap = nb_frame_stored_max(&in->rel);
    b->stored = nb_malloc(b->stored_cap);
    if (b->stored == NULL)
        return NB_ENOMEM;
    err = nb_install_table(in, b->envelope, b->hdr.envelope_len, b->table, b->hdr.table_len, diag);
    uint32_t index;
    while (err == NB_OK && nb_install_want(in, &index)) {
        err = feed_frame(in, r, b, index, diag);
        if (err == NB_OK && progress != NULL) {
            uint32_t done, total;
            nb_install_progress(in, &done, &total);
            progress(arg, done, total);
        }
    }
    if (err == NB_OK)
        err = nb_install_finish(in, diag);
    return err;
}

enum nb_err agent_bundle_install(struct agent_device *d, struct nb_bundle_reader *r,
                                 const struct agent_install_keys *keys, agent_progress_fn progress,
                                 void *arg, struct agent_install_result *res, struct nb_diag *diag)
{
    struct bufs b;
    memset(&b, 0, sizeof b);
    memset(res, 0, sizeof *res);
    struct nb_install *in = nb_calloc(1, sizeof *in);
    enum nb_err err = in == NULL ? NB_ENOMEM : read_parts(r, &b, diag);
    if (err == NB_OK) {
        struct nb_install_device dev = {
            &d->flash,        &d->layout,        d->bootctl,        &d->journal,      keys->root,
            d->cfg->hw_class, d->cfg->component, keys->x25519_priv, keys->x25519_pub, d->cfg->tries,
        };
        struct nb_install_bufs ib = {
            b.scratch, NB_ENVELOPE_SCRATCH_LEN, b.table, b.hdr.table_len, b.window, b.window_len,
            &b.codec};
        nb_install_init(in, &dev, &ib);
        err = run(in, r, &b, progress, arg, diag);
        res->rel = in->rel;
        res->target = in->target;
        nb_install_progress(in, &res->frames_written, &res->frames_total);
        res->frames_skipped = in->frames_skipped;
        res->frames_written -= in->frames_skipped <= res->frames_written ? in->frames_skipped : 0;
        res->resumed = in->resumed;
        nb_install_fini(in);
    }
    nb_free(in);
    bufs_free(&b);
    return err;
}
