/* nobrick error codes: one table, append-only values.
 *
 * Every fallible function in libnobrick returns an enum nb_err: 0 is success,
 * negative values are failures. The names of the security codes match the
 * attack classes of SECURITY.md (E_SIG, E_THRESHOLD, ...), so logs, device
 * reports and tests speak the same words. */
#ifndef NOBRICK_ERR_H
#define NOBRICK_ERR_H

#include <stddef.h>

#define NB_MUST_CHECK __attribute__((warn_unused_result))

/* X(enumerator, value, name, sentence) — values are append-only. */
#define NB_ERR_TABLE(X)                                                                            \
    X(NB_OK, 0, "OK", "success")                                                                   \
    X(NB_ESIG, -1, "E_SIG", "bad or missing signature")                                            \
    X(NB_ETHRESHOLD, -2, "E_THRESHOLD", "too few distinct keys signed")                            \
    X(NB_EROLLBACK, -3, "E_ROLLBACK", "version or security counter went backwards")                \
    X(NB_EEXPIRED, -4, "E_EXPIRED", "signed metadata has expired")                                 \
    X(NB_EFRESHNESS, -5, "E_FRESHNESS", "nonce missing or wrong")                                  \
    X(NB_EHASH, -6, "E_HASH", "hash or length does not match signed data")                         \
    X(NB_ELENGTH, -7, "E_LENGTH", "size limit exceeded")                                           \
    X(NB_ETIMEOUT, -8, "E_TIMEOUT", "retrieval too slow")                                          \
    X(NB_EMISMATCH, -9, "E_MISMATCH", "metadata disagree with each other")                         \
    X(NB_EINCOMPAT, -10, "E_INCOMPAT", "not compatible with this device")                          \
    X(NB_ENOT_FOR_DEVICE, -11, "E_NOT_FOR_DEVICE", "addressed to another device")                  \
    X(NB_EUNAUTHORIZED, -12, "E_UNAUTHORIZED", "not authorized by the release role")               \
    X(NB_EPARSE, -13, "E_PARSE", "malformed input")                                                \
    X(NB_EDECRYPT, -14, "E_DECRYPT", "decryption failed")                                          \
    X(NB_ETRUNCATED, -15, "E_TRUNCATED", "data ended early or continued past its end")             \
    X(NB_EBOOT_VERIFY, -16, "E_BOOT_VERIFY", "boot-time verification failed")                      \
    X(NB_EIO, -17, "E_IO", "input/output error")                                                   \
    X(NB_ENOMEM, -18, "E_NOMEM", "out of memory")                                                  \
    X(NB_EINVAL, -19, "E_INVAL", "invalid argument")                                               \
    X(NB_ENOSPC, -20, "E_NOSPC", "no space left")                                                  \
    X(NB_ECRYPTO, -21, "E_CRYPTO", "crypto library failure")                                       \
    X(NB_EUNSUPPORTED, -22, "E_UNSUPPORTED", "not supported")                                      \
    X(NB_ENOENT, -23, "E_NOENT", "no such file or object")                                         \
    X(NB_EEXIST, -24, "E_EXIST", "already exists")                                                 \
    X(NB_EPOWER, -25, "E_POWER", "power lost during the operation")                                \
    X(NB_EHEALTH, -26, "E_HEALTH", "the new image failed its health checks")                       \
    X(NB_EBUSY, -27, "E_BUSY", "the server asked to retry later")                                  \
    X(NB_EUNBOOTABLE, -28, "E_UNBOOTABLE", "would leave the device without a bootable image")

enum nb_err {
#define NB_ERR_ENUM(e, v, name, text) e = (v),
    NB_ERR_TABLE(NB_ERR_ENUM)
#undef NB_ERR_ENUM
};

/* A sentence for a person, e.g. "bad or missing signature". Never NULL. */
const char *nb_strerror(enum nb_err err);
/* The stable code name, e.g. "E_SIG". Never NULL. */
const char *nb_errname(enum nb_err err);

/* Where a parser of untrusted bytes says what it found wrong, so the user
 * reads "release: field 'version': not SemVer", not "error". Optional: every
 * function taking one accepts NULL. */
struct nb_diag {
    char msg[200];
};

/* Writes a printf-style message into diag (if not NULL) and returns err, so a
 * caller can write `return nb_diag_set(d, NB_EPARSE, "...")`. The first
 * message set wins: an outer layer does not overwrite the inner detail. */
enum nb_err nb_diag_set(struct nb_diag *diag, enum nb_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Clears a diag before a new operation. */
void nb_diag_clear(struct nb_diag *diag);

#endif
