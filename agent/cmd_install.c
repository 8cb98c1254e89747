/* `nobrick-agent install BUNDLE`: installs a bundle file into the inactive
 * slot and leaves it in trial. The device's root comes from its trust store
 * and its X25519 key from device_key; the install itself is the shared
 * driver of agent/bundle_install.c. */
#include "bundle_install.h"
#include "cmd.h"

#include <nobrick/keyfile.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char agent_install_usage[] =
    "Usage: nobrick-agent [-c agent.conf] install BUNDLE.nbb [OPTIONS]\n\n"
    "Verifies the bundle against the device's trusted root, checks it fits this\n"
    "device (hardware class, security counter, size, bootloader), writes it into\n"
    "the slot that is not running and arms it for a trial boot. Interrupted\n"
    "installs resume: run the same command again. Then reboot (nobrick-boot) and\n"
    "run health checks (nobrick-agent health) or mark-good.\n\nOptions:\n";

static int parse(int argc, char **argv, const char **bundle, struct agent_power_opts *po)
{
    for (int i = 1; i < argc; i++) {
        int r = agent_power_opt(AGENT_PROG, argc, argv, &i, po);
        if (r < 0)
            return AGENT_EXIT_USAGE;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' || *bundle != NULL) {
            fprintf(stderr, AGENT_PROG ": install: unexpected argument '%s'\n", argv[i]);
            return AGENT_EXIT_USAGE;
        }
        *bundle = argv[i];
    }
    if (*bundle == NULL) {
        fprintf(stderr, AGENT_PROG ": install: which bundle? (nobrick-agent install FILE.nbb)\n");
        return AGENT_EXIT_USAGE;
    }
    return AGENT_EXIT_OK;
}

/* The tries come from boot control, not from agent.conf: a resumed install
 * whose trial was armed (and perhaps booted) before a power cut is not
 * re-armed, so it has the tries it had left. */
static void report(struct agent_device *d, const struct agent_install_result *res)
{
    struct nb_bootctl rec;
    unsigned tries = d->cfg->tries;
    if (nb_boot_control_load(&d->bootctl, &rec, NULL) == NB_OK)
        tries = rec.slot[res->target].tries_left;
    printf("installed %s (security counter %" PRIu64 ") into slot %s: trial armed with %u "
           "tr%s\n",
           res->rel.version, res->rel.security_counter, nb_slot_name(res->target), tries,
           tries == 1 ? "y" : "ies");
    printf("frames: %u written, %u already in the slot%s\n", res->frames_written,
           res->frames_skipped, res->resumed ? " (resumed an interrupted install)" : "");
    printf("next: reboot (nobrick-boot), then run 'nobrick-agent health' or 'mark-good'\n");
}

static int install(const struct agent_config *cfg, struct agent_device *d, const char *bundle,
                   const struct nb_keyfile *key)
{
    struct nb_root root;
    struct nb_diag diag = {{0}};
    struct nb_bundle_reader r;
    memset(&r, 0, sizeof r);
    enum nb_err err = agent_device_root(d, &root, &diag);
    if (err != NB_OK)
        return agent_fail(AGENT_PROG, cfg, err, &diag, "install: the device's trust store");
    err = nb_bundle_reader_open_file(&r, bundle, &diag);
    if (err != NB_OK)
        return agent_fail(AGENT_PROG, cfg, err, &diag, "install");
    struct agent_install_keys keys = {&root, key != NULL ? key->x_priv : NULL,
                                      key != NULL ? key->x_pub : NULL};
    struct agent_install_result res;
    err = agent_bundle_install(d, &r, &keys, NULL, NULL, &res, &diag);
    nb_bundle_reader_close(&r);
    if (err == NB_OK) {
        report(d, &res);
        return AGENT_EXIT_OK;
    }
    if (agent_device_power_lost(d))
        return AGENT_EXIT_POWER;
    bool says = strncmp(diag.msg, "install", 7) == 0;
    return agent_fail(AGENT_PROG, cfg, err, &diag, says ? NULL : "install refused");
}

int agent_cmd_install(const struct agent_config *cfg, int argc, char **argv)
{
    const char *bundle = NULL;
    struct agent_power_opts po = {0};
    int rc = parse(argc, argv, &bundle, &po);
    if (rc != AGENT_EXIT_OK)
        return rc;
    struct nb_keyfile key;
    struct nb_diag diag = {{0}};
    memset(&key, 0, sizeof key);
    bool have_key = cfg->device_key[0] != '\0';
    enum nb_err err = have_key ? nb_keyfile_load(cfg->device_key, &key, &diag) : NB_OK;
    if (err == NB_OK && have_key && (!key.secret || !key.has_x25519))
        err = nb_diag_set(&diag, NB_EINVAL, "%s is not a device secret key", cfg->device_key);
    if (err != NB_OK)
        return agent_fail(AGENT_PROG, cfg, err, &diag, "install: device key");
    struct agent_device d;
    err = agent_device_open(&d, cfg, &po, &diag);
    if (err != NB_OK) {
        nb_keyfile_wipe(&key);
        return agent_fail(AGENT_PROG, cfg, err, &diag, "install: opening the device");
    }
    rc = install(cfg, &d, bundle, have_key ? &key : NULL);
    nb_keyfile_wipe(&key);
    return agent_device_close(&d, rc);
}
