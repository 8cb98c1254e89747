/* Range requests over content-addressed artifacts (download.h). Every
 * number from the header is parsed with an overflow check and compared to
 * the file size before use, so no range can wrap or read past the end. */
#include "download.h"
#include "log.h"
#include "metrics.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Decimal digits into *out; false on overflow or no digit. Advances *s. */
static bool parse_u64(const char **s, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = *s;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *s = p;
    *out = v;
    return true;
}

enum range_kind range_parse(const char *header, uint64_t size, uint64_t *off, uint64_t *len)
{
    if (header == NULL || strncmp(header, "bytes=", 6) != 0 || strchr(header, ',') != NULL)
        return RANGE_FULL;
    const char *p = header + 6;
    uint64_t first = 0, last = 0;
    if (*p == '-') { /* suffix: the last n bytes */
        p++;
        if (!parse_u64(&p, &last) || *p != '\0')
            return RANGE_FULL;
        if (last == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        *len = last < size ? last : size;
        *off = size - *len;
        return RANGE_PARTIAL;
    }
    if (!parse_u64(&p, &first) || *p++ != '-')
        return RANGE_FULL;
    last = UINT64_MAX;
    if (*p != '\0' && (!parse_u64(&p, &last) || last < first))
        return RANGE_FULL;
    if (*p != '\0')
        return RANGE_FULL;
    if (first >= size)
        return RANGE_UNSATISFIABLE;
    if (last >= size)
        last = size - 1;
    *off = first;
    *len = last - first + 1;
    return RANGE_PARTIAL;
}

static void add_header(struct MHD_Response *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_header(struct MHD_Response *r, const char *name, const char *fmt, ...)
{
    char v[160];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    (void)MHD_add_response_header(r, name, v);
}

static void reply_unsatisfiable(struct http_req *req, uint64_t size)
{
    http_reply_error(req, MHD_HTTP_RANGE_NOT_SATISFIABLE, "E_LENGTH", "Range",
                     "the artifact has %llu bytes", (unsigned long long)size);
    add_header(req->resp, MHD_HTTP_HEADER_CONTENT_RANGE, "bytes */%llu", (unsigned long long)size);
}

void download_reply(struct http_req *req, const struct artifacts *arts, const char *hex)
{
    int fd = -1;
    uint64_t size = 0, off = 0, len = 0;
    enum nb_err err = artifact_open(arts, hex, &fd, &size);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "artifact");
        return;
    }
    char etag[80];
    (void)snprintf(etag, sizeof etag, "\"%s\"", hex);
    const char *if_range = http_header(req, MHD_HTTP_HEADER_IF_RANGE);
    enum range_kind kind = range_parse(http_header(req, MHD_HTTP_HEADER_RANGE), size, &off, &len);
    if (if_range != NULL && strcmp(if_range, etag) != 0)
        kind = RANGE_FULL; /* the client's copy is another artifact: send it whole */
    if (kind == RANGE_UNSATISFIABLE) {
        (void)close(fd);
        reply_unsatisfiable(req, size);
        return;
    }
    if (kind == RANGE_FULL)
        len = size;
    /* MHD owns fd from here and closes it. */
    struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(len, fd, off);
    if (r == NULL) {
        (void)close(fd);
        http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "E_IO", NULL, "cannot send");
        return;
    }
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    if (kind == RANGE_PARTIAL)
        add_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, "bytes %llu-%llu/%llu",
                   (unsigned long long)off, (unsigned long long)(off + len - 1),
                   (unsigned long long)size);
    srv_metric_add(SRV_M_BYTES_SERVED, (int64_t)len);
    http_reply_raw(req, kind == RANGE_PARTIAL ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, r);
}
