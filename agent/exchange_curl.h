/* One exchange of the agent core (a struct nb_agent_request and its
 * answer) on a libcurl easy handle: the URL, method, body, headers and
 * Range of the request; the answer collected into a buffer that never grows
 * past the request's cap (SECURITY.md 20, 21); Retry-After from the
 * headers. Shared by nobrick-agent's transport (one blocking request at a
 * time) and nobrick-sim (thousands on a multi handle), so both drive the
 * core over the same HTTP. */
#ifndef AGENT_EXCHANGE_CURL_H
#define AGENT_EXCHANGE_CURL_H

#include <nobrick/agent.h>

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent_exchange {
    struct curl_slist *hdr; /* this request's headers, until finish */
    uint8_t *buf;           /* the answer; kept between requests */
    size_t len, cap, max;   /* max: this request's cap */
    bool over;              /* the answer went past max */
    uint32_t retry_after_s;
    char url[2048];
    char range[48];
};

/* Sets c up for q (base + q->path unless the path is an absolute URL; base
 * has no trailing '/') and resets x's answer. Options that are not about
 * the request (timeouts, CA, user agent) stay the caller's. */
void agent_exchange_prepare(struct agent_exchange *x, CURL *c, const char *base,
                            const struct nb_agent_request *q);
/* After the transfer ended with rc: fills r (r->body points into x's
 * buffer, valid until the next prepare) or r->err (NB_ELENGTH past the
 * cap, NB_ETIMEOUT, NB_EIO), and frees the request's headers. */
void agent_exchange_finish(struct agent_exchange *x, CURL *c, CURLcode rc,
                           struct nb_agent_response *r);
/* Appends len bytes of the answer (what the write callback set by prepare
 * does; a driver that replaces the callback calls it): false past the
 * request's cap (x->over set, the transfer must then fail) or out of
 * memory. */
bool agent_exchange_append(struct agent_exchange *x, const void *data, size_t len);
/* Frees the buffer and any headers; x may be reused after. */
void agent_exchange_free(struct agent_exchange *x);

#endif
