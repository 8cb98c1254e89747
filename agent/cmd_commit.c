/* Committing or rejecting the running trial image: `mark-good`, `mark-bad`
 * and `health` (which runs the checks of agent/health.c, then does one of
 * the two). Every step re-reads boot control and is idempotent, so a command
 * interrupted by a power cut is simply run again. */
#include "cmd.h"
#include "device.h"
#include "health.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char agent_mark_good_usage[] =
    "Usage: nobrick-agent [-c agent.conf] mark-good [OPTIONS]\n\n"
    "Commits the running trial image: its slot becomes the one the device boots\n"
    "and the minimum security counter rises to its own (older releases are then\n"
    "refused). Running it again is harmless.\n\nOptions:\n";
const char agent_mark_bad_usage[] =
    "Usage: nobrick-agent [-c agent.conf] mark-bad [OPTIONS]\n\n"
    "Rejects the running trial image: it is never booted again, and the next\n"
    "power-on (nobrick-boot) boots the previous slot. The security counter is\n"
    "not raised.\n\nOptions:\n";
const char agent_health_usage[] =
    "Usage: nobrick-agent [-c agent.conf] health [OPTIONS]\n\n"
    "Runs every executable of health_dir (agent.conf) in name order, each with\n"
    "health_timeout_s seconds; a non-zero exit or a timeout fails the check.\n"
    "On a trial image: all pass = mark-good, one fails = mark-bad (exit 4; reboot\n"
    "to go back). On a rejected image it runs nothing and exits 4 again; on a\n"
    "committed one it only reports (a failure exits 1). Checks see NOBRICK_SLOT,\n"
    "NOBRICK_VERSION and NOBRICK_STATE.\n\nOptions:\n";

enum decision { COMMIT, REJECT };

/* The running slot, checked against boot control: the booted file must name
 * a slot holding the version it booted. */
static enum nb_err running_slot(struct agent_device *d, struct nb_bootctl *rec,
                                struct agent_booted *b, struct nb_diag *diag)
{
    enum nb_err err = nb_boot_control_load(&d->bootctl, rec, diag);
    if (err == NB_OK)
        err = agent_booted_read(d->cfg, b, diag);
    if (err != NB_OK)
        return err;
    const struct nb_bootctl_slot *sl = &rec->slot[b->slot];
    if (strcmp(sl->version, b->version) != 0)
        return nb_diag_set(diag, NB_EMISMATCH,
                           "the running image (slot %s, %s) is not what slot %s holds now (%s): "
                           "reboot (nobrick-boot) first",
                           nb_slot_name(b->slot), b->version, nb_slot_name(b->slot), sl->version);
    return NB_OK;
}

static enum nb_err apply(struct agent_device *d, struct nb_bootctl *rec, enum nb_bootctl_slot_id id,
                         enum decision what, struct nb_diag *diag)
{
    struct nb_bootctl next = *rec;
    enum nb_err err =
        what == COMMIT ? nb_bootctl_mark_good(&next, id) : nb_bootctl_mark_bad(&next, id);
    if (err == NB_OK && !nb_bootctl_equal(&next, rec)) {
        err = nb_boot_control_store(&d->bootctl, &next);
        if (err != NB_OK)
            return agent_device_store_error(d, err, diag);
    }
    if (err == NB_OK)
        *rec = next;
    return err;
}

static int commit(struct agent_device *d, struct nb_bootctl *rec, const struct agent_booted *b)
{
    const struct nb_bootctl_slot *sl = &rec->slot[b->slot];
    struct nb_diag diag = {{0}};
    if (sl->state == NB_BOOTCTL_GOOD) {
        printf("slot %s (%s) is already committed\n", nb_slot_name(b->slot), sl->version);
        return AGENT_EXIT_OK;
    }
    if (sl->state != NB_BOOTCTL_TRIAL) {
        nb_diag_set(&diag, NB_EINVAL,
                    "slot %s (%s) is %s, not a trial: only a trial image can be committed; "
                    "reboot (nobrick-boot) to run the committed one",
                    nb_slot_name(b->slot), sl->version, agent_state_name(sl->state));
        return agent_fail(AGENT_PROG, d->cfg, NB_EINVAL, &diag, "mark-good");
    }
    enum nb_err err = apply(d, rec, b->slot, COMMIT, &diag);
    if (err != NB_OK)
        return agent_device_power_lost(d) ? AGENT_EXIT_POWER
                                          : agent_fail(AGENT_PROG, d->cfg, err, &diag, "mark-good");
    printf("committed slot %s (%s): minimum security counter is now %" PRIu64 "\n",
           nb_slot_name(b->slot), sl->version, rec->min_security_counter);
    return AGENT_EXIT_OK;
}

