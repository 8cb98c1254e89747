/* The agent's transport over libcurl (transport.h): one easy handle reused
 * for every request (connection reuse), one blocking request at a time;
 * each request and its answer go through exchange_curl.h. */
#include "transport.h"

#include "exchange_curl.h"

#include <nobrick/alloc.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SPEED_BPS 1024L

struct agent_http {
    CURL *curl;
    char base[1024];
    struct agent_exchange x;
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
    agent_exchange_free(&h->x);
    nb_free(h);
}

const char *agent_http_last_error(const struct agent_http *h)
{
    return h->error;
}

void agent_http_perform(struct agent_http *h, const struct nb_agent_request *q,
                        struct nb_agent_response *r)
{
    h->error[0] = '\0';
    agent_exchange_prepare(&h->x, h->curl, h->base, q);
    CURLcode rc = curl_easy_perform(h->curl);
    agent_exchange_finish(&h->x, h->curl, rc, r);
    if (rc != CURLE_OK && h->x.over)
        (void)snprintf(h->error, sizeof h->error, "answer longer than %zu bytes", h->x.max);
}
