/* The frame codec over libzstd (see include/nobrick/codec.h).
 *
 * Decoding is one-shot into the caller's buffer and accepts only a single,
 * plain zstd frame whose declared size is exactly the signed one: a lax
 * decoder would let an attacker append data, or make the device decode more
 * than the signed frame table promises. Contexts are reused across frames. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader, for the window size */
#include <nobrick/codec.h>

#include <zstd.h>
#include <zstd_errors.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* 128 MiB: the largest window any frame may declare, whatever out_len is. */
#define WINDOW_LOG_MAX 27
/* zstd never declares a window below 1 KiB (ZSTD_WINDOWLOG_ABSOLUTEMIN). */
#define WINDOW_MIN ((uint64_t)1 << 10)

enum nb_err nb_codec_init(struct nb_codec *c)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (d == NULL)
        return NB_ENOMEM;
    /* Bounds the window of streaming use too; one-shot decoding is bounded by
     * the explicit check in check_frame. */
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, WINDOW_LOG_MAX))) {
        ZSTD_freeDCtx(d);
        return NB_EUNSUPPORTED;
    }
    c->impl = d;
    c->enc_impl = NULL;
    return NB_OK;
}

void nb_codec_fini(struct nb_codec *c)
{
    if (c == NULL)
        return;
    ZSTD_freeDCtx(c->impl); /* both accept NULL */
    ZSTD_freeCCtx(c->enc_impl);
    c->impl = NULL;
    c->enc_impl = NULL;
}

/* The largest window a frame of out_len bytes may declare: an encoder that
 * knows the size never needs more than the next power of two. */
static uint64_t window_allowed(size_t out_len)
{
    uint64_t w = WINDOW_MIN;
    while (w < (uint64_t)out_len && w < ((uint64_t)1 << WINDOW_LOG_MAX))
        w <<= 1;
    return w;
}

/* Checks the frame's shape before any byte is decoded. */
static enum nb_err check_frame(const void *in, size_t in_len, size_t out_len)
{
    ZSTD_frameHeader fh;

    size_t r = ZSTD_getFrameHeader(&fh, in, in_len);
    if (ZSTD_isError(r))
        return NB_EPARSE; /* not a zstd frame, or reserved bits set */
    if (r > 0)
        return NB_ETRUNCATED; /* the header itself is incomplete (or empty) */
    /* A skippable frame would "decode" to nothing, hiding arbitrary bytes. */
    if (fh.frameType != ZSTD_frame)
        return NB_EPARSE;
    size_t frame_len = ZSTD_findFrameCompressedSize(in, in_len);
    if (ZSTD_isError(frame_len))
        return ZSTD_getErrorCode(frame_len) == ZSTD_error_srcSize_wrong ? NB_ETRUNCATED : NB_EPARSE;
    /* Stops data appended after the frame, including a second frame. */
    if (frame_len != in_len)
        return NB_ETRUNCATED;
    /* Stops a frame that decodes to more (or less) than the signed size. */
    if (fh.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN ||
        fh.frameContentSize != (unsigned long long)out_len)
        return NB_EHASH;
    if (fh.windowSize > window_allowed(out_len))
        return NB_ELENGTH;
    return NB_OK;
}

enum nb_err nb_codec_decompress(struct nb_codec *c, const void *in, size_t in_len, void *out,
                                size_t out_len)
{
    if (c->impl == NULL || (in == NULL && in_len > 0) || (out == NULL && out_len > 0))
        return NB_EINVAL;
    enum nb_err err = check_frame(in, in_len, out_len);
    if (err != NB_OK)
        return err;
    size_t r = ZSTD_decompressDCtx(c->impl, out, out_len, in, in_len);
    if (ZSTD_isError(r) || r != out_len) {
        /* Leave no half-decoded frame that a caller could mistake for data. */
        if (out_len > 0)
            memset(out, 0, out_len);
        return NB_EPARSE;
    }
    return NB_OK;
}

size_t nb_codec_bound(size_t len)
{
    size_t b = ZSTD_compressBound(len);
    /* zstd reports inputs too large to bound as 0 (or an error code). */
    return (b == 0 && len > 0) || ZSTD_isError(b) ? SIZE_MAX : b;
}

/* Sets the frame parameters afresh: content size recorded (the decoder
 * insists on it), no checksum (frame hashes come from signed metadata). */
static bool encoder_setup(ZSTD_CCtx *cc, int level)
{
    return !ZSTD_isError(ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters)) &&
           !ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level)) &&
           !ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1)) &&
           !ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0));
}

enum nb_err nb_codec_compress(struct nb_codec *c, const void *in, size_t in_len, void *out,
                              size_t out_cap, size_t *out_len, int level)
{
    if (level < 1 || level > 19 || (in == NULL && in_len > 0) || out == NULL)
        return NB_EINVAL;
    if (c->enc_impl == NULL) {
        c->enc_impl = ZSTD_createCCtx();
        if (c->enc_impl == NULL)
            return NB_ENOMEM;
    }
    if (!encoder_setup(c->enc_impl, level))
        return NB_EUNSUPPORTED;
    size_t r = ZSTD_compress2(c->enc_impl, out, out_cap, in, in_len);
    if (ZSTD_isError(r)) {
        switch (ZSTD_getErrorCode(r)) {
        case ZSTD_error_dstSize_tooSmall:
            return NB_ENOSPC;
        case ZSTD_error_memory_allocation:
            return NB_ENOMEM;
        default:
            return NB_EINVAL;
        }
    }
    *out_len = r;
    return NB_OK;
}
