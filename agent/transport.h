/* The online agent's HTTP transport (agent/transport_curl.c): performs the
 * requests the agent core asks for (nobrick/agent.h) with libcurl, over
 * HTTPS with the configured CA file, with a connect timeout and a minimum
 * throughput (a slower answer fails with NB_ETIMEOUT: SECURITY.md 22), and
 * the answer's size capped at what the core accepts (NB_ELENGTH). */
#ifndef AGENT_TRANSPORT_H
#define AGENT_TRANSPORT_H

#include <nobrick/agent.h>
#include <nobrick/err.h>

#include <stdint.h>

struct agent_http;

/* base: "https://host[:port]" (paths are appended); ca: a PEM file, or
 * NULL/empty for the system's; timeout_s: connect timeout, and how long an
 * answer may stay under 1 KiB/s. */
NB_MUST_CHECK enum nb_err agent_http_open(const char *base, const char *ca, uint32_t timeout_s,
                                          struct agent_http **out, struct nb_diag *diag);
void agent_http_close(struct agent_http *h);

/* Performs q and fills *r; r->body stays valid until the next call. */
void agent_http_perform(struct agent_http *h, const struct nb_agent_request *q,
                        struct nb_agent_response *r);

/* The last transfer's error text from libcurl ("" when none). */
const char *agent_http_last_error(const struct agent_http *h);

#endif