static int reject(struct agent_device *d, struct nb_bootctl *rec, const struct agent_booted *b)
{
    const struct nb_bootctl_slot *sl = &rec->slot[b->slot];
    struct nb_diag diag = {{0}};
    if (sl->state == NB_BOOTCTL_GOOD) {
        nb_diag_set(&diag, NB_EINVAL,
                    "slot %s (%s) is committed: mark-bad only rejects a trial image",
                    nb_slot_name(b->slot), sl->version);
        return agent_fail(AGENT_PROG, d->cfg, NB_EINVAL, &diag, "mark-bad");
    }
    if (sl->state != NB_BOOTCTL_BAD) {
        enum nb_err err = apply(d, rec, b->slot, REJECT, &diag);
        if (err != NB_OK)
            return agent_device_power_lost(d)
                       ? AGENT_EXIT_POWER
                       : agent_fail(AGENT_PROG, d->cfg, err, &diag, "mark-bad");
    }
    printf("rejected slot %s (%s): it will not boot again\n", nb_slot_name(b->slot), sl->version);
    if (rec->primary != NB_BOOTCTL_NONE)
        printf("reboot now (nobrick-boot): the device goes back to slot %s (%s)\n",
               nb_slot_name((enum nb_bootctl_slot_id)rec->primary),
               rec->slot[rec->primary].version);
    return AGENT_EXIT_OK;
}

static int parse(const char *verb, int argc, char **argv, struct agent_power_opts *po)
{
    for (int i = 1; i < argc; i++) {
        int r = agent_power_opt(AGENT_PROG, argc, argv, &i, po);
        if (r < 0)
            return AGENT_EXIT_USAGE;
        if (r == 0) {
            fprintf(stderr, AGENT_PROG ": %s: unexpected argument '%s'\n", verb, argv[i]);
            return AGENT_EXIT_USAGE;
        }
    }
    return AGENT_EXIT_OK;
}

static int run_checks(struct agent_device *d, struct nb_bootctl *rec, const struct agent_booted *b)
{
    const struct agent_config *cfg = d->cfg;
    const struct nb_bootctl_slot *sl = &rec->slot[b->slot];
    struct agent_health_env env = {nb_slot_name(b->slot), sl->version, agent_state_name(sl->state)};
    struct agent_health_result hr;
    struct nb_diag diag = {{0}};
    if (sl->state == NB_BOOTCTL_BAD) {
        /* Rejected already (a health run cut by the power after its store,
         * or mark-bad): the same outcome and exit code as the first run, so
         * a supervisor that reboots on 4 still reboots. */
        int rc = reject(d, rec, b);
        return rc == AGENT_EXIT_OK ? AGENT_EXIT_REJECTED : rc;
    }
    enum nb_err err = NB_OK;
    memset(&hr, 0, sizeof hr);
    hr.ok = true;
    if (cfg->health_dir[0] != '\0')
        err = agent_health_run(cfg->health_dir, cfg->health_timeout_s, &env, &hr, &diag);
    if (err != NB_OK)
        return agent_fail(AGENT_PROG, cfg, err, &diag, "health");
    if (hr.ok) {
        printf("health: %u check%s passed\n", hr.n_run, hr.n_run == 1 ? "" : "s");
        return sl->state == NB_BOOTCTL_TRIAL ? commit(d, rec, b) : AGENT_EXIT_OK;
    }
    printf("health: check '%s' failed: %s\n", hr.check, hr.why);
    if (sl->state != NB_BOOTCTL_TRIAL) {
        nb_diag_set(&diag, NB_EINVAL, "the committed image (slot %s, %s) fails check '%s'",
                    nb_slot_name(b->slot), sl->version, hr.check);
        return agent_fail(AGENT_PROG, cfg, NB_EINVAL, &diag, "health");
    }
    int rc = reject(d, rec, b);
    return rc == AGENT_EXIT_OK ? AGENT_EXIT_REJECTED : rc;
}

typedef int (*action_fn)(struct agent_device *d, struct nb_bootctl *rec,
                         const struct agent_booted *b);

static int run(const struct agent_config *cfg, const char *verb, int argc, char **argv,
               action_fn action)
{
    struct agent_power_opts po = {0};
    int rc = parse(verb, argc, argv, &po);
    if (rc != AGENT_EXIT_OK)
        return rc;
    struct agent_device d;
    struct nb_diag diag = {{0}};
    enum nb_err err = agent_device_open(&d, cfg, &po, &diag);
    if (err != NB_OK)
        return agent_fail(AGENT_PROG, cfg, err, &diag, verb);
    struct nb_bootctl rec;
    struct agent_booted b;
    err = running_slot(&d, &rec, &b, &diag);
    rc = err == NB_OK ? action(&d, &rec, &b) : agent_fail(AGENT_PROG, cfg, err, &diag, verb);
    return agent_device_close(&d, rc);
}

int agent_cmd_mark_good(const struct agent_config *cfg, int argc, char **argv)
{
    return run(cfg, "mark-good", argc, argv, commit);
}

int agent_cmd_mark_bad(const struct agent_config *cfg, int argc, char **argv)
{
    return run(cfg, "mark-bad", argc, argv, reject);
}

int agent_cmd_health(const struct agent_config *cfg, int argc, char **argv)
{
    return run(cfg, "health", argc, argv, run_checks);
}
