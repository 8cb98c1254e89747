/* The agent's transport over libcurl (transport.h): one easy handle reused
 * for every request (connection reuse), the answer collected into one
 * buffer that grows up to the request's cap and no further, Retry-After
 * read from the headers. */
#include "transport.h"

#include <nobrick/alloc.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SPEED_BPS 1024L

struct agent_http {
    CURL *curl;
    char base[1024];
    char url[2048];
    uint8_t *buf;
    size_t len, cap, max; /* max: this request's cap */
    bool over;            /* the answer went past max */
    uint32_t retry_after_s;
    char error[CURL_ERROR_SIZE];
};

enum nb_err agent_http_open(const char *base, const char *ca, uint32_t timeout_s,
                            struct agent_http **out, struct nb_diag *diag)
{
    struct agent_http *h = nb_calloc(1, sizeof *h);
    if (h == NULL)
        return NB_ENOMEM;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--; /* paths start with '/' */
    if (n >= sizeof h->base || (h->curl = curl_easy_init()) == NULL) {
        nb_free(h);
        return nb_diag_set(diag, NB_EINVAL, "server URL too long, or libcurl failed to start");
    }
    memcpy(h->base, base, n);
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* no unsigned redirects */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, MIN_SPEED_BPS);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)timeout_s);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "nobrick-agent/0.1.0");
    if (ca != NULL && ca[0] != '\0')
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    *out = h;
    return NB_OK;
}

void agent_http_close(struct agent_http *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    nb_free(h->buf);
    nb_free(h);
}

const char *agent_http_last_error(const struct agent_http *h)
{
    return h->error;
}

/* Collects the body, refusing to grow past the request's cap: the whole
 * transfer then fails (SECURITY.md 20, 21). */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct agent_http *h = arg;
    size_t len = size * n;
    if (len > h->max - h->len) {
        h->over = true;
        return 0;
    }
    if (h->len + len > h->cap) {
        size_t cap = h->cap == 0 ? 16384 : h->cap;
        while (cap < h->len + len)
            cap *= 2;
        cap = cap > h->max ? h->max : cap;
        uint8_t *p = nb_realloc(h->buf, cap);
        if (p == NULL)
            return 0;
        h->buf = p;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, data, len);
    h->len += len;
    return len;
}

/* Retry-After in seconds (the HTTP-date form is not used by nobrick-server
 * and is ignored: the back-off applies). */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct agent_http *h = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0) {
        char v[16] = "";
        size_t k = len - (sizeof name - 1) < sizeof v - 1 ? len - (sizeof name - 1) : sizeof v - 1;
        memcpy(v, data + sizeof name - 1, k);
        char *end = NULL;
        unsigned long s = strtoul(v, &end, 10);
        if (end != v && s <= 86400)
            h->retry_after_s = (uint32_t)s;
    }
    return len;
}

static struct curl_slist *headers(const struct nb_agent_request *q)
{
    char auth[NB_AGENT_TOKEN_MAX + 32];
    struct curl_slist *l = NULL, *t = NULL;
    if (q->bearer != NULL) {
        (void)snprintf(auth, sizeof auth, "Authorization: Bearer %s", q->bearer);
        t = curl_slist_append(l, auth);
        l = t != NULL ? t : l;
    }
    if (q->body != NULL) {
        t = curl_slist_append(l, "Content-Type: application/json");
        l = t != NULL ? t : l;
    }
    t = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
    return t != NULL ? t : l;
}

static void prepare(struct agent_http *h, const struct nb_agent_request *q)
{
    CURL *c = h->curl;
    bool absolute = strncmp(q->path, "http://", 7) == 0 || strncmp(q->path, "https://", 8) == 0;
    (void)snprintf(h->url, sizeof h->url, "%s%s", absolute ? "" : h->base, q->path);
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    if (q->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)q->body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    char range[64];
    (void)snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)q->range_first,
                   (unsigned long long)q->range_last);
    curl_easy_setopt(c, CURLOPT_RANGE, q->range ? range : NULL);
    h->len = 0;
    h->max = q->max_body;
    h->over = false;
    h->retry_after_s = 0;
    h->error[0] = '\0';
}

void agent_http_perform(struct agent_http *h, const struct nb_agent_request *q,
                        struct nb_agent_response *r)
{
    memset(r, 0, sizeof *r);
    prepare(h, q);
    struct curl_slist *hdr = headers(q);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdr);
    CURLcode rc = curl_easy_perform(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        r->err = h->over ? NB_ELENGTH : rc == CURLE_OPERATION_TIMEDOUT ? NB_ETIMEOUT : NB_EIO;
        if (h->over)
            (void)snprintf(h->error, sizeof h->error, "answer longer than %zu bytes", h->max);
        return;
    }
    r->status = (int)status;
    r->retry_after_s = h->retry_after_s;
    r->body = h->buf;
    r->body_len = h->len;
}
