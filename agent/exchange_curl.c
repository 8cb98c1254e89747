/* An agent-core request on a libcurl easy handle (exchange_curl.h): the
 * request's options, the answer under its cap, Retry-After. The transfer
 * itself (easy_perform or a multi handle) is the caller's. */
#include "exchange_curl.h"

#include <nobrick/alloc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool agent_exchange_append(struct agent_exchange *x, const void *data, size_t len)
{
    if (len > x->max - x->len) {
        x->over = true;
        return false;
    }
    if (x->len + len > x->cap) {
        size_t cap = x->cap == 0 ? 4096 : x->cap;
        while (cap < x->len + len)
            cap *= 2;
        cap = cap > x->max ? x->max : cap;
        uint8_t *p = nb_realloc(x->buf, cap);
        if (p == NULL)
            return false;
        x->buf = p;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, data, len);
    x->len += len;
    return true;
}

/* Collects the body, refusing to grow past the request's cap: the whole
 * transfer then fails (SECURITY.md 20, 21). */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    size_t len = size * n;
    return agent_exchange_append(arg, data, len) ? len : 0;
}

/* Retry-After in seconds (the HTTP-date form is not used by nobrick-server
 * and is ignored: the back-off applies). */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct agent_exchange *x = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0) {
        char v[16] = "";
        size_t k = len - (sizeof name - 1) < sizeof v - 1 ? len - (sizeof name - 1) : sizeof v - 1;
        memcpy(v, data + sizeof name - 1, k);
        char *end = NULL;
        unsigned long s = strtoul(v, &end, 10);
        if (end != v && s <= 86400)
            x->retry_after_s = (uint32_t)s;
    }
    return len;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *h)
{
    struct curl_slist *t = curl_slist_append(l, h);
    return t != NULL ? t : l;
}

static void set_headers(struct agent_exchange *x, CURL *c, const struct nb_agent_request *q)
{
    char auth[NB_AGENT_TOKEN_MAX + 32];
    curl_slist_free_all(x->hdr);
    x->hdr = NULL;
    if (q->bearer != NULL) {
        (void)snprintf(auth, sizeof auth, "Authorization: Bearer %s", q->bearer);
        x->hdr = add_header(x->hdr, auth);
    }
    if (q->body != NULL)
        x->hdr = add_header(x->hdr, "Content-Type: application/json");
    x->hdr = add_header(x->hdr, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdr);
}

void agent_exchange_prepare(struct agent_exchange *x, CURL *c, const char *base,
                            const struct nb_agent_request *q)
{
    bool absolute = strncmp(q->path, "http://", 7) == 0 || strncmp(q->path, "https://", 8) == 0;
    (void)snprintf(x->url, sizeof x->url, "%s%s", absolute ? "" : base, q->path);
    curl_easy_setopt(c, CURLOPT_URL, x->url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* no unsigned redirects */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    if (q->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)q->body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    (void)snprintf(x->range, sizeof x->range, "%llu-%llu", (unsigned long long)q->range_first,
                   (unsigned long long)q->range_last);
    curl_easy_setopt(c, CURLOPT_RANGE, q->range ? x->range : NULL);
    set_headers(x, c, q);
    x->len = 0;
    x->max = q->max_body;
    x->over = false;
    x->retry_after_s = 0;
}

void agent_exchange_finish(struct agent_exchange *x, CURL *c, CURLcode rc,
                           struct nb_agent_response *r)
{
    long status = 0;
    memset(r, 0, sizeof *r);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(x->hdr);
    x->hdr = NULL;
    if (rc != CURLE_OK) {
        r->err = x->over ? NB_ELENGTH : rc == CURLE_OPERATION_TIMEDOUT ? NB_ETIMEOUT : NB_EIO;
        return;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    r->status = (int)status;
    r->retry_after_s = x->retry_after_s;
    r->body = x->buf;
    r->body_len = x->len;
}

void agent_exchange_free(struct agent_exchange *x)
{
    curl_slist_free_all(x->hdr);
    x->hdr = NULL;
    nb_free(x->buf);
    x->buf = NULL;
    x->len = x->cap = 0;
}
