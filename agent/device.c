/* Opening a device from its agent.conf: the flash backend chosen once here
 * (simulator or file), the computed layout checked against it, the two-copy
 * stores bound to their regions, the boot-control backend (the flash record
 * or the U-Boot environment) chosen once here too; plus the power-cut plumbing of the tests
 * and the booted file that tells the agent which slot runs. */
#include "device.h"

#include <nobrick/alloc.h>
#include <nobrick/bootctl_uboot.h>
#include <nobrick/envelope.h>
#include <nobrick/fileio.h>
#include <nobrick/flash_file.h>
#include <nobrick/flash_sim.h>
#include <nobrick/remedy.h>
#include <nobrick/trust.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char agent_power_help[] =
    "  --cut-after-ops N  simulated flash only: cut the power after N programs/erases\n"
    "  --tear             with --cut-after-ops: tear the interrupted operation\n"
    "  --count-ops        print 'flash operations: N' (programs + erases) and the bytes\n"
    "                     programmed and erased on stderr\n";

int agent_power_opt(const char *prog, int argc, char **argv, int *i, struct agent_power_opts *o)
{
    const char *a = argv[*i];
    if (strcmp(a, "--tear") == 0) {
        o->tear = true;
        return 1;
    }
    if (strcmp(a, "--count-ops") == 0) {
        o->count_ops = true;
        return 1;
    }
    if (strcmp(a, "--cut-after-ops") != 0)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = 0;
    if (*i + 1 < argc && argv[*i + 1][0] >= '0' && argv[*i + 1][0] <= '9')
        v = strtoull(argv[*i + 1], &end, 10);
    if (end == NULL || *end != '\0' || errno != 0) {
        fprintf(stderr, "%s: --cut-after-ops needs a number of flash operations\n", prog);
        return -1;
    }
    ++*i;
    o->cut = true;
    o->cut_after_ops = v;
    return 1;
}

static enum nb_err open_flash(struct agent_device *d, struct nb_diag *diag)
{
    const struct agent_config *c = d->cfg;
    enum nb_err err;
    if (c->backend == AGENT_FLASH_SIM) {
        struct nb_flash_sim_config sc = {d->layout.end, c->erase_size, c->write_size, false};
        err = nb_flash_sim_open(c->flash, &sc, &d->sim, diag);
        if (err == NB_OK)
            d->flash = nb_flash_sim_flash(d->sim);
        return err;
    }
    if (d->power.cut || d->power.count_ops)
        return nb_diag_set(diag, NB_EUNSUPPORTED,
                           "power-cut options need the simulated flash (flash_backend = sim)");
    struct nb_flash_file_config fc = {0, c->erase_size, c->write_size, false};
    err = nb_flash_file_open(c->flash, &fc, &d->file, diag);
    if (err == NB_OK)
        d->flash = nb_flash_file_flash(d->file);
    return err;
}

static enum nb_err bind_stores(struct agent_device *d, struct nb_diag *diag)
{
    const struct nb_layout *l = &d->layout;
    enum nb_err err =
        nb_bootctl_flash_init(&d->bootctl_flash, &d->flash, l->bootctl[0], l->bootctl[1]);
    if (err == NB_OK)
        err =
            nb_dualrec_init(&d->journal, &d->flash, l->journal[0], l->journal[1], NB_JOURNAL_MAGIC);
    if (err == NB_OK)
        err = nb_dualrec_init(&d->trust, &d->flash, l->trust[0], l->trust[1], NB_TRUST_MAGIC);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "the flash layout of %s is not usable", d->cfg->path);
    return NB_OK;
}

static enum nb_err open_bootctl(struct agent_device *d, struct nb_diag *diag)
{
    if (d->cfg->bootctl == AGENT_BOOTCTL_FLASH) {
        d->bootctl = nb_bootctl_flash_control(&d->bootctl_flash);
        return NB_OK;
    }
    enum nb_err err = nb_bootctl_uboot_open(d->cfg->uboot_env_config, &d->uboot, diag);
    if (err == NB_OK)
        d->bootctl = nb_bootctl_uboot_control(d->uboot);
    return err;
}

enum nb_err agent_device_store_error(const struct agent_device *d, enum nb_err err,
                                     struct nb_diag *diag)
{
    if (d->uboot != NULL)
        return nb_diag_set(diag, err, "%s", nb_bootctl_uboot_last_error(d->uboot));
    return nb_diag_set(diag, err, "writing boot control to the flash failed: %s", nb_strerror(err));
}

const char *agent_device_bootctl_name(const struct agent_device *d)
{
    return d->uboot != NULL ? "U-Boot environment" : "flash record";
}

enum nb_err agent_device_open(struct agent_device *d, const struct agent_config *cfg,
                              const struct agent_power_opts *o, struct nb_diag *diag)
{
    memset(d, 0, sizeof *d);
    d->cfg = cfg;
    if (o != NULL)
        d->power = *o;
    enum nb_err err =
        nb_layout_compute(cfg->erase_size, cfg->slot_size, cfg->meta_size, cfg->gold, &d->layout);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "%s: no flash layout for these sizes", cfg->path);
    err = open_flash(d, diag);
    if (err != NB_OK)
        return err;
    struct nb_flash_geometry g;
    nb_flash_geometry(&d->flash, &g);
    err = nb_layout_check(&d->layout, &g, diag);
    if (err == NB_OK)
        err = bind_stores(d, diag);
    if (err == NB_OK)
        err = open_bootctl(d, diag);
    if (err == NB_OK && d->sim != NULL && d->power.cut)
        nb_flash_sim_cut_after(d->sim, d->power.cut_after_ops, d->power.tear,
                               d->power.cut_after_ops * 2654435761u + 1);
    return err;
}

