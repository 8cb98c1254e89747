/* nobrick-sim's HTTP (sim/net.c): many requests in flight at once over one
 * libcurl multi handle (at most `connections` transfers, each with its
 * easy handle; the rest wait in a queue that costs a few dozen bytes a
 * request), each answer collected up to the request's cap and handed back
 * with its owner; the network faults of a request (its answer cut at a
 * byte, a byte flipped, a receive-speed cap); check-in latencies; and plain
 * blocking calls for the management API. Only http://127.0.0.1 servers are
 * meant (docs/simulator.md). */
#ifndef SIM_NET_H
#define SIM_NET_H

#include <nobrick/agent.h>
#include <nobrick/err.h>

#include "latency.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_net;

struct sim_net_stats {
    uint64_t requests, failures; /* failures: transport errors */
    uint64_t bytes_down, bytes_up;
    uint64_t truncated, corrupted; /* answers cut mid-body, bytes flipped */
    uint64_t peak_handles;         /* easy handles that ever existed at once */
};

#define SIM_NET_NONE UINT64_MAX

/* What happens to one request on its way (sim/faults.c chooses). */
struct sim_net_opts {
    uint64_t cut_at;   /* the answer's body stops after this many bytes and the
                          connection fails (SIM_NET_NONE: it does not) */
    uint64_t flip_at;  /* this byte of the body arrives with flip_mask xored in */
    uint8_t flip_mask; /* non-zero when flip_at is set */
    uint64_t recv_bps; /* receive-speed cap in bytes/s (0: none; real time) */
    bool timed;        /* its latency goes into the check-in histogram */
};

/* base: "http://127.0.0.1:PORT"; max_connections: concurrent connections. */
NB_MUST_CHECK enum nb_err sim_net_open(const char *base, uint32_t max_connections,
                                       struct sim_net **out);
void sim_net_close(struct sim_net *n);

/* Starts q (the agent core's request: strings and body must stay valid
 * until its answer is delivered) on behalf of owner. */
NB_MUST_CHECK enum nb_err sim_net_submit(struct sim_net *n, const struct nb_agent_request *q,
                                         void *owner);
/* The same with the request's faults and timing (opts copied; NULL: none). */
NB_MUST_CHECK enum nb_err sim_net_submit_with(struct sim_net *n, const struct nb_agent_request *q,
                                              void *owner, const struct sim_net_opts *opts);

/* Called once per finished request; r->body is valid for the call. */
typedef void (*sim_net_done_fn)(void *ctx, void *owner, const struct nb_agent_response *r);

/* Moves transfers on, waiting up to timeout_ms for activity, and delivers
 * every finished one. Returns the number still in flight. */
size_t sim_net_run(struct sim_net *n, int timeout_ms, sim_net_done_fn done, void *ctx);

size_t sim_net_in_flight(const struct sim_net *n);
void sim_net_stats(const struct sim_net *n, struct sim_net_stats *out);
/* Latencies of the timed requests answered (any HTTP status) since the
 * last reset; and the reset (a load run measures after the enrolment). */
const struct sim_latency *sim_net_latency(const struct sim_net *n);
void sim_net_latency_reset(struct sim_net *n);

/* One blocking management call: method, path, bearer token, body (NULL:
 * none) with its content type. *status and up to cap-1 bytes of the answer
 * in out (NUL-terminated). NB_EIO when the server cannot be reached. */
NB_MUST_CHECK enum nb_err sim_net_call(struct sim_net *n, const char *method, const char *path,
                                       const char *token, const void *body, size_t body_len,
                                       const char *content_type, int *status, char *out,
                                       size_t cap);

#endif
