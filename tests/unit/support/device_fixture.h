/* Test helpers for a simulated device: a flash_sim file with the standard
 * layout, boot control, the trust store (root v1 of a bx_world) and signed
 * images in slots, written straight through the HAL, slotmeta and the
 * bootctl transitions (not through the install engine, so tests of the
 * bootloader, the agent and the installer do not depend on one another).
 * Every helper fails the running cmocka test on an internal error.
 * Test-only code: never linked into shipped programs. */
#ifndef NOBRICK_TEST_DEVICE_FIXTURE_H
#define NOBRICK_TEST_DEVICE_FIXTURE_H

#include "bundle_fixture.h"

#include <nobrick/boot.h>
#include <nobrick/bootctl.h>
#include <nobrick/dualrec.h>
#include <nobrick/flash_sim.h>
#include <nobrick/layout.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DX_SECTOR 4096u
#define DX_WRITE 16u
#define DX_SLOT_SIZE (256u * 1024)
#define DX_META_SIZE (8u * 1024)

/* One image and its signed release. */
struct dx_image {
    const char *version;
    uint64_t security_counter;
    size_t len;                      /* <= DX_SLOT_SIZE */
    unsigned seed;                   /* bytes from bx_image(seed) */
    const struct nb_keyfile *signer; /* NULL: the world's release key */
};

/* A device: the flash file and everything bound to it. Reopening the file
 * (dx_reboot) is a power cycle. */
struct dx_device {
    char path[64];
    bool has_gold;
    struct nb_flash_sim *sim;
    struct nb_flash flash;
    struct nb_layout layout;
    struct nb_bootctl_flash bootctl;
    struct nb_dualrec trust;
    struct nb_boot_device dev;                       /* for nb_boot_run */
    uint8_t sha256[NB_BOOTCTL_SLOTS][NB_SHA256_LEN]; /* of each image as written */
};

/* A factory device in a temp file: trust store = w->root (v1), slot A =
 * image a GOOD and primary, and with gold the same image in gold, GOOD.
 * The capability record is left unwritten (the first boot writes it). */
void dx_provision(struct dx_device *d, const struct bx_world *w, const struct dx_image *a,
                  bool gold);

/* Writes img and its signed release into slot id and arms it: INSTALLING,
 * image and metadata, READY, TRIAL with tries (each step stored). */
void dx_install_trial(struct dx_device *d, const struct bx_world *w, enum nb_bootctl_slot_id id,
                      const struct dx_image *img, uint8_t tries);

/* The agent's commit of slot id (TRIAL -> GOOD, stored). */
void dx_commit(struct dx_device *d, enum nb_bootctl_slot_id id);

/* Flips one bit of byte off of slot id on flash (erase and reprogram its
 * sector: what an attacker with flash access or bit rot does). */
void dx_flip(struct dx_device *d, enum nb_bootctl_slot_id id, uint64_t off);

/* One power-on of the bootloader, with static buffers. */
enum nb_err dx_boot(struct dx_device *d, struct nb_boot_result *out);

/* The record as on flash now. */
void dx_record(struct dx_device *d, struct nb_bootctl *out);

/* True when slot id holds, byte for byte, the image last written to it. */
bool dx_slot_intact(struct dx_device *d, enum nb_bootctl_slot_id id, uint64_t len);

/* Power cycle: close and reopen the flash file (power back on, no cut). */
void dx_reboot(struct dx_device *d);

/* Closes the device and removes its file. */
void dx_close(struct dx_device *d);

#endif