bool agent_device_power_lost(const struct agent_device *d)
{
    return d->sim != NULL && nb_flash_sim_power_lost(d->sim);
}

int agent_device_close(struct agent_device *d, int rc)
{
    if (d->sim != NULL) {
        struct nb_flash_sim_stats st;
        nb_flash_sim_stats(d->sim, &st);
        bool lost = nb_flash_sim_power_lost(d->sim);
        if (!lost && nb_flash_sync(&d->flash) != NB_OK && rc == AGENT_EXIT_OK)
            rc = AGENT_EXIT_FAIL;
        nb_flash_sim_close(d->sim);
        if (lost) {
            fprintf(stderr, "power cut after %" PRIu64 " flash operations\n",
                    d->power.cut_after_ops);
            rc = AGENT_EXIT_POWER;
        }
        if (d->power.count_ops) {
            fprintf(stderr, "flash operations: %" PRIu64 "\n", st.programs + st.erases);
            fprintf(stderr, "flash bytes: programmed %" PRIu64 ", erased %" PRIu64 "\n",
                    st.bytes_programmed, st.bytes_erased);
        }
    }
    if (d->file != NULL) {
        if (nb_flash_sync(&d->flash) != NB_OK && rc == AGENT_EXIT_OK)
            rc = AGENT_EXIT_FAIL;
        nb_flash_file_close(d->file);
    }
    nb_bootctl_uboot_close(d->uboot);
    memset(d, 0, sizeof *d);
    return rc;
}

enum nb_err agent_device_root(struct agent_device *d, struct nb_root *out, struct nb_diag *diag)
{
    uint8_t *text = nb_malloc(NB_TRUST_ROOT_MAX);
    uint8_t *scratch = nb_malloc(NB_ENVELOPE_SCRATCH_LEN);
    size_t len = 0;
    enum nb_err err = NB_ENOMEM;
    if (text != NULL && scratch != NULL)
        err = nb_trust_load(&d->trust, text, NB_TRUST_ROOT_MAX, &len, scratch,
                            NB_ENVELOPE_SCRATCH_LEN, out, diag);
    nb_free(scratch);
    nb_free(text);
    return err;
}

bool agent_slot_parse(const char *name, enum nb_bootctl_slot_id *out)
{
    static const enum nb_bootctl_slot_id ids[] = {NB_BOOTCTL_A, NB_BOOTCTL_B, NB_BOOTCTL_GOLD};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(name, nb_slot_name(ids[i])) == 0) {
            *out = ids[i];
            return true;
        }
    }
    return false;
}

const char *agent_state_name(enum nb_bootctl_state s)
{
    static const char *const names[] = {"empty", "installing", "ready", "trial", "good", "bad"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

/* "slot = B" / "version = 2.0.0" lines; anything else is refused. */
static enum nb_err parse_booted(char *text, struct agent_booted *out, const char *path,
                                struct nb_diag *diag)
{
    bool have_slot = false, have_version = false;
    for (char *line = strtok_r(text, "\n", &text); line != NULL;
         line = strtok_r(NULL, "\n", &text)) {
        char key[16], val[NB_BOOTCTL_VERSION_MAX + 1];
        if (line[0] == '#')
            continue;
        if (sscanf(line, "%15s = %63s", key, val) != 2)
            return nb_diag_set(diag, NB_EPARSE, "%s: bad line '%s'", path, line);
        if (strcmp(key, "slot") == 0)
            have_slot = agent_slot_parse(val, &out->slot);
        else if (strcmp(key, "version") == 0 && !have_version) {
            memcpy(out->version, val, strlen(val) + 1);
            have_version = true;
        }
    }
    if (!have_slot || !have_version)
        return nb_diag_set(diag, NB_EPARSE, "%s: no slot or version", path);
    return NB_OK;
}

enum nb_err agent_booted_read(const struct agent_config *cfg, struct agent_booted *out,
                              struct nb_diag *diag)
{
    uint8_t *text = NULL;
    size_t len = 0;
    struct agent_booted b = {0};
    enum nb_err err = nb_file_read(cfg->booted_file, 4096, &text, &len, NULL);
    if (err == NB_ENOENT)
        return nb_diag_set(diag, err, "the device has not booted (no %s): run nobrick-boot",
                           cfg->booted_file);
    if (err == NB_OK)
        err = parse_booted((char *)text, &b, cfg->booted_file, diag);
    else
        err = nb_diag_set(diag, err, "cannot read %s", cfg->booted_file);
    nb_free(text);
    if (err == NB_OK)
        *out = b;
    return err;
}

int agent_fail(const char *prog, const struct agent_config *cfg, enum nb_err err,
               const struct nb_diag *diag, const char *what)
{
    const char *detail = (diag != NULL && diag->msg[0] != '\0') ? diag->msg : nb_strerror(err);
    if (what != NULL)
        fprintf(stderr, "%s: %s: %s (%s)\n", prog, what, detail, nb_errname(err));
    else
        fprintf(stderr, "%s: %s (%s)\n", prog, detail, nb_errname(err));
    if (err == NB_EPOWER)
        return AGENT_EXIT_FAIL;
    /* The remedy table is the one the control socket's events use. */
    const struct nb_remedy *r = nb_remedy_for(err);
    fprintf(stderr, "%s: what to do: %s\n", prog, r->what_to_do);
    if (cfg != NULL && cfg->support_contact[0] != '\0' && r->support)
        fprintf(stderr, "%s: if this keeps happening, contact support: %s\n", prog,
                cfg->support_contact);
    return AGENT_EXIT_FAIL;
}
