/* nobrick-sim's HTTP over libcurl (net.h): one multi handle, a pool of easy
 * handles reused between requests (their connections stay in the multi's
 * cache); each request and its answer go through agent/exchange_curl.c,
 * the same code as the real agent's transport. */
#include "net.h"

#include "exchange_curl.h"

#include <nobrick/alloc.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEP_BUF (64u * 1024) /* a pooled transfer keeps a buffer up to this */

struct xfer {
    CURL *easy;
    void *owner;
    struct agent_exchange x; /* the request and its answer */
    struct xfer *next;       /* free list */
};

struct sim_net {
    CURLM *multi;
    CURL *mgmt;
    char base[1024];
    struct xfer *free;
    size_t in_flight;
    struct sim_net_stats stats;
};

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
    return x;
}

static void give_back(struct sim_net *n, struct xfer *x)
{
    if (x->x.cap > KEEP_BUF)
        agent_exchange_free(&x->x);
    x->next = n->free;
    n->free = x;
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
}

enum nb_err sim_net_submit(struct sim_net *n, const struct nb_agent_request *q, void *owner)
{
    struct xfer *x = take(n);
    if (x == NULL)
        return NB_ENOMEM;
    x->owner = owner;
    prepare(n, x, q);
    if (curl_multi_add_handle(n->multi, x->easy) != CURLM_OK) {
        give_back(n, x);
        return NB_EIO;
    }
    n->in_flight++;
    n->stats.requests++;
    n->stats.bytes_up += q->body_len;
    return NB_OK;
}

static void finish(struct sim_net *n, CURLMsg *m, sim_net_done_fn done, void *ctx)
{
    struct xfer *x = NULL;
    struct nb_agent_response r;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    CURLcode rc = m->data.result; /* m is not valid after the removal */
    curl_multi_remove_handle(n->multi, m->easy_handle);
    agent_exchange_finish(&x->x, x->easy, rc, &r);
    if (rc != CURLE_OK)
        n->stats.failures++;
    else
        n->stats.bytes_down += x->x.len;
    n->in_flight--;
    done(ctx, x->owner, &r);
    give_back(n, x);
}

size_t sim_net_run(struct sim_net *n, int timeout_ms, sim_net_done_fn done, void *ctx)
{
    int running = 0, left = 0;
    curl_multi_perform(n->multi, &running);
    if (timeout_ms > 0 && running > 0)
        curl_multi_poll(n->multi, NULL, 0, timeout_ms, NULL);
    curl_multi_perform(n->multi, &running);
    CURLMsg *m;
    while ((m = curl_multi_info_read(n->multi, &left)) != NULL)
        if (m->msg == CURLMSG_DONE)
            finish(n, m, done, ctx);
    return n->in_flight;
}

size_t sim_net_in_flight(const struct sim_net *n)
{
    return n->in_flight;
}

void sim_net_stats(const struct sim_net *n, struct sim_net_stats *out)
{
    *out = n->stats;
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
