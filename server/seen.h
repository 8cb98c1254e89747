/* Coalesced "last seen" times of devices (seen.c). A check-in that reports
 * nothing new (same version, security counter, slots and last result as
 * stored) needs no write of its own: its time is noted here and written,
 * with every other one noted since, in one store transaction by
 * srv_seen_flush (ten times a second from main.c, at shutdown, and when
 * the buffer is full). What a device reports that matters is never buffered:
 * a check-in that changes it is written at once (store device_checkin).
 * A crash loses at most the last tenth of a second of last-seen times. */
#ifndef NOBRICK_SERVER_SEEN_H
#define NOBRICK_SERVER_SEEN_H

#include "store.h"

#include <pthread.h>

/* Devices noted between two flushes, at most (then the noting request
 * flushes). */
#define SRV_SEEN_MAX 16384

struct srv_seen_buf {
    struct store_seen *v; /* SRV_SEEN_MAX entries, v[0..n-1] used */
    int32_t *slot;        /* 2 * SRV_SEEN_MAX hash slots: index into v, or -1 */
    size_t n;
};

struct srv_seen {
    struct store *store;
    pthread_mutex_t mu;       /* the buffers and which is which */
    pthread_mutex_t flush_mu; /* one flush at a time */
    struct srv_seen_buf buf[2];
    struct srv_seen_buf *active;   /* takes new notes */
    struct srv_seen_buf *flushing; /* being written; NULL when none */
};

/* Allocates the buffers; NB_ENOMEM. srv_seen_fini frees them (after a
 * last srv_seen_flush) and is safe on a zeroed struct. */
NB_MUST_CHECK enum nb_err srv_seen_init(struct srv_seen *s, struct store *store);
void srv_seen_fini(struct srv_seen *s);

/* Notes that device id checked in at `at` (the later time wins). */
NB_MUST_CHECK enum nb_err srv_seen_note(struct srv_seen *s, const char *id, int64_t at);

/* The latest time noted for id and not yet written, or 0. */
int64_t srv_seen_last(struct srv_seen *s, const char *id);

/* Writes what was noted (one store transaction) and forgets it. On a store
 * error the notes are dropped (they are only last-seen times) and the
 * error returned. */
NB_MUST_CHECK enum nb_err srv_seen_flush(struct srv_seen *s);

#endif
