/* Boot-control HAL on a U-Boot environment (lib/hal/posix/bootctl_uboot.c),
 * through libubootenv: for Linux devices whose bootloader is U-Boot. The
 * record is kept twice in the environment (docs/bootloader.md, "U-Boot
 * environment backend"):
 * - RAUC-style variables a U-Boot script acts on: BOOT_ORDER ("B A"),
 *   BOOT_A_LEFT, BOOT_B_LEFT and, with a gold slot, BOOT_GOLD_LEFT;
 * - the whole struct nb_bootctl as nobrick_* variables, so a load gives back
 *   exactly what the last store was given.
 * The script may only count a trial down (BOOT_x_LEFT of the slot in
 * trial): load takes the lower of that and nobrick_x_tries, so tries never
 * grow back. A store is one libubootenv write of the whole environment; with
 * a redundant environment (two copies, each with a CRC and a flag byte) a
 * power cut leaves the old or the new environment, never a mix. */
#ifndef NOBRICK_BOOTCTL_UBOOT_H
#define NOBRICK_BOOTCTL_UBOOT_H

#include <nobrick/err.h>
#include <nobrick/hal.h>

#include <stdbool.h>

struct nb_bootctl_uboot;

/* Reads the libubootenv configuration at config_path (fw_env.config: one
 * line "DEVICE OFFSET SIZE [SECTOR_SIZE [SECTORS]]" per copy; two lines for
 * a redundant environment, which is required). The environment itself is
 * not read yet. NB_EUNSUPPORTED for a single copy (a power cut while it is
 * rewritten would lose it) or when nobrick was built without libubootenv,
 * NB_ENOENT / NB_EIO when the file cannot be read, NB_EPARSE when
 * libubootenv refuses it, NB_ENOMEM; diag names the file. The caller
 * closes *out with nb_bootctl_uboot_close. */
NB_MUST_CHECK enum nb_err
nb_bootctl_uboot_open(const char *config_path, struct nb_bootctl_uboot **out, struct nb_diag *diag);
/* Frees u; NULL is a no-op. */
void nb_bootctl_uboot_close(struct nb_bootctl_uboot *u);

/* The boot-control HAL of u, valid until nb_bootctl_uboot_close.
 * load: NB_EPARSE (diag names the variable) when no copy of the environment
 * is valid, when it holds no nobrick record (nobrick_format missing: never
 * stored), or when a variable is missing, malformed, out of range, unknown
 * (nobrick_*) or contradicts another (BOOT_ORDER against the record, an
 * invariant of nobrick/bootctl.h); NB_EIO when a copy cannot be read.
 * store: reads the environment (other variables are kept), sets the
 * record's variables and writes it once, then reads it back. NB_EINVAL for a
 * record failing nb_bootctl_check or with a non-empty slot whose version is
 * empty (U-Boot drops empty variables); NB_EPARSE when no copy is valid
 * (U-Boot would boot its built-in default: write that first); NB_ENOSPC when
 * the environment is full; NB_EIO otherwise. nb_bootctl_uboot_last_error
 * says why. */
struct nb_boot_control nb_bootctl_uboot_control(struct nb_bootctl_uboot *u);

/* Why the last store failed ("" after a successful one). */
const char *nb_bootctl_uboot_last_error(const struct nb_bootctl_uboot *u);

#endif
