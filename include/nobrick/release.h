/* Release metadata: what the release role signs about one bundle.
 *
 * A release is a signed envelope (payload type NB_PAYLOAD_RELEASE) whose
 * payload is strict JSON (duplicate keys, unknown fields and trailing bytes
 * refused; every field capped):
 *   {"type":"release","spec":1,"version":"1.2.3","security_counter":N,
 *    "hw_classes":["thermo-v3",...],"component":"system","created":UNIX_SECONDS,
 *    "image":{"size":N,"sha256":"<hex>"},
 *    "frames":{"size":FRAME_SIZE,"count":N,"table_sha256":"<hex>"},
 *    "compression":"zstd"|"none",
 *    "encryption":{"alg":"aes-256-gcm","recipients":[{"keyid":"<hex>",
 *                  "epk":"<hex 32>","wrapped":"<hex 48>"},...]},   (optional)
 *    "delta_base":{"size":N,"sha256":"<hex>"}}                      (optional)
 * The frame table (frames.h) is bound to the release by table_sha256, so
 * every byte of an image is covered by this one signature. docs/bundle-format.md
 * is the reference. Parsed releases are plain structs: no allocation. */
#ifndef NOBRICK_RELEASE_H
#define NOBRICK_RELEASE_H

#include <nobrick/crypto.h>
#include <nobrick/envelope.h>
#include <nobrick/err.h>
#include <nobrick/root.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_RELEASE_SPEC 1
#define NB_VERSION_MAX 63  /* characters of a SemVer string */
#define NB_HW_CLASS_MAX 63 /* characters of one hardware class */
#define NB_RELEASE_MAX_HW_CLASSES 16
#define NB_COMPONENT_MAX 31 /* characters */
#define NB_COMPONENT_DEFAULT "system"
/* Recipients of one encrypted release. 1000, not 1024: a release with every
 * field at its cap must fit NB_PAYLOAD_MAX (each recipient is ~259 bytes of
 * JSON). Larger fleets seal to groups (a group's X25519 key) instead. */
#define NB_RELEASE_MAX_RECIPIENTS 1000
#define NB_SECURITY_COUNTER_MAX ((UINT64_C(1) << 53) - 1) /* exact in any JSON reader */
#define NB_CREATED_MAX ((INT64_C(1) << 53) - 1)
#define NB_IMAGE_SIZE_MAX (UINT64_C(1) << 40) /* 1 TiB */
#define NB_FRAME_SIZE_MIN 4096u
#define NB_FRAME_SIZE_MAX (8u * 1024 * 1024)
#define NB_FRAME_SIZE_DEFAULT (1024u * 1024)
/* Frames of one image: bounds the frame table (16 + 80 * 2^20 bytes). */
#define NB_FRAMES_MAX_COUNT (1u << 20)
#define NB_WRAPPED_KEY_LEN (NB_AES256_KEY_LEN + NB_GCM_TAG_LEN)
#define NB_KEY_WRAP_INFO "nobrick key wrap v1"

enum nb_compression { NB_COMPRESSION_NONE, NB_COMPRESSION_ZSTD };

struct nb_release {
    char version[NB_VERSION_MAX + 1]; /* SemVer 2.0.0 */
    uint64_t security_counter;        /* 0..NB_SECURITY_COUNTER_MAX */
    char hw_classes[NB_RELEASE_MAX_HW_CLASSES][NB_HW_CLASS_MAX + 1];
    size_t n_hw_classes; /* 1..NB_RELEASE_MAX_HW_CLASSES, no duplicates */
    char component[NB_COMPONENT_MAX + 1];
    int64_t created;     /* UNIX seconds, 0..NB_CREATED_MAX */
    uint64_t image_size; /* 1..NB_IMAGE_SIZE_MAX */
    uint8_t image_sha256[NB_SHA256_LEN];
    uint32_t frame_size;  /* power of two, NB_FRAME_SIZE_MIN..NB_FRAME_SIZE_MAX */
    uint32_t frame_count; /* == ceil(image_size / frame_size) */
    uint8_t table_sha256[NB_SHA256_LEN];
    enum nb_compression compression;
    bool encrypted;      /* "encryption" present: frames are AES-256-GCM */
    size_t n_recipients; /* when encrypted: 1..NB_RELEASE_MAX_RECIPIENTS */
    bool has_delta_base;
    uint64_t delta_base_size;
    uint8_t delta_base_sha256[NB_SHA256_LEN];
};

/* The content key sealed to one device (or group) X25519 key. */
struct nb_recipient {
    char keyid[NB_KEYID_MAX + 1]; /* hex SHA-256 of the recipient's X25519 public key */
    uint8_t epk[NB_X25519_LEN];   /* ephemeral public key */
    uint8_t wrapped[NB_WRAPPED_KEY_LEN];
};

