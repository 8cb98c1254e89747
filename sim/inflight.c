/* Send times of the requests in flight (inflight.h): a ring of batches in
 * the order sent, twice as long as the requests that may be in flight, so
 * that squeezing out the answered batches in its middle (when it is full)
 * frees at least half of it: each batch still counted holds a request. */
#include "inflight.h"

#include <nobrick/alloc.h>

#include <string.h>

enum nb_err sim_inflight_init(struct sim_inflight *a, size_t max_requests)
{
    memset(a, 0, sizeof *a);
    a->cap = 2 * (max_requests > 0 ? max_requests : 1);
    a->ring = nb_calloc(a->cap, sizeof *a->ring);
    return a->ring != NULL ? NB_OK : NB_ENOMEM;
}

void sim_inflight_fini(struct sim_inflight *a)
{
    nb_free(a->ring);
    memset(a, 0, sizeof *a);
}

static struct sim_inflight_batch *at(const struct sim_inflight *a, size_t i)
{
    return &a->ring[(a->head + i) % a->cap];
}

/* Drops the answered batches from the middle of a full ring. */
static void squeeze(struct sim_inflight *a)
{
    size_t kept = 0;
    for (size_t i = 0; i < a->len; i++)
        if (at(a, i)->n > 0)
            *at(a, kept++) = *at(a, i);
    a->len = kept;
}

bool sim_inflight_add(struct sim_inflight *a, uint64_t at_ms)
{
    if (a->len > 0 && at_ms < at(a, a->len - 1)->at_ms)
        return false; /* out of order: the ring must stay sorted for remove's search */
    if (a->len > 0 && at(a, a->len - 1)->at_ms == at_ms) {
        at(a, a->len - 1)->n++;
        return true;
    }
    if (a->len == a->cap)
        squeeze(a);
    if (a->len == a->cap)
        return false;
    *at(a, a->len++) = (struct sim_inflight_batch){at_ms, 1};
    return true;
}

bool sim_inflight_remove(struct sim_inflight *a, uint64_t at_ms)
{
    size_t lo = 0, hi = a->len; /* the first batch sent at or after at_ms */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at(a, mid)->at_ms < at_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == a->len || at(a, lo)->at_ms != at_ms || at(a, lo)->n == 0)
        return false;
    at(a, lo)->n--;
    while (a->len > 0 && at(a, 0)->n == 0) {
        a->head = (a->head + 1) % a->cap;
        a->len--;
    }
    return true;
}

bool sim_inflight_oldest(const struct sim_inflight *a, uint64_t *at_ms)
{
    if (a->len == 0)
        return false;
    *at_ms = at(a, 0)->at_ms;
    return true;
}
