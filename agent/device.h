/* A device opened from its agent.conf (agent/device.c): the flash (the
 * power-cut simulator or a plain file / block device), the layout, the
 * stores on it (journal, trust) and boot control (the record on the flash
 * or the U-Boot environment, chosen once at open). Shared by every verb of
 * nobrick-agent, by nobrick-boot and, later, by the online agent's loop.
 * The power-cut options of the tests (--cut-after-ops, --tear, --count-ops)
 * live here so that every program that writes the flash takes them alike. */
#ifndef AGENT_DEVICE_H
#define AGENT_DEVICE_H

#include "config.h"

#include <nobrick/bootctl.h>
#include <nobrick/caps.h>
#include <nobrick/dualrec.h>
#include <nobrick/err.h>
#include <nobrick/hal.h>
#include <nobrick/journal.h>
#include <nobrick/layout.h>
#include <nobrick/root.h>

#include <stdbool.h>
#include <stdint.h>

/* Exit codes shared by nobrick-agent and nobrick-boot (docs/agent.md). */
#define AGENT_EXIT_OK 0
#define AGENT_EXIT_FAIL 1
#define AGENT_EXIT_USAGE 2
#define AGENT_EXIT_POWER 3    /* the simulated power was cut */
#define AGENT_EXIT_REJECTED 4 /* a health check failed: the trial image was rejected */
#define AGENT_EXIT_REBOOT 5   /* run: reboot needed (an update installed, a trial rejected) */

struct agent_power_opts {
    bool cut; /* --cut-after-ops given */
    uint64_t cut_after_ops;
    bool tear;      /* --tear: the cut operation is torn (a prefix applied) */
    bool count_ops; /* --count-ops: report programs + erases on stderr */
};

struct nb_flash_sim;
struct nb_flash_file;
struct nb_bootctl_uboot;

struct agent_device {
    const struct agent_config *cfg;
    struct agent_power_opts power;
    struct nb_flash_sim *sim;
    struct nb_flash_file *file;
    struct nb_flash flash;
    struct nb_layout layout;
    struct nb_bootctl_flash bootctl_flash; /* bound even when unused: the layout has it */
    struct nb_bootctl_uboot *uboot;        /* bootctl = uboot */
    struct nb_boot_control bootctl;        /* what every verb loads and stores */
    struct nb_dualrec journal;
    struct nb_dualrec trust;
};

/* Matches a power-cut option at argv[*i] (advancing *i past its value):
 * 1 when it was one, 0 when not, -1 (message printed to stderr) for a bad
 * value. prog names the program in the message. */
int agent_power_opt(const char *prog, int argc, char **argv, int *i, struct agent_power_opts *o);

/* The --help lines of the power-cut options. */
extern const char agent_power_help[];

/* Opens the flash named by cfg, computes the layout, checks it against the
 * flash, binds the stores and opens the boot-control backend of cfg. Arms the cut of o (sim only:
 * NB_EUNSUPPORTED for the file backend). Nothing is read or written yet. *d is valid until
 * agent_device_close. */
NB_MUST_CHECK enum nb_err agent_device_open(struct agent_device *d, const struct agent_config *cfg,
                                            const struct agent_power_opts *o, struct nb_diag *diag);

/* Syncs (unless the power is lost) and closes. Then: when the simulated
 * power was cut, prints "power cut after N flash operations" and returns
 * AGENT_EXIT_POWER whatever rc was; with --count-ops prints
 * "flash operations: N". Otherwise returns rc. Safe on a device never
 * opened (zeroed). */
int agent_device_close(struct agent_device *d, int rc);

/* After a failed nb_boot_control_store: why, in diag (the U-Boot backend
 * knows more than its error code). Returns err. */
enum nb_err agent_device_store_error(const struct agent_device *d, enum nb_err err,
                                     struct nb_diag *diag);

/* "flash record" or "U-Boot environment": where boot control lives. */
const char *agent_device_bootctl_name(const struct agent_device *d);

/* True once the simulated power was cut. */
bool agent_device_power_lost(const struct agent_device *d);

/* Loads the trust store's root (allocating its buffers for the call). */
NB_MUST_CHECK enum nb_err agent_device_root(struct agent_device *d, struct nb_root *out,
                                            struct nb_diag *diag);

/* What runs now, from the booted file nobrick-boot writes (docs/agent.md):
 * NB_ENOENT when the device has not booted since (or the boot failed). */
struct agent_booted {
    enum nb_bootctl_slot_id slot;
    char version[NB_BOOTCTL_VERSION_MAX + 1];
};
NB_MUST_CHECK enum nb_err agent_booted_read(const struct agent_config *cfg,
                                            struct agent_booted *out, struct nb_diag *diag);

/* A slot name ("A", "B", "gold") back to its id: false for anything else. */
bool agent_slot_parse(const char *name, enum nb_bootctl_slot_id *out);

/* "empty", "installing", "ready", "trial", "good", "bad". */
const char *agent_state_name(enum nb_bootctl_state s);

/* Prints "nobrick-agent: WHAT: DETAIL (E_NAME)" (prog names the program;
 * without WHAT when NULL, for a diag that already says what failed), then
 * "what to do: ..." from the remedy table (nobrick/remedy.h) and, when the
 * remedy sends the person to support and support_contact is set, "if this
 * keeps happening, contact support: ADDRESS". Returns AGENT_EXIT_FAIL. */
int agent_fail(const char *prog, const struct agent_config *cfg, enum nb_err err,
               const struct nb_diag *diag, const char *what);

#endif
