/* The root chain the server publishes (server/roots.c): the root it was
 * started with (--root, its anchor) and every later version an operator
 * uploaded, each accepted only when it chains from the newest one exactly
 * as a device would accept it (nb_root_step: a threshold of the previous
 * root keys AND of its own, version + 1). Uploaded roots are files
 * DATA/roots/N.json, written atomically and walked again at start-up.
 * Devices fetch them one by one (docs/api.md "Root chain"); the newest
 * one verifies uploaded releases and names the director key. Shared by the
 * request threads: every access takes the chain's lock. */
#ifndef NOBRICK_SERVER_ROOTS_H
#define NOBRICK_SERVER_ROOTS_H

#include <nobrick/err.h>
#include <nobrick/root.h>

#include <stddef.h>
#include <stdint.h>

/* Uploaded roots a server keeps (each at most NB_TRUST_ROOT_MAX bytes: it
 * must fit a device's trust store), so the chain costs bounded memory and
 * start-up time (SECURITY.md 11). */
#define SRV_ROOTS_MAX 1024

struct srv_roots;

/* Loads the anchor (anchor_path: verified with its own keys, unexpired)
 * and the roots stored under data_dir/roots that chain from it. A stored
 * root that does not chain stops the start-up with its file named. */
NB_MUST_CHECK enum nb_err srv_roots_open(const char *anchor_path, const char *data_dir, int64_t now,
                                         struct srv_roots **out, struct nb_diag *diag);
void srv_roots_close(struct srv_roots *r);

/* A copy of the newest root. */
void srv_roots_newest(struct srv_roots *r, struct nb_root *out);
/* A copy of the anchor (the --root file's root). */
void srv_roots_anchor(struct srv_roots *r, struct nb_root *out);
/* The newest root's version. */
uint32_t srv_roots_version(struct srv_roots *r);
/* The oldest version served (the anchor's). */
uint32_t srv_roots_first(struct srv_roots *r);

/* Accepts text as the next root: nb_root_step from the newest (NB_ESIG,
 * NB_ETHRESHOLD, NB_EROLLBACK, NB_EPARSE, NB_ELENGTH with why), expiry
 * (NB_EEXPIRED), then stored; *out is the accepted root and *prev (when
 * not NULL) the newest one before it. Nothing changes on failure. */
NB_MUST_CHECK enum nb_err srv_roots_publish(struct srv_roots *r, const uint8_t *text, size_t len,
                                            int64_t now, struct nb_root *prev, struct nb_root *out,
                                            struct nb_diag *diag);

/* A copy of version's envelope text (nb_free it): NB_ENOENT when it is not
 * served here. */
NB_MUST_CHECK enum nb_err srv_roots_get(struct srv_roots *r, uint32_t version, uint8_t **text,
                                        size_t *len);

#endif
