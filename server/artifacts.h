/* Content-addressed artifacts on local disk: DATA/artifacts/<sha256 hex>,
 * written through a temporary file in DATA/tmp that is hashed as it is
 * written, fsynced and only then renamed into place, so a name always
 * matches its bytes and a crash leaves no half file under a real name. */
#ifndef NOBRICK_SERVER_ARTIFACTS_H
#define NOBRICK_SERVER_ARTIFACTS_H

#include <nobrick/crypto.h>
#include <nobrick/err.h>

#include <limits.h>
#include <stdint.h>

#define ARTIFACT_HEX_LEN (2 * NB_SHA256_LEN)

struct artifacts {
    char dir[PATH_MAX]; /* DATA/artifacts */
    char tmp[PATH_MAX]; /* DATA/tmp */
};

/* Creates DATA/artifacts and DATA/tmp (mode 0700) when missing and removes
 * leftover temporary files. */
NB_MUST_CHECK enum nb_err artifacts_init(struct artifacts *a, const char *data_dir,
                                         struct nb_diag *diag);

/* An upload in progress: a temporary file and the running hash. */
struct artifact_upload {
    int fd;
    char path[PATH_MAX];
    struct nb_sha256_ctx sha;
    uint64_t len;
    char hex[ARTIFACT_HEX_LEN + 1]; /* set by artifact_upload_close */
};

NB_MUST_CHECK enum nb_err artifact_upload_begin(const struct artifacts *a,
                                                struct artifact_upload *up);
NB_MUST_CHECK enum nb_err artifact_upload_write(struct artifact_upload *up, const void *data,
                                                size_t len);
/* Fsyncs and closes the temporary file and sets up->hex; the file stays at
 * up->path (to be verified) until published or aborted. */
NB_MUST_CHECK enum nb_err artifact_upload_close(struct artifact_upload *up);
/* Renames the temporary file to its content address (an identical artifact
 * already there is kept, and the temporary file removed). */
NB_MUST_CHECK enum nb_err artifact_upload_publish(const struct artifacts *a,
                                                  struct artifact_upload *up);
/* Removes the temporary file; safe after publish and on a zeroed struct. */
void artifact_upload_abort(struct artifact_upload *up);

/* Opens the artifact named hex for reading: NB_EINVAL for a name that is
 * not 64 lowercase hex characters, NB_ENOENT when absent. The caller owns
 * *fd. */
NB_MUST_CHECK enum nb_err artifact_open(const struct artifacts *a, const char *hex, int *fd,
                                        uint64_t *size);

#endif
