/* A two-copy record store on flash (lib/core/dualrec.c): the one
 * implementation of DESIGN.md's "two copies, each with a sequence number and
 * a CRC; the newer valid copy wins" used by boot control, the journal and the
 * trust store. A store writes the copy that did not win (erase, program,
 * read back), so a power cut at any instant, torn writes included, leaves
 * the other copy, and so the previous record, intact.
 * One copy on flash, little-endian:
 *   u32 magic (the user's), u16 format = 1, u16 reserved = 0, u32 seq,
 *   u32 payload_len, payload, u32 CRC-32 of everything before it. */
#ifndef NOBRICK_DUALREC_H
#define NOBRICK_DUALREC_H

#include <nobrick/err.h>
#include <nobrick/hal.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_DUALREC_OVERHEAD 20 /* header (16) + CRC (4) */

/* Caller-owned; holds no allocation. */
struct nb_dualrec {
    struct nb_flash flash;
    struct nb_region copy[2]; /* disjoint, each in its own erase sector(s) */
    uint32_t magic;
    int current;  /* copy that won the last load/store, or -1 */
    uint32_t seq; /* its sequence number */
};

/* Binds two regions of flash to a store with the given magic: NB_EINVAL
 * when the regions are invalid for the flash's geometry or overlap, or the
 * write size is above NB_DUALREC_STAGE_LEN. */
NB_MUST_CHECK enum nb_err nb_dualrec_init(struct nb_dualrec *dr, const struct nb_flash *flash,
                                          struct nb_region copy0, struct nb_region copy1,
                                          uint32_t magic);

/* Largest payload a copy can hold. */
uint64_t nb_dualrec_capacity(const struct nb_dualrec *dr);

/* Reads both copies and returns the newer valid one's payload in
 * buf[0..*len). NB_EPARSE (diag says why for each copy) when neither is
 * valid, NB_ELENGTH when the payload is larger than cap, NB_EIO on a read
 * failure. Reads in pieces: needs no buffer beyond buf. */
NB_MUST_CHECK enum nb_err nb_dualrec_load(struct nb_dualrec *dr, uint8_t *buf, size_t cap,
                                          size_t *len, struct nb_diag *diag);

/* Writes payload with the next sequence number into the copy that did not
 * win, reads it back, then makes it current. Needs a successful load or
 * provision first (NB_EINVAL). On failure the current copy is untouched. */
NB_MUST_CHECK enum nb_err nb_dualrec_store(struct nb_dualrec *dr, const uint8_t *payload,
                                           size_t len);

/* Factory step: erases both copies and writes payload as sequence 1. */
NB_MUST_CHECK enum nb_err nb_dualrec_provision(struct nb_dualrec *dr, const uint8_t *payload,
                                               size_t len);

/* --- shared internals (nb__), also used by slotmeta.c ---------------------
 * Writing a record made of parts (header, payload, CRC) without a buffer
 * the size of the record: the parts go through a stack staging buffer of
 * NB_DUALREC_STAGE_LEN bytes, so a record up to that size is one program
 * (one flash operation) and a larger one a few. */
#define NB_DUALREC_STAGE_LEN 1024u

struct nb__span {
    const uint8_t *p;
    size_t len;
};

/* Programs the concatenation of spans[0..n) at off (aligned to the write
 * size, erased), padded with the erased value to a whole write unit. */
NB_MUST_CHECK enum nb_err nb__flash_write_spans(const struct nb_flash *f, uint64_t off,
                                                const struct nb__span *spans, size_t n);

/* Reads flash at off and sets *equal when it holds the concatenation of
 * spans[0..n). NB_EIO (or the HAL's error) when a read fails. */
NB_MUST_CHECK enum nb_err nb__flash_equal_spans(const struct nb_flash *f, uint64_t off,
                                                const struct nb__span *spans, size_t n,
                                                bool *equal);

#endif
