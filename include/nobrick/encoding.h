/* Strict hex and base64 (RFC 4648, standard alphabet, padded) codecs for
 * signed metadata. Strict means one encoding per byte string: lowercase hex
 * only; base64 with exact padding and zero unused bits (a lax decoder would
 * let a flipped bit in a signature's last character pass unnoticed). */
#ifndef NOBRICK_ENCODING_H
#define NOBRICK_ENCODING_H

#include <nobrick/err.h>

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex characters and a NUL; out_cap >= 2*len+1. */
NB_MUST_CHECK enum nb_err nb_hex_encode(const uint8_t *in, size_t len, char *out, size_t out_cap);
/* Decodes exactly out_len bytes from a string of exactly 2*out_len lowercase
 * hex characters; NB_EPARSE otherwise. */
NB_MUST_CHECK enum nb_err nb_hex_decode(const char *in, size_t in_len, uint8_t *out,
                                        size_t out_len);

/* Length of the padded base64 text for len bytes (without NUL). */
size_t nb_base64_len(size_t len);
/* Writes the padded base64 text and a NUL; NB_ENOSPC if out_cap is short. */
NB_MUST_CHECK enum nb_err nb_base64_encode(const uint8_t *in, size_t len, char *out,
                                           size_t out_cap);
/* Strict decode into out (out_cap bytes); *out_len receives the length.
 * NB_EPARSE on any non-canonical input, NB_ELENGTH if it does not fit. */
NB_MUST_CHECK enum nb_err nb_base64_decode(const char *in, size_t in_len, uint8_t *out,
                                           size_t out_cap, size_t *out_len);

/* Little-endian integer helpers for binary formats. */
static inline uint16_t nb_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t nb_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t nb_le64(const uint8_t *p)
{
    return (uint64_t)nb_le32(p) | ((uint64_t)nb_le32(p + 4) << 32);
}
static inline void nb_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void nb_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void nb_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#endif
