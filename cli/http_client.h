/* The CLI's HTTP client (cli/http_client.c): JSON requests and streamed
 * bundle uploads to nobrick-server's management API over libcurl, with a
 * Bearer token, a private CA and timeouts. Transport failures come back as
 * one sentence a person can act on ("cannot reach URL: Connection refused
 * (is nobrick-server running? check --server)"); HTTP statuses, even 4xx and
 * 5xx, are answers, left to the caller. */
#ifndef NOBRICK_CLI_HTTP_CLIENT_H
#define NOBRICK_CLI_HTTP_CLIENT_H

#include <nobrick/err.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The largest answer kept (a device list of a large fleet fits). */
#define CLI_HTTP_MAX_ANSWER (64u * 1024u * 1024u)

struct cli_http;

struct cli_http_conf {
    const char *base_url; /* "http(s)://host[:port]", no trailing slash */
    const char *token;    /* sent as "Authorization: Bearer TOKEN"; NULL: none */
    const char *ca_file;  /* PEM CA bundle for HTTPS; NULL: the system's */
    long timeout_s;       /* whole request; an upload: the longest stall */
    bool progress;        /* show upload progress on stderr */
};

/* An answer: the status and the body, parsed when it is JSON. */
struct cli_http_resp {
    long status;
    json_t *json; /* owned; NULL when the body is empty or not JSON */
    char *body;   /* owned, NUL-terminated */
    size_t len;
};

/* Opens a client; the strings in conf must outlive it. NB_ENOMEM or NB_EIO
 * (libcurl could not start). *out is released with cli_http_free. */
NB_MUST_CHECK enum nb_err cli_http_new(const struct cli_http_conf *conf, struct cli_http **out,
                                       struct nb_diag *diag);
void cli_http_free(struct cli_http *h); /* NULL: no-op */

/* METHOD base_url+path (path starts with '/', already escaped), with body
 * (NULL: none) as JSON. NB_OK when the server answered, whatever the
 * status: *resp is then filled and released with cli_http_resp_fini.
 * Otherwise NB_EIO, NB_ETIMEOUT, NB_ECRYPTO (TLS), NB_ELENGTH or NB_ENOMEM
 * with the sentence in diag. */
NB_MUST_CHECK enum nb_err cli_http_json(struct cli_http *h, const char *method, const char *path,
                                        const json_t *body, struct cli_http_resp *resp,
                                        struct nb_diag *diag);

/* POSTs the file at file_path as application/octet-stream, streamed from
 * disk (never held in memory). As cli_http_json; NB_ENOENT / NB_EIO when
 * the file cannot be read or changes size while it is sent. */
NB_MUST_CHECK enum nb_err cli_http_upload(struct cli_http *h, const char *path,
                                          const char *file_path, struct cli_http_resp *resp,
                                          struct nb_diag *diag);

void cli_http_resp_fini(struct cli_http_resp *resp);

/* Percent-encodes s (everything but A-Z a-z 0-9 - . _ ~) into out. false
 * when it does not fit in size bytes with its NUL. */
bool cli_http_escape(const char *s, char *out, size_t size);

#endif
