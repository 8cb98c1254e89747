/* When the requests in flight were sent (sim/inflight.c), so that virtual
 * time never runs more than run.inflight_step_ms past the oldest one: a
 * request costs the devices a bounded slice of virtual time, as a network's
 * latency does, however long the real server takes. Send times only grow
 * (the virtual clock is monotonic), so they are kept as a ring of
 * (time, requests) in the order sent; an answer decrements its time's
 * count and the ring's head is the oldest time still counted. */
#ifndef SIM_INFLIGHT_H
#define SIM_INFLIGHT_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_inflight_batch {
    uint64_t at_ms; /* when these requests were sent */
    uint64_t n;     /* how many of them are still in flight (0: all answered) */
};

struct sim_inflight {
    struct sim_inflight_batch *ring;
    size_t head, len, cap;
};

/* For at most max_requests requests in flight at once (the fleet: one a
 * device). NB_ENOMEM. Release with sim_inflight_fini. */
NB_MUST_CHECK enum nb_err sim_inflight_init(struct sim_inflight *a, size_t max_requests);
void sim_inflight_fini(struct sim_inflight *a);

/* A request sent at at_ms. false (nothing recorded) when at_ms is earlier
 * than the last send time recorded, or when all 2 x max_requests batches
 * of the ring still hold requests (more than max_requests were added):
 * a caller's bug either way. */
NB_MUST_CHECK bool sim_inflight_add(struct sim_inflight *a, uint64_t at_ms);
/* The answer to a request sent at at_ms. false when none sent then is in
 * flight (a caller's bug; nothing changes). */
bool sim_inflight_remove(struct sim_inflight *a, uint64_t at_ms);
/* The send time of the oldest request in flight; false when none is. */
bool sim_inflight_oldest(const struct sim_inflight *a, uint64_t *at_ms);

#endif
