/* Strict hex and base64 (RFC 4648) for signed metadata: every byte string has
 * exactly one accepted text form, so a decoder never accepts two spellings of
 * one signature or key. Pure C, no allocation: callers pass the buffers. */
#include <nobrick/encoding.h>

#include <stdbool.h>
#include <stdint.h>

static const char hex_digits[] = "0123456789abcdef";
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

enum nb_err nb_hex_encode(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
    /* len > (SIZE_MAX - 1) / 2 would wrap 2*len+1. */
    if (len > (SIZE_MAX - 1) / 2 || out_cap < 2 * len + 1)
        return NB_ENOSPC;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
    return NB_OK;
}

/* Value of a lowercase hex digit, or -1 (uppercase is a second spelling). */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

enum nb_err nb_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len)
{
    if (out_len > SIZE_MAX / 2 || in_len != 2 * out_len)
        return NB_EPARSE;
    /* Validate everything first: out is written only on success. */
    for (size_t i = 0; i < in_len; i++) {
        if (hex_value(in[i]) < 0)
            return NB_EPARSE;
    }
    for (size_t i = 0; i < out_len; i++)
        out[i] = (uint8_t)(hex_value(in[2 * i]) << 4 | hex_value(in[2 * i + 1]));
    return NB_OK;
}

size_t nb_base64_len(size_t len)
{
    return (len / 3 + (len % 3 != 0)) * 4;
}

enum nb_err nb_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
    /* Beyond this, nb_base64_len(len) + 1 would wrap. */
    if (len / 3 >= SIZE_MAX / 4 - 1 || out_cap < nb_base64_len(len) + 1)
        return NB_ENOSPC;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        size_t rest = len - i;
        uint32_t v = (uint32_t)in[i] << 16;
        if (rest > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (rest > 2)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = rest > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = rest > 2 ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return NB_OK;
}

/* Value of a base64 alphabet character, or -1 (also for '=' and whitespace). */
static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Checks the final quantum's padding and unused bits; returns the number of
 * bytes it carries (1..3) or -1. "QR==" and "QQ=A" are refused: the unused
 * bits must be zero and '=' may appear only as the last one or two chars. */
static int last_quantum_bytes(const char *q)
{
    int pad = (q[3] == '=') + (q[2] == '=' && q[3] == '=');
    if (b64_value(q[0]) < 0 || b64_value(q[1]) < 0)
        return -1;
    if (pad < 2 && b64_value(q[2]) < 0)
        return -1;
    if (pad < 1 && b64_value(q[3]) < 0)
        return -1;
    if (pad == 2 && (b64_value(q[1]) & 0x0f) != 0)
        return -1;
    if (pad == 1 && (b64_value(q[2]) & 0x03) != 0)
        return -1;
    return 3 - pad;
}

static void b64_quantum(const char *q, int bytes, uint8_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 6 | (uint32_t)(i <= bytes ? b64_value(q[i]) : 0);
    for (int i = 0; i < bytes; i++)
        out[i] = (uint8_t)(v >> (16 - 8 * i));
}

enum nb_err nb_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
                             size_t *out_len)
{
    if (in_len % 4 != 0)
        return NB_EPARSE;
    if (in_len == 0) {
        *out_len = 0;
        return NB_OK;
    }
    /* Validate all input before writing any output. */
    for (size_t i = 0; i + 4 < in_len; i++) {
        if (b64_value(in[i]) < 0)
            return NB_EPARSE;
    }
    int last = last_quantum_bytes(in + in_len - 4);
    if (last < 0)
        return NB_EPARSE;
    size_t n = (in_len / 4 - 1) * 3 + (size_t)last;
    if (n > out_cap)
        return NB_ELENGTH;
    for (size_t i = 0, o = 0; i < in_len; i += 4, o += 3)
        b64_quantum(in + i, i + 4 < in_len ? 3 : last, out + o);
    *out_len = n;
    return NB_OK;
}
