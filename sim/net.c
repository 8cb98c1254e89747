/* nobrick-sim's HTTP over libcurl (net.h): one multi handle, at most
 * `connections` transfers on it, each with a pooled easy handle (their
 * connections stay in the multi's cache); requests beyond that wait in a
 * FIFO, so a fleet of 100,000 devices costs 100,000 queued requests, not
 * 100,000 easy handles and buffers. Each request and its answer go through
 * agent/exchange_curl.c, the same code as the real agent's transport; the
 * answer passes through a write callback that applies the request's faults
 * (the body cut at a byte, a byte flipped). */
#include "net.h"

#include "exchange_curl.h"

#include <nobrick/alloc.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEP_BUF (64u * 1024) /* a pooled transfer keeps a buffer up to this */
#define QUEUE_MAX (1u << 24)  /* requests waiting for a transfer */

struct xfer {
    CURL *easy;
    void *owner;
    struct sim_net_opts opts;
    uint64_t seen;           /* body bytes received so far */
    struct agent_exchange x; /* the request and its answer */
    struct xfer *next;       /* free list */
};

struct pending {
    struct nb_agent_request q;
    void *owner;
    struct sim_net_opts opts;
};

struct sim_net {
    CURLM *multi;
    CURL *mgmt;
    char base[1024];
    struct xfer *free;
    size_t active, max_active, handles; /* transfers on the multi; easy handles made */
    struct pending *queue;              /* ring */
    size_t q_head, q_len, q_cap;
    struct sim_net_stats stats;
    struct sim_latency latency;
};

static const struct sim_net_opts no_faults = {SIM_NET_NONE, SIM_NET_NONE, 0, 0, false};

enum nb_err sim_net_open(const char *base, uint32_t max_connections, struct sim_net **out)
{
    struct sim_net *n = nb_calloc(1, sizeof *n);
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    if (n == NULL)
        return NB_ENOMEM;
    n->multi = curl_multi_init();
    n->mgmt = curl_easy_init();
    if (n->multi == NULL || n->mgmt == NULL || len >= sizeof n->base) {
        sim_net_close(n);
        return NB_EINVAL;
    }
    memcpy(n->base, base, len);
    n->max_active = max_connections;
    curl_multi_setopt(n->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_connections);
    curl_multi_setopt(n->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_connections);
    *out = n;
    return NB_OK;
}

void sim_net_close(struct sim_net *n)
{
    if (n == NULL)
        return;
    for (struct xfer *x = n->free, *next; x != NULL; x = next) {
        next = x->next;
        curl_easy_cleanup(x->easy);
        agent_exchange_free(&x->x);
        nb_free(x);
    }
    if (n->mgmt != NULL)
        curl_easy_cleanup(n->mgmt);
    if (n->multi != NULL)
        curl_multi_cleanup(n->multi);
    nb_free(n->queue);
    nb_free(n);
}

static struct xfer *take(struct sim_net *n)
{
    struct xfer *x = n->free;
    if (x != NULL) {
        n->free = x->next;
        curl_easy_reset(x->easy);
        return x;
    }
    x = nb_calloc(1, sizeof *x);
    if (x != NULL && (x->easy = curl_easy_init()) == NULL) {
        nb_free(x);
        x = NULL;
    }
    if (x != NULL && ++n->handles > n->stats.peak_handles)
        n->stats.peak_handles = n->handles;
    return x;
}

static void give_back(struct sim_net *n, struct xfer *x)
{
    if (x->x.cap > KEEP_BUF)
        agent_exchange_free(&x->x);
    x->next = n->free;
    n->free = x;
}

/* The answer's bytes with the request's faults: a cut aborts the transfer
 * (libcurl then fails it and closes the connection), a flip changes one
 * byte of what the core will see. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * nmemb;
    uint64_t at = x->seen;
    x->seen += len;
    size_t keep = x->opts.cut_at != SIM_NET_NONE && x->opts.cut_at < at + len
                      ? (size_t)(x->opts.cut_at > at ? x->opts.cut_at - at : 0)
                      : len;
    if (!agent_exchange_append(&x->x, data, keep))
        return 0;
    if (x->opts.flip_at >= at && x->opts.flip_at < at + keep)
        x->x.buf[x->x.len - keep + (size_t)(x->opts.flip_at - at)] ^= x->opts.flip_mask;
    return keep == len ? len : 0;
}

static void prepare(struct sim_net *n, struct xfer *x, const struct nb_agent_request *q)
{
    CURL *c = x->easy;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "nobrick-sim/0.1.0");
    curl_easy_setopt(c, CURLOPT_PRIVATE, x);
    agent_exchange_prepare(&x->x, c, n->base, q);
    /* after prepare: the faults' callback replaces the plain one */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    if (x->opts.recv_bps > 0)
        curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)x->opts.recv_bps);
    x->seen = 0;
}

/* Starts the queue's oldest request on a pooled transfer. */
static enum nb_err start(struct sim_net *n, const struct pending *p)
{
    struct xfer *x = take(n);
    if (x == NULL)
        return NB_ENOMEM;
    x->owner = p->owner;
    x->opts = p->opts;
    prepare(n, x, &p->q);
    if (curl_multi_add_handle(n->multi, x->easy) != CURLM_OK) {
        give_back(n, x);
        return NB_EIO;
    }
    n->active++;
    return NB_OK;
}

