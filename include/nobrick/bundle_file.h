/* Bundle files on a host: create, verify and inspect .nbb files
 * (lib/host/bundle_create.c, lib/host/bundle_file.c). Used by the operator CLI
 * and the server's upload check. Memory is bounded by one frame (plus the
 * frame table and the envelope), whatever the image size: nothing maps or
 * buffers a whole file. */
#ifndef NOBRICK_BUNDLE_FILE_H
#define NOBRICK_BUNDLE_FILE_H

#include <nobrick/bundle.h>
#include <nobrick/crypto.h>
#include <nobrick/envelope.h>
#include <nobrick/err.h>
#include <nobrick/release.h>
#include <nobrick/root.h>
#include <nobrick/signer.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default zstd level of `nobrick bundle create`: most of level 19's ratio on
 * 1 MiB windows at a fraction of its time. */
#define NB_BUNDLE_LEVEL_DEFAULT 9

/* Where verify and inspect read a bundle from: a file (pread, with
 * sequential read-ahead advice) or a buffer in memory (tests, the server's
 * upload path). Chosen when opened; len is the bundle's length. */
struct nb_bundle_reader;
struct nb_bundle_reader_ops {
    /* Reads exactly len bytes at off; NB_EIO or NB_ETRUNCATED otherwise. */
    NB_MUST_CHECK enum nb_err (*read_at)(struct nb_bundle_reader *r, uint64_t off, void *buf,
                                         size_t len, struct nb_diag *diag);
    void (*close)(struct nb_bundle_reader *r);
};
struct nb_bundle_reader {
    const struct nb_bundle_reader_ops *ops;
    uint64_t len;
    int fd;             /* file readers */
    const uint8_t *mem; /* memory readers */
};

/* Opens path for reading (NB_ENOENT, NB_EIO; diag names the path). */
NB_MUST_CHECK enum nb_err nb_bundle_reader_open_file(struct nb_bundle_reader *r, const char *path,
                                                     struct nb_diag *diag);
/* A reader over data[0..len) (borrowed, not copied). */
void nb_bundle_reader_from_mem(struct nb_bundle_reader *r, const uint8_t *data, size_t len);
/* Closes a reader; safe on a zeroed struct and twice. */
void nb_bundle_reader_close(struct nb_bundle_reader *r);

struct nb_bundle_create_opts {
    const char *image_path;
    const char *out_path;
    const char *version; /* SemVer */
    uint64_t security_counter;
    const char *const *hw_classes;
    size_t n_hw_classes;
    const char *component; /* NULL: NB_COMPONENT_DEFAULT */
    int64_t created;       /* UNIX seconds */
    uint32_t frame_size;   /* 0: NB_FRAME_SIZE_DEFAULT */
    enum nb_compression compression;
    int level;                 /* zstd level 1..19; 0: NB_BUNDLE_LEVEL_DEFAULT */
    struct nb_signer *signers; /* opened by the caller, 1..NB_ENVELOPE_MAX_SIGS */
    size_t n_signers;
    /* X25519 public keys of the devices (or groups) to encrypt to; the
     * bundle is encrypted when n_recipients > 0. */
    const uint8_t (*recipients)[NB_X25519_LEN];
    size_t n_recipients;
};

struct nb_bundle_summary {
    struct nb_release rel;
    uint64_t file_len;
    uint64_t frames_len;
};

/* Creates a bundle: streams the image in frame_size windows into a temporary
 * frames file beside out_path, signs the release with every signer (and, when
 * encrypting, seals a fresh random content key to every recipient and wipes
 * it), then writes header, envelope, table and frames to a second temporary
 * file, fsyncs it and renames it over out_path. Nothing is left behind on
 * failure. NB_EINVAL for bad options (diag says which), NB_ELENGTH for an
 * image that is empty or too large, NB_EIO, NB_ENOMEM, or a signer's error.
 * summary (optional) describes the bundle written. */
NB_MUST_CHECK enum nb_err nb_bundle_file_create(const struct nb_bundle_create_opts *o,
                                                struct nb_bundle_summary *summary,
                                                struct nb_diag *diag);

/* Loads the trusted root for verification: the first file taken on trust
 * (nb_root_load_trusted), each following one as the next step of the chain
 * (nb_root_step), and the last one must not be expired at now. diag names
 * the file that failed. */
NB_MUST_CHECK enum nb_err nb_bundle_file_load_roots(const char *const *paths, size_t n, int64_t now,
                                                    struct nb_root *out, struct nb_diag *diag);

struct nb_bundle_verified {
    struct nb_release rel;
    uint64_t file_len;
    /* false when the bundle is encrypted and no device key was given: then
     * every stored byte was checked against the signed table, but the frames
     * were neither decrypted nor decompressed. */
    bool decrypted;
};

/* Verifies a whole bundle, in this order, stopping at the first failure:
 * header and file length (nb_bundle_header_parse); release envelope
 * (nb_release_verify against root); table length and nb_frame_table_check;
 * frames area length == the signed table's (NB_ETRUNCATED both ways: bytes
 * not covered by the signed table are never read); the content key when
 * encrypted and dev_priv/dev_pub (the device's X25519 pair) are given
 * (nb_release_unwrap_key: NB_EDECRYPT); then every frame in order through
 * nb_frame_open (or nb_frame_check_stored without a key), and the running
 * SHA-256 and length of the outputs == the signed image's. Reads with one
 * frame of buffer. *out (optional) is written only on success. */
NB_MUST_CHECK enum nb_err nb_bundle_file_verify(const struct nb_root *root,
                                                struct nb_bundle_reader *r, const uint8_t *dev_priv,
                                                const uint8_t *dev_pub,
                                                struct nb_bundle_verified *out,
                                                struct nb_diag *diag);

/* What `nobrick bundle inspect` shows. Signatures are NOT verified: the
 * release is parsed (strictly) only for display. */
struct nb_bundle_info {
    struct nb_bundle_header hdr;
    struct nb_release rel;
    size_t n_sigs;
    char sig_keyids[NB_ENVELOPE_MAX_SIGS][NB_KEYID_MAX + 1];
    uint32_t stored_min, stored_max; /* smallest and largest stored frame */
};

/* Reads the header, envelope (parsed, not verified), release and frame table
 * (checked against the release's table_sha256). Same errors as verify's
 * first steps, without NB_ESIG / NB_ETHRESHOLD. */
NB_MUST_CHECK enum nb_err nb_bundle_file_inspect(struct nb_bundle_reader *r,
                                                 struct nb_bundle_info *out, struct nb_diag *diag);

#endif
