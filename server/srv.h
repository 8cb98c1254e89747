/* The server's one context, built by main.c at start-up and handed to every
 * request: the configuration, the store (and its coalesced last-seen
 * times), the artifact directory, the director's signer and the published root
 * chain. Nothing here is global.
 */
#ifndef NOBRICK_SERVER_SRV_H
#define NOBRICK_SERVER_SRV_H

#include "artifacts.h"
#include "roots.h"
#include "seen.h"
#include "store.h"

#include <nobrick/root.h>
#include <nobrick/signer.h>

#include <stdbool.h>
#include <stdint.h>

struct srv_config {
    const char *db_url;       /* --db, "sqlite:PATH" */
    const char *data_dir;     /* --data */
    const char *listen;       /* --listen ADDR:PORT */
    const char *director_key; /* --director-key, an nb key file or pkcs11: URI */
    const char *root_path;    /* --root, the root this server starts from (its anchor) */
    const char *tls_cert, *tls_key;
    const char *log_level;
    unsigned threads;            /* request threads (thread pool) */
    unsigned max_inflight;       /* above this, 503 + Retry-After */
    uint32_t poll_interval_s;    /* told to devices at every check-in */
    uint32_t poll_jitter_s;      /* devices add a random 0..jitter */
    uint32_t device_token_ttl_s; /* lifetime of a device's bearer token */
    uint32_t challenge_ttl_s;    /* lifetime of an authentication challenge */
    uint32_t instruction_ttl_s;  /* expiry of a director instruction */
    uint32_t retry_after_s;      /* Retry-After of 503 answers */
    uint32_t min_checkin_s;      /* faster check-ins get 429 */
    size_t max_json_body;        /* bytes of a JSON request body */
    uint64_t max_upload;         /* bytes of an uploaded bundle */
    uint32_t rollout_tick_s;     /* seconds between rollout engine ticks; 0: no engine */
    uint32_t max_downloading;    /* a rollout's downloads at once when its spec sets none */
    const char *clock_file;      /* --clock-file: virtual time (clock.h); NULL: real time */
};

/* Sensible defaults: 4 threads, 256 requests in flight, poll every 900 s
 * +- 180 s, 900 s device tokens, 60 s challenges, 3600 s instructions, 64 KiB
 * JSON bodies, 4 GiB bundles, 10 s between a device's check-ins, a
 * rollout engine tick every 10 s. */
void srv_config_defaults(struct srv_config *cfg);

struct rollout_engine;

struct srv {
    struct srv_config cfg;
    struct store store;
    struct srv_seen seen; /* coalesced last-seen times of check-ins */
    struct artifacts arts;
    struct nb_signer director;
    struct srv_roots *roots;       /* the anchor and the published versions */
    struct rollout_engine *engine; /* NULL when not running */
};

/* UNIX seconds now (the one clock of the server: clock.c). */
int64_t srv_now(void);

#endif