/* Parses a release payload (not an envelope) strictly. NB_EPARSE for
 * malformed, duplicate, missing or unknown fields, wrong types, a version that
 * is not SemVer, a frame count that does not match the sizes; NB_ELENGTH past
 * a cap (payload over NB_PAYLOAD_MAX, image over NB_IMAGE_SIZE_MAX, too many
 * frames, hardware classes or recipients). Only call it on verified bytes
 * (nb_release_verify does); it is also hardened and fuzzed for the unverified
 * display path of `nobrick bundle inspect`. *out is written only on success. */
NB_MUST_CHECK enum nb_err nb_release_parse(const uint8_t *payload, size_t len,
                                           struct nb_release *out, struct nb_diag *diag);

/* Serialises rel (compact JSON, fields in the order above) into out,
 * NUL-terminated; *out_len excludes the NUL. When rel->encrypted, the
 * recipients are recipients[0..n_recipients-1] (rel->n_recipients is ignored);
 * otherwise n_recipients must be 0. The text is parsed back before it is
 * returned, so nothing nb_release_parse would refuse is ever written:
 * NB_EINVAL (diag says which field) for such a release, NB_ENOSPC when
 * out_cap is short, NB_ENOMEM. */
NB_MUST_CHECK enum nb_err nb_release_write(const struct nb_release *rel,
                                           const struct nb_recipient *recipients,
                                           size_t n_recipients, char *out, size_t out_cap,
                                           size_t *out_len, struct nb_diag *diag);

/* Verifies then parses a release envelope: envelope parse, signatures
 * against root->roles[NB_ROLE_RELEASE] with payload type NB_PAYLOAD_RELEASE
 * (NB_ESIG, NB_ETHRESHOLD, NB_EPARSE for type confusion), and only then
 * nb_release_parse. scratch as for nb_envelope_parse; on success *payload
 * (if not NULL) points at the verified payload inside scratch, for
 * nb_release_unwrap_key. */
NB_MUST_CHECK enum nb_err nb_release_verify(const struct nb_root *root,
                                            const uint8_t *envelope_text, size_t len,
                                            uint8_t *scratch, size_t scratch_len,
                                            struct nb_release *out, const uint8_t **payload,
                                            size_t *payload_len, struct nb_diag *diag);

/* NB_OK when hw_class is one of rel's hardware classes, else NB_EINCOMPAT
 * ("bundle is for hardware class thermo-v3, this device is thermo-v2"). */
NB_MUST_CHECK enum nb_err nb_release_check_hw(const struct nb_release *rel, const char *hw_class,
                                              struct nb_diag *diag);

/* A SemVer 2.0.0 version. pre and build are the identifiers after '-' and
 * '+' (empty when absent). */
struct nb_semver {
    uint64_t major, minor, patch;
    char pre[NB_VERSION_MAX + 1];
    char build[NB_VERSION_MAX + 1];
};

/* Parses s (at most NB_VERSION_MAX characters) as SemVer 2.0.0: no leading
 * zeros in numeric identifiers, no empty identifiers, numbers that fit 64
 * bits. NB_EPARSE otherwise, NB_ELENGTH when too long. */
NB_MUST_CHECK enum nb_err nb_semver_parse(const char *s, struct nb_semver *out);

/* SemVer precedence: <0, 0 or >0. Build metadata is ignored. */
int nb_semver_cmp(const struct nb_semver *a, const struct nb_semver *b);

/* Host side: seals content_key to one recipient X25519 public key
 * (ephemeral X25519 e; shared = X25519(e, R); KEK = HKDF-SHA256(shared,
 * salt = epk || R, info = NB_KEY_WRAP_INFO); wrapped = AES-256-GCM(KEK,
 * nonce 0, aad = NB_KEY_WRAP_INFO, content_key)). Secrets are wiped.
 * NB_EINVAL for a small-order recipient key. */
NB_MUST_CHECK enum nb_err nb_release_seal_key(const uint8_t content_key[NB_AES256_KEY_LEN],
                                              const uint8_t recipient_pub[NB_X25519_LEN],
                                              struct nb_recipient *out);

/* Device side: finds this device's entry (keyid of my_pub) in a verified
 * release payload and unwraps the content key. NB_EDECRYPT when there is no
 * entry for this device or the unwrap fails (corrupt or foreign wrapped key);
 * NB_EINVAL when my_pub is not my_priv's public key; NB_EPARSE when the
 * payload has no encryption. content_key_out is written only on success. */
NB_MUST_CHECK enum nb_err nb_release_unwrap_key(const uint8_t *payload, size_t len,
                                                const uint8_t my_priv[NB_X25519_LEN],
                                                const uint8_t my_pub[NB_X25519_LEN],
                                                uint8_t content_key_out[NB_AES256_KEY_LEN],
                                                struct nb_diag *diag);

#endif
