/* The factory step of a device (lib/host/provision.c): a signed factory
 * bundle verified against the root, then written to a blank flash as the
 * device's first state: trust store, slot A (and the gold slot) with their
 * signed metadata, the bootloader's capability record and boot control
 * with slot A good. Shared by `nobrick device provision` (one device on a
 * file) and nobrick-sim (one image that thousands of devices share). */
#ifndef NOBRICK_PROVISION_H
#define NOBRICK_PROVISION_H

#include <nobrick/bundle.h>
#include <nobrick/bundle_file.h>
#include <nobrick/err.h>
#include <nobrick/hal.h>
#include <nobrick/layout.h>
#include <nobrick/release.h>
#include <nobrick/root.h>

#include <stddef.h>
#include <stdint.h>

/* A verified factory bundle. */
struct nb_factory {
    struct nb_bundle_header hdr;
    struct nb_release rel;
    uint8_t *envelope; /* owned: hdr.envelope_len bytes */
    uint8_t *table;    /* owned: hdr.table_len bytes */
};

/* Verifies the whole bundle of r against root (nb_bundle_file_verify) and
 * keeps its release, envelope and table. An encrypted bundle is refused
 * (NB_EINVAL: the device key does not exist yet). Release with
 * nb_factory_fini, also after a failure. */
NB_MUST_CHECK enum nb_err nb_factory_load(const struct nb_root *root, struct nb_bundle_reader *r,
                                          struct nb_factory *out, struct nb_diag *diag);
void nb_factory_fini(struct nb_factory *f);

/* Writes the device onto an erased flash laid out by layout: the trust
 * store (root_text, the root.json the device trusts), slot A and, with
 * layout->has_gold, the gold slot (every frame of r decoded and checked
 * against the signed table), their metadata, the capability record, and
 * boot control last (A, and gold, good), so that a device whose
 * provisioning stopped half-way has no valid boot control. Synced. */
NB_MUST_CHECK enum nb_err nb_factory_write(const struct nb_factory *f, struct nb_bundle_reader *r,
                                           const struct nb_flash *flash,
                                           const struct nb_layout *layout, const uint8_t *root_text,
                                           size_t root_len, struct nb_diag *diag);

#endif