static bool queue_grow(struct sim_net *n)
{
    size_t cap = n->q_cap == 0 ? 256 : n->q_cap * 2;
    if (cap > QUEUE_MAX)
        return false;
    struct pending *q = nb_calloc(cap, sizeof *q);
    if (q == NULL)
        return false;
    for (size_t i = 0; i < n->q_len; i++)
        q[i] = n->queue[(n->q_head + i) % n->q_cap];
    nb_free(n->queue);
    n->queue = q;
    n->q_head = 0;
    n->q_cap = cap;
    return true;
}

enum nb_err sim_net_submit_with(struct sim_net *n, const struct nb_agent_request *q, void *owner,
                                const struct sim_net_opts *opts)
{
    struct pending p = {*q, owner, opts != NULL ? *opts : no_faults};
    if (n->q_len == 0 && n->active < n->max_active) {
        enum nb_err err = start(n, &p);
        if (err != NB_OK)
            return err;
    } else {
        if (n->q_len == n->q_cap && !queue_grow(n))
            return NB_ENOMEM;
        n->queue[(n->q_head + n->q_len++) % n->q_cap] = p;
    }
    n->stats.requests++;
    n->stats.bytes_up += q->body_len;
    return NB_OK;
}

enum nb_err sim_net_submit(struct sim_net *n, const struct nb_agent_request *q, void *owner)
{
    return sim_net_submit_with(n, q, owner, NULL);
}

/* Moves queued requests onto the transfers that have become free. A start
 * that fails is answered as a transport failure. */
static void feed(struct sim_net *n, sim_net_done_fn done, void *ctx)
{
    while (n->q_len > 0 && n->active < n->max_active) {
        struct pending p = n->queue[n->q_head];
        n->q_head = (n->q_head + 1) % n->q_cap;
        n->q_len--;
        if (start(n, &p) != NB_OK) {
            struct nb_agent_response fail = {.err = NB_EIO};
            n->stats.failures++;
            done(ctx, p.owner, &fail);
        }
    }
}

static void finish(struct sim_net *n, CURLMsg *m, sim_net_done_fn done, void *ctx)
{
    struct xfer *x = NULL;
    struct nb_agent_response r;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    CURLcode rc = m->data.result; /* m is not valid after the removal */
    curl_off_t us = 0;
    curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME_T, &us);
    curl_multi_remove_handle(n->multi, m->easy_handle);
    agent_exchange_finish(&x->x, x->easy, rc, &r);
    if (rc != CURLE_OK)
        n->stats.failures++;
    else
        n->stats.bytes_down += x->x.len;
    if (x->opts.cut_at != SIM_NET_NONE && x->seen > x->opts.cut_at)
        n->stats.truncated++;
    if (x->opts.flip_at != SIM_NET_NONE && x->seen > x->opts.flip_at &&
        (x->opts.cut_at == SIM_NET_NONE || x->opts.flip_at < x->opts.cut_at))
        n->stats.corrupted++;
    if (x->opts.timed && rc == CURLE_OK)
        sim_latency_add(&n->latency, us > 0 ? (uint64_t)us : 0);
    n->active--;
    done(ctx, x->owner, &r);
    give_back(n, x);
}

size_t sim_net_run(struct sim_net *n, int timeout_ms, sim_net_done_fn done, void *ctx)
{
    int running = 0, left = 0;
    feed(n, done, ctx);
    curl_multi_perform(n->multi, &running);
    if (timeout_ms > 0 && running > 0)
        curl_multi_poll(n->multi, NULL, 0, timeout_ms, NULL);
    curl_multi_perform(n->multi, &running);
    CURLMsg *m;
    while ((m = curl_multi_info_read(n->multi, &left)) != NULL)
        if (m->msg == CURLMSG_DONE)
            finish(n, m, done, ctx);
    feed(n, done, ctx);
    return sim_net_in_flight(n);
}

size_t sim_net_in_flight(const struct sim_net *n)
{
    return n->active + n->q_len;
}

void sim_net_stats(const struct sim_net *n, struct sim_net_stats *out)
{
    *out = n->stats;
}

const struct sim_latency *sim_net_latency(const struct sim_net *n)
{
    return &n->latency;
}

void sim_net_latency_reset(struct sim_net *n)
{
    sim_latency_reset(&n->latency);
}

struct sink {
    char *out;
    size_t len, cap;
};

static size_t on_sink(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t len = size * nmemb, room = s->cap - 1 - s->len;
    size_t k = len < room ? len : room;
    memcpy(s->out + s->len, data, k);
    s->len += k;
    s->out[s->len] = '\0';
    return len;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *h)
{
    struct curl_slist *t = curl_slist_append(l, h);
    return t != NULL ? t : l;
}

enum nb_err sim_net_call(struct sim_net *n, const char *method, const char *path, const char *token,
                         const void *body, size_t body_len, const char *content_type, int *status,
                         char *out, size_t cap)
{
    char url[1400], auth[256], ctype[128];
    struct curl_slist *hdr = NULL;
    struct sink s = {out, 0, cap};
    CURL *c = n->mgmt;
    out[0] = '\0';
    curl_easy_reset(c);
    (void)snprintf(url, sizeof url, "%s%s", n->base, path);
    (void)snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    (void)snprintf(ctype, sizeof ctype, "Content-Type: %s",
                   content_type != NULL ? content_type : "application/json");
    hdr = add_header(add_header(add_header(hdr, auth), ctype), "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(hdr);
    *status = (int)st;
    return rc == CURLE_OK ? NB_OK : NB_EIO;
}
