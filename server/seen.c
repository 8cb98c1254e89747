/* Coalesced last-seen times (seen.h): two fixed buffers, each an array of
 * (device, time) with an open-addressing index, so a note is a hash probe
 * under a mutex. A flush swaps the buffers and writes the full one
 * outside the mutex; until that write commits, lookups still see its
 * entries, so no time is ever invisible to srv_seen_last. */
#include "seen.h"

#include <nobrick/alloc.h>

#include <string.h>

#define SLOTS (2 * SRV_SEEN_MAX)

static uint32_t hash(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *id != '\0'; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t probe(const struct srv_seen_buf *b, const char *id)
{
    size_t i = hash(id) & (SLOTS - 1);
    while (b->slot[i] >= 0 && strcmp(b->v[b->slot[i]].id, id) != 0)
        i = (i + 1) & (SLOTS - 1);
    return i;
}

static void buf_clear(struct srv_seen_buf *b)
{
    memset(b->slot, 0xff, SLOTS * sizeof b->slot[0]);
    b->n = 0;
}

enum nb_err srv_seen_init(struct srv_seen *s, struct store *store)
{
    memset(s, 0, sizeof *s);
    s->store = store;
    for (size_t i = 0; i < 2; i++) {
        s->buf[i].v = nb_calloc(SRV_SEEN_MAX, sizeof s->buf[i].v[0]);
        s->buf[i].slot = nb_malloc(SLOTS * sizeof s->buf[i].slot[0]);
        if (s->buf[i].v == NULL || s->buf[i].slot == NULL) {
            srv_seen_fini(s);
            return NB_ENOMEM;
        }
        buf_clear(&s->buf[i]);
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->flush_mu, NULL);
    s->active = &s->buf[0];
    return NB_OK;
}

void srv_seen_fini(struct srv_seen *s)
{
    if (s->active != NULL) {
        pthread_mutex_destroy(&s->mu);
        pthread_mutex_destroy(&s->flush_mu);
    }
    for (size_t i = 0; i < 2; i++) {
        nb_free(s->buf[i].v);
        nb_free(s->buf[i].slot);
    }
    memset(s, 0, sizeof *s);
}

/* Under mu: true when noted in the active buffer, false when it is full. */
static bool note_locked(struct srv_seen *s, const char *id, int64_t at)
{
    struct srv_seen_buf *b = s->active;
    size_t i = probe(b, id);
    if (b->slot[i] >= 0) {
        struct store_seen *e = &b->v[b->slot[i]];
        e->at = at > e->at ? at : e->at;
        return true;
    }
    if (b->n == SRV_SEEN_MAX)
        return false;
    struct store_seen *e = &b->v[b->n];
    (void)memccpy(e->id, id, '\0', sizeof e->id);
    e->id[sizeof e->id - 1] = '\0';
    e->at = at;
    b->slot[i] = (int32_t)b->n++;
    return true;
}

enum nb_err srv_seen_note(struct srv_seen *s, const char *id, int64_t at)
{
    pthread_mutex_lock(&s->mu);
    bool noted = note_locked(s, id, at);
    pthread_mutex_unlock(&s->mu);
    if (noted)
        return NB_OK;
    /* Full: write it all now; if others filled the fresh buffer meanwhile,
     * this one time goes to the store directly. */
    enum nb_err err = srv_seen_flush(s);
    pthread_mutex_lock(&s->mu);
    noted = note_locked(s, id, at);
    pthread_mutex_unlock(&s->mu);
    if (noted)
        return err;
    struct store_seen one = {{0}, at};
    (void)memccpy(one.id, id, '\0', sizeof one.id);
    one.id[sizeof one.id - 1] = '\0';
    return s->store->ops->device_seen(s->store, &one, 1);
}

static int64_t lookup(const struct srv_seen_buf *b, const char *id)
{
    if (b == NULL)
        return 0;
    size_t i = probe(b, id);
    return b->slot[i] >= 0 ? b->v[b->slot[i]].at : 0;
}

int64_t srv_seen_last(struct srv_seen *s, const char *id)
{
    pthread_mutex_lock(&s->mu);
    int64_t a = lookup(s->active, id), f = lookup(s->flushing, id);
    pthread_mutex_unlock(&s->mu);
    return a > f ? a : f;
}

enum nb_err srv_seen_flush(struct srv_seen *s)
{
    pthread_mutex_lock(&s->flush_mu);
    pthread_mutex_lock(&s->mu);
    struct srv_seen_buf *full = s->active;
    s->active = full == &s->buf[0] ? &s->buf[1] : &s->buf[0];
    s->flushing = full;
    pthread_mutex_unlock(&s->mu);
    /* full is read only by lookups (under mu) while it is written. */
    enum nb_err err = full->n > 0 ? s->store->ops->device_seen(s->store, full->v, full->n) : NB_OK;
    pthread_mutex_lock(&s->mu);
    buf_clear(full);
    s->flushing = NULL;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->flush_mu);
    return err;
}
