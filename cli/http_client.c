/* The CLI's HTTP client over libcurl: one easy handle per client (so
 * requests reuse the connection), JSON in and out, streamed uploads read
 * from disk in libcurl's own buffer, answers capped at CLI_HTTP_MAX_ANSWER,
 * and transport failures turned into sentences that say what to check.
 * Redirects are not followed: a token must never go to another host. */
#include "http_client.h"

#include <nobrick/alloc.h>

#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define CONNECT_TIMEOUT_S 10L
#define UPLOAD_MIN_STALL_S 900L /* the server verifies a whole bundle before it answers */
#define URL_MAX 4096

struct cli_http {
    CURL *curl;
    struct cli_http_conf conf;
    char *auth; /* "Authorization: Bearer TOKEN" */
    char errbuf[CURL_ERROR_SIZE];
};

/* The answer's bytes, growing up to CLI_HTTP_MAX_ANSWER. */
struct sink {
    char *buf;
    size_t len, cap;
    bool too_big, no_mem;
};

/* A file being uploaded; size is what Content-Length promised. */
struct source {
    FILE *f;
    curl_off_t size, sent;
    bool short_read;
    int last_pct;
    bool progress;
};

enum nb_err cli_http_new(const struct cli_http_conf *conf, struct cli_http **out,
                         struct nb_diag *diag)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return nb_diag_set(diag, NB_EIO, "libcurl failed to initialise");
    struct cli_http *h = nb_calloc(1, sizeof *h);
    size_t auth_len = conf->token != NULL ? strlen(conf->token) + 32 : 0;
    if (h != NULL && conf->token != NULL && (h->auth = nb_malloc(auth_len)) != NULL)
        (void)snprintf(h->auth, auth_len, "Authorization: Bearer %s", conf->token);
    if (h == NULL || (conf->token != NULL && h->auth == NULL)) {
        cli_http_free(h);
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    }
    h->conf = *conf;
    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        cli_http_free(h);
        return nb_diag_set(diag, NB_EIO, "libcurl failed to start a session");
    }
    *out = h;
    return NB_OK;
}

void cli_http_free(struct cli_http *h)
{
    if (h == NULL)
        return;
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    if (h->auth != NULL)
        memset(h->auth, 0, strlen(h->auth)); /* the token */
    nb_free(h->auth);
    nb_free(h);
    curl_global_cleanup();
}

void cli_http_resp_fini(struct cli_http_resp *resp)
{
    json_decref(resp->json);
    nb_free(resp->body);
    memset(resp, 0, sizeof *resp);
}

bool cli_http_escape(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        if (o + (plain ? 1 : 3) >= size)
            return false;
        if (plain) {
            out[o++] = (char)c;
            continue;
        }
        out[o++] = '%';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
    }
    if (o >= size)
        return false;
    out[o] = '\0';
    return true;
}

/* ---- callbacks ---------------------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;
    if (len > CLI_HTTP_MAX_ANSWER - s->len) {
        s->too_big = true;
        return 0;
    }
    if (s->len + len + 1 > s->cap) {
        size_t cap = s->cap == 0 ? 4096 : s->cap;
        while (cap < s->len + len + 1)
            cap *= 2;
        char *b = nb_realloc(s->buf, cap);
        if (b == NULL) {
            s->no_mem = true;
            return 0;
        }
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, len);
    s->len += len;
    s->buf[s->len] = '\0';
    return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
    struct source *src = arg;
    size_t got = fread(p, 1, size * n, src->f);
    src->sent += (curl_off_t)got;
    if (src->sent > src->size || (got == 0 && src->sent < src->size)) {
        src->short_read = true; /* the file changed under us: Content-Length would lie */
        return CURL_READFUNC_ABORT;
    }
    return got;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct source *src = arg;
    (void)dltotal;
    (void)dlnow;
    if (!src->progress || ultotal <= 0)
        return 0;
    int pct = (int)(ulnow * 100 / ultotal);
    if (pct == src->last_pct)
        return 0;
    src->last_pct = pct;
    fprintf(stderr, "\ruploading: %3d%% of %.1f MiB", pct, (double)ultotal / 1048576.0);
    if (pct == 100)
        fprintf(stderr, "; the server is verifying every frame...\n");
    return 0;
}

/* ---- requests ----------------------------------------------------------------- */

/* The options every request shares; *hdrs is freed by the caller. */
static enum nb_err setup(struct cli_http *h, const char *method, const char *path,
                         struct sink *sink, struct curl_slist **hdrs, struct nb_diag *diag)
{
    char url[URL_MAX];
    int n = snprintf(url, sizeof url, "%s%s", h->conf.base_url, path);
    if (n < 0 || (size_t)n >= sizeof url)
        return nb_diag_set(diag, NB_ELENGTH, "URL longer than %d bytes", URL_MAX);
    CURL *c = h->curl;
    curl_easy_reset(c);
    h->errbuf[0] = '\0';
    const char *h_accept = "Accept: application/json";
    struct curl_slist *l = curl_slist_append(NULL, h_accept);
    if (l != NULL && h->auth != NULL)
        l = curl_slist_append(l, h->auth);
    if (l == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    *hdrs = l;
    curl_easy_setopt(c, CURLOPT_URL, url); /* libcurl copies strings */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "nobrick/0.1.0");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                     h->conf.timeout_s < CONNECT_TIMEOUT_S ? h->conf.timeout_s : CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    if (h->conf.ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->conf.ca_file);
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    return NB_OK;
}

