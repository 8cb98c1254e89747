/* The device's trust store (lib/core/trust.c): the root the device holds,
 * as the signed envelope text it accepted, in a two-copy record. Provisioned
 * with root v1; replaced only by a root that nb_root_step accepted, so its
 * version never goes down. The bootloader reads the same store to verify a
 * slot before booting it. */
#ifndef NOBRICK_TRUST_H
#define NOBRICK_TRUST_H

#include <nobrick/dualrec.h>
#include <nobrick/err.h>
#include <nobrick/layout.h>
#include <nobrick/root.h>

#include <stddef.h>
#include <stdint.h>

#define NB_TRUST_MAGIC 0x5254424Eu /* "NBTR" */
/* Largest root envelope text the device keeps. */
#define NB_TRUST_ROOT_MAX (NB_LAYOUT_TRUST_LEN - NB_DUALREC_OVERHEAD)

/* Factory step: stores text as the trusted root after checking it with
 * nb_root_load_trusted (a root that does not sign itself is refused). */
NB_MUST_CHECK enum nb_err nb_trust_provision(struct nb_dualrec *dr, const uint8_t *text, size_t len,
                                             uint8_t *scratch, size_t scratch_len,
                                             struct nb_diag *diag);

/* Loads and checks the trusted root: text into text_buf (cap bytes,
 * *text_len its length), parsed into *root. NB_EPARSE when the store is
 * unreadable (the device was never provisioned), other codes from
 * nb_root_load_trusted. */
NB_MUST_CHECK enum nb_err nb_trust_load(struct nb_dualrec *dr, uint8_t *text_buf, size_t cap,
                                        size_t *text_len, uint8_t *scratch, size_t scratch_len,
                                        struct nb_root *root, struct nb_diag *diag);

/* Moves the trust store forward by one root: next must pass nb_root_step
 * from *current (its version exactly current->version + 1); then it is
 * stored and *current updated. Anything else changes nothing. */
NB_MUST_CHECK enum nb_err nb_trust_advance(struct nb_dualrec *dr, struct nb_root *current,
                                           const uint8_t *next, size_t next_len, uint8_t *scratch,
                                           size_t scratch_len, struct nb_diag *diag);

#endif
