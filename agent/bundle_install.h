/* Feeding a bundle into the install engine (agent/bundle_install.c): the one
 * driver shared by the offline `nobrick-agent install` and the online agent,
 * which hands it a struct nb_bundle_reader over whatever transport it uses
 * (a file here, HTTP Range requests there). */
#ifndef AGENT_BUNDLE_INSTALL_H
#define AGENT_BUNDLE_INSTALL_H

#include "device.h"

#include <nobrick/bundle_file.h>
#include <nobrick/err.h>
#include <nobrick/release.h>
#include <nobrick/root.h>

#include <stdbool.h>
#include <stdint.h>

/* What the device brings to an install beyond its flash. */
struct agent_install_keys {
    const struct nb_root *root; /* from the trust store */
    const uint8_t *x25519_priv; /* NULL: no device key (no encrypted bundles) */
    const uint8_t *x25519_pub;
};

/* What happened, for the report. */
struct agent_install_result {
    struct nb_release rel;
    enum nb_bootctl_slot_id target;
    uint32_t frames_total, frames_written, frames_skipped;
    bool resumed;
};

/* Optional progress callback: frames done of total, after each frame. */
typedef void (*agent_progress_fn)(void *arg, uint32_t done, uint32_t total);

/* Installs the bundle read through r into the device's inactive slot and
 * leaves it in TRIAL (nb_install_*): header, envelope (begin: verification
 * and every preflight check before any write), frame table, frames, finish.
 * A corrupt frame is read once more before giving up (a transport may have
 * flipped it). Errors come from the engine or the reader, diag saying what
 * was refused. *res is filled as far as the install got. */
NB_MUST_CHECK enum nb_err agent_bundle_install(struct agent_device *d, struct nb_bundle_reader *r,
                                               const struct agent_install_keys *keys,
                                               agent_progress_fn progress, void *arg,
                                               struct agent_install_result *res,
                                               struct nb_diag *diag);

#endif