/* A libcurl failure as a sentence naming what to check. */
static enum nb_err transport_error(struct cli_http *h, CURLcode rc, struct nb_diag *diag)
{
    const char *url = h->conf.base_url;
    const char *why = h->errbuf[0] != '\0' ? h->errbuf : curl_easy_strerror(rc);
    long os = 0;
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        if (curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os) == CURLE_OK && os != 0)
            why = strerror((int)os);
        return nb_diag_set(diag, NB_EIO,
                           "cannot reach %s: %s (is nobrick-server running? check --server)", url,
                           why);
    case CURLE_COULDNT_RESOLVE_HOST:
        return nb_diag_set(diag, NB_EIO, "cannot reach %s: unknown host (check --server)", url);
    case CURLE_OPERATION_TIMEDOUT:
        return nb_diag_set(diag, NB_ETIMEOUT, "no answer from %s in time: %s (see --timeout)", url,
                           why);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
        return nb_diag_set(diag, NB_ECRYPTO,
                           "TLS with %s failed: %s (a private CA? give --ca FILE)", url, why);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return nb_diag_set(diag, NB_EINVAL, "bad server URL '%s': %s", url, why);
    default:
        return nb_diag_set(diag, NB_EIO, "request to %s failed: %s", url, why);
    }
}

/* Runs the prepared request and fills resp from the answer. */
static enum nb_err perform(struct cli_http *h, struct sink *sink, struct cli_http_resp *resp,
                           struct nb_diag *diag)
{
    CURLcode rc = curl_easy_perform(h->curl);
    long status = 0;
    (void)curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (sink->too_big)
        return nb_diag_set(diag, NB_ELENGTH, "the answer of %s is larger than %u MiB",
                           h->conf.base_url, CLI_HTTP_MAX_ANSWER >> 20);
    if (sink->no_mem)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    /* A server may refuse an upload and close before reading it all: its
     * answer is what matters, not the broken send. */
    if (rc != CURLE_OK && !(status >= 400 && sink->len > 0))
        return transport_error(h, rc, diag);
    memset(resp, 0, sizeof *resp);
    resp->status = status;
    resp->body = sink->buf != NULL ? sink->buf : nb_strdup("");
    if (resp->body == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    resp->len = sink->len;
    sink->buf = NULL;
    resp->json =
        resp->len > 0 ? json_loadb(resp->body, resp->len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    return NB_OK;
}

enum nb_err cli_http_json(struct cli_http *h, const char *method, const char *path,
                          const json_t *body, struct cli_http_resp *resp, struct nb_diag *diag)
{
    struct sink sink = {0};
    struct curl_slist *hdrs = NULL;
    char *text = NULL;
    enum nb_err err = setup(h, method, path, &sink, &hdrs, diag);
    if (err == NB_OK && body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        struct curl_slist *l =
            text != NULL ? curl_slist_append(hdrs, "Content-Type: application/json") : NULL;
        if (l == NULL)
            err = nb_diag_set(diag, NB_ENOMEM, "out of memory");
        else
            hdrs = l;
    }
    if (err == NB_OK) {
        if (text != NULL)
            curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, text);
        else if (strcmp(method, "POST") == 0)
            curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, h->conf.timeout_s);
        err = perform(h, &sink, resp, diag);
    }
    curl_slist_free_all(hdrs);
    json_free_t jfree;
    json_malloc_t jmalloc;
    json_get_alloc_funcs(&jmalloc, &jfree);
    if (text != NULL)
        jfree(text);
    nb_free(sink.buf);
    return err;
}

static enum nb_err open_source(const char *file_path, struct source *src, struct nb_diag *diag)
{
    struct stat st;
    src->f = fopen(file_path, "rb");
    if (src->f == NULL)
        return nb_diag_set(diag, errno == ENOENT ? NB_ENOENT : NB_EIO, "cannot open %s: %s",
                           file_path, strerror(errno));
    if (fstat(fileno(src->f), &st) != 0 || !S_ISREG(st.st_mode)) {
        (void)fclose(src->f);
        src->f = NULL;
        return nb_diag_set(diag, NB_EIO, "%s: not a regular file", file_path);
    }
    src->size = (curl_off_t)st.st_size;
    src->last_pct = -1;
    return NB_OK;
}

enum nb_err cli_http_upload(struct cli_http *h, const char *path, const char *file_path,
                            struct cli_http_resp *resp, struct nb_diag *diag)
{
    struct source src = {0};
    struct sink sink = {0};
    struct curl_slist *hdrs = NULL, *l = NULL;
    enum nb_err err = open_source(file_path, &src, diag);
    if (err == NB_OK)
        err = setup(h, "POST", path, &sink, &hdrs, diag);
    if (err == NB_OK &&
        (l = curl_slist_append(hdrs, "Content-Type: application/octet-stream")) == NULL)
        err = nb_diag_set(diag, NB_ENOMEM, "out of memory");
    if (err == NB_OK) {
        CURL *c = h->curl;
        long stall =
            h->conf.timeout_s > UPLOAD_MIN_STALL_S ? h->conf.timeout_s : UPLOAD_MIN_STALL_S;
        hdrs = l;
        src.progress = h->conf.progress;
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &src);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, src.size);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L); /* no byte for `stall` s: give up */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &src);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        err = perform(h, &sink, resp, diag);
        if (err != NB_OK && src.short_read) {
            nb_diag_clear(diag); /* the cause, not libcurl's "aborted by callback" */
            err = nb_diag_set(diag, NB_EIO, "%s changed size while it was being sent", file_path);
        }
    }
    curl_slist_free_all(hdrs);
    nb_free(sink.buf);
    if (src.f != NULL)
        (void)fclose(src.f);
    return err;
}
