/* Artifact downloads with HTTP Range (download.c): one byte range per
 * request ("bytes=a-b", "bytes=a-", "bytes=-n"), 206 with Content-Range,
 * 416 when the range starts past the end, If-Range against the strong ETag
 * (the artifact's SHA-256), and the body sent from the file descriptor, so
 * libmicrohttpd can use sendfile() (zero-copy) when TLS is off. */
#ifndef NOBRICK_SERVER_DOWNLOAD_H
#define NOBRICK_SERVER_DOWNLOAD_H

#include "http.h"

#include <stdint.h>

enum range_kind {
    RANGE_FULL,          /* no usable Range: the whole artifact, 200 */
    RANGE_PARTIAL,       /* one satisfiable range, 206 */
    RANGE_UNSATISFIABLE, /* 416 */
};

/* Interprets a Range header (NULL when absent) for an artifact of size
 * bytes. Malformed headers and several ranges give RANGE_FULL (RFC 9110
 * lets a server ignore them). *off and *len are set for RANGE_PARTIAL. */
enum range_kind range_parse(const char *header, uint64_t size, uint64_t *off, uint64_t *len);

/* Replies with the artifact named hex (Range and If-Range honoured). */
void download_reply(struct http_req *req, const struct artifacts *arts, const char *hex);

#endif
