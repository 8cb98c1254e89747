/* nobrick-boot: one power-on of a simulated device. Reads the device's
 * agent.conf, runs the reference bootloader policy (nb_boot_run, boot/boot.c)
 * on its flash, prints what booted and why, and writes the booted file the
 * agent reads to know the running slot (docs/agent.md). Exits 0 when a slot
 * booted, 1 when nothing is bootable, 3 on a simulated power cut. */
#include "device.h"

#include <nobrick/alloc.h>
#include <nobrick/boot.h>
#include <nobrick/envelope.h>
#include <nobrick/fileio.h>
#include <nobrick/trust.h>

#include <stdio.h>
#include <string.h>

#define PROG "nobrick-boot"
#define WINDOW_LEN (64u * 1024)

static const char usage[] =
    "Usage: nobrick-boot [-c agent.conf] [OPTIONS]\n\n"
    "Powers the simulated device on once: the reference bootloader picks the\n"
    "slot (a pending trial first, consuming one try; else the committed slot;\n"
    "else another good slot, then gold), verifies its signed release and image,\n"
    "and boots it. Prints the booted slot, version and every refusal, and writes\n"
    "the booted file (booted_file in agent.conf). Exit codes: 0 booted, 1\n"
    "nothing bootable, 2 bad command line, 3 power cut.\n\nOptions:\n"
    "  -c FILE            the device's agent.conf (default /etc/nobrick/agent.conf)\n";

static int parse(int argc, char **argv, const char **config, struct agent_power_opts *po)
{
    for (int i = 1; i < argc; i++) {
        int r = agent_power_opt(PROG, argc, argv, &i, po);
        if (r < 0)
            return AGENT_EXIT_USAGE;
        if (r > 0)
            continue;
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            *config = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            fputs(agent_power_help, stdout);
            return -1;
        } else {
            fprintf(stderr, PROG ": unexpected argument '%s' (try --help)\n", argv[i]);
            return AGENT_EXIT_USAGE;
        }
    }
    return AGENT_EXIT_OK;
}

static enum nb_err bufs_alloc(struct nb_boot_bufs *b)
{
    b->scratch_len = NB_ENVELOPE_SCRATCH_LEN;
    b->envelope_cap = NB_ENVELOPE_MAX;
    b->trust_cap = NB_TRUST_ROOT_MAX;
    b->window_len = WINDOW_LEN;
    b->scratch = nb_malloc(b->scratch_len);
    b->envelope = nb_malloc(b->envelope_cap);
    b->trust_text = nb_malloc(b->trust_cap);
    b->window = nb_malloc(b->window_len);
    return b->scratch && b->envelope && b->trust_text && b->window ? NB_OK : NB_ENOMEM;
}

static void bufs_free(struct nb_boot_bufs *b)
{
    nb_free(b->window);
    nb_free(b->trust_text);
    nb_free(b->envelope);
    nb_free(b->scratch);
}

static void print_events(const struct nb_boot_result *r)
{
    for (size_t i = 0; i < r->n_events && i < NB_BOOT_MAX_EVENTS; i++) {
        const struct nb_boot_event *e = &r->events[i];
        bool named = e->err == NB_OK || strstr(e->what, nb_errname(e->err)) != NULL;
        printf("  %s%s%s%s\n", e->what, named ? "" : " (", named ? "" : nb_errname(e->err),
               named ? "" : ")");
    }
}

/* The booted file: what runs until the next power-on. */
static enum nb_err write_booted(const struct agent_config *cfg, const struct nb_boot_result *r,
                                struct nb_diag *diag)
{
    char text[256];
    int n = snprintf(text, sizeof text,
                     "# written by nobrick-boot at power-on: the image running now\n"
                     "slot = %s\nversion = %s\nstate = %s\n",
                     nb_slot_name(r->slot), r->version, agent_state_name(r->state));
    if (n < 0 || (size_t)n >= sizeof text)
        return NB_ELENGTH;
    return nb_file_write_atomic(cfg->booted_file, text, (size_t)n, 0644, false, diag);
}

static int power_on(const struct agent_config *cfg, struct agent_device *d)
{
    struct nb_boot_bufs bufs;
    memset(&bufs, 0, sizeof bufs);
    struct nb_boot_result *r = nb_calloc(1, sizeof *r);
    struct nb_diag diag = {{0}};
    int rc = AGENT_EXIT_FAIL;
    enum nb_err err = r == NULL ? NB_ENOMEM : bufs_alloc(&bufs);
    if (err == NB_OK) {
        struct nb_boot_device dev = {&d->flash, &d->layout, d->bootctl, &d->trust};
        err = nb_boot_run(&dev, &bufs, r);
        print_events(r);
    }
    if (err == NB_OK) {
        printf("booted slot %s: version %s (%s", nb_slot_name(r->slot), r->version,
               agent_state_name(r->state));
        if (r->state == NB_BOOTCTL_TRIAL)
            printf(", %u tr%s left", r->tries_left, r->tries_left == 1 ? "y" : "ies");
        printf(")\n");
        err = write_booted(cfg, r, &diag);
        rc = err == NB_OK ? AGENT_EXIT_OK : agent_fail(PROG, cfg, err, &diag, "booted file");
    } else if (!agent_device_power_lost(d)) {
        nb_diag_set(&diag, err, "nothing is bootable: every slot was refused (see above)");
        rc = agent_fail(PROG, cfg, err, &diag, "boot failed");
    }
    bufs_free(&bufs);
    nb_free(r);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config = "/etc/nobrick/agent.conf";
    struct agent_power_opts po = {0};
    int rc = parse(argc, argv, &config, &po);
    if (rc != AGENT_EXIT_OK)
        return rc < 0 ? AGENT_EXIT_OK : rc;
    struct agent_config cfg;
    struct nb_diag diag = {{0}};
    enum nb_err err = agent_config_load(config, &cfg, &diag);
    if (err != NB_OK)
        return agent_fail(PROG, NULL, err, &diag, "configuration");
    /* Power-on: nothing runs until this boot succeeds. */
    struct agent_booted old;
    if (remove(cfg.booted_file) != 0 && agent_booted_read(&cfg, &old, NULL) == NB_OK)
        return agent_fail(PROG, &cfg, NB_EIO, NULL, "removing the booted file");
    struct agent_device d;
    err = agent_device_open(&d, &cfg, &po, &diag);
    if (err != NB_OK)
        return agent_fail(PROG, &cfg, err, &diag, "opening the device");
    rc = power_on(&cfg, &d);
    return agent_device_close(&d, rc);
}
