/* Frame compression, as one small adapter interface over libzstd
 * (lib/codec/codec_zstd.c). Each frame of a bundle is one independent zstd
 * frame; the core decodes it into a caller-owned window and never sees zstd. */
#ifndef NOBRICK_CODEC_H
#define NOBRICK_CODEC_H

#include <nobrick/err.h>

#include <stddef.h>

/* A reusable encoder/decoder. The caller owns the struct; impl is the library state,
 * created by nb_codec_init and released by nb_codec_fini (safe to call twice,
 * and on a struct never initialised if zeroed). enc_impl is the encoder's
 * state, created by the first nb_codec_compress (devices never compress), and
 * kept apart so the adapter needs no allocator of its own. */
struct nb_codec {
    void *impl;
    void *enc_impl;
};
NB_MUST_CHECK enum nb_err nb_codec_init(struct nb_codec *c);
void nb_codec_fini(struct nb_codec *c);

/* Decodes exactly one zstd frame that fills all of in[0..in_len) and whose
 * declared content size is exactly out_len, into out. Anything else is
 * refused: trailing bytes or a second frame (NB_ETRUNCATED), a content size
 * missing or different from out_len (NB_EHASH), a window larger than out_len
 * needs (NB_ELENGTH), corrupt data (NB_EPARSE). Memory use is bounded by the
 * decoder's state plus out_len; out is caller-owned. */
NB_MUST_CHECK enum nb_err nb_codec_decompress(struct nb_codec *c, const void *in, size_t in_len,
                                              void *out, size_t out_len);

/* Worst-case compressed size of len input bytes. */
size_t nb_codec_bound(size_t len);

/* Host side (bundle creation): compresses in into one zstd frame with the
 * content size recorded, reusing c's encoder state across calls. level 1..19;
 * *out_len receives the frame's size. NB_ENOSPC when out_cap is too small
 * (nb_codec_bound is always enough). */
NB_MUST_CHECK enum nb_err nb_codec_compress(struct nb_codec *c, const void *in, size_t in_len,
                                            void *out, size_t out_cap, size_t *out_len, int level);

#endif
