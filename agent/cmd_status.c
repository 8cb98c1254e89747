/* `nobrick-agent status [--json]`: what the flash says (boot control,
 * journal, bootloader capabilities) and what runs (the booted file), read
 * only. The JSON form also gives the layout offsets, for tools and tests. */
#include "cmd.h"
#include "device.h"

#include <nobrick/encoding.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

const char agent_status_usage[] =
    "Usage: nobrick-agent [-c agent.conf] status [--json]\n\n"
    "Shows each slot's state, version, security counter and tries left, the\n"
    "minimum security counter, the update in progress (journal), the running\n"
    "slot (from the last nobrick-boot) and the bootloader's capabilities.\n"
    "--json prints one JSON object (docs/agent.md) instead.\n";

struct state {
    struct nb_bootctl rec;
    struct nb_journal journal;
    struct nb_caps caps;
    bool have_caps;
    struct agent_booted booted;
    bool have_booted;
};

static enum nb_err load(struct agent_device *d, struct state *s, struct nb_diag *diag)
{
    enum nb_err err = nb_boot_control_load(&d->bootctl, &s->rec, diag);
    if (err != NB_OK)
        return err;
    err = nb_journal_load(&d->journal, &s->journal, diag);
    if (err != NB_OK)
        return err;
    s->have_caps = nb_caps_read(&d->flash, d->layout.caps, &s->caps, NULL) == NB_OK;
    s->have_booted = agent_booted_read(d->cfg, &s->booted, NULL) == NB_OK;
    return NB_OK;
}

/* An install is in progress only while its target slot is INSTALLING: the
 * engine resumes exactly then. A journal left behind by a cut after the
 * trial was armed (its clearing is the install's last write), or before the
 * slot was marked, describes nothing the flash still waits for, and
 * reporting it would send the user to install again. */
static bool install_pending(const struct state *s)
{
    return s->journal.op == NB_JOURNAL_INSTALL &&
           s->rec.slot[s->journal.target_slot].state == NB_BOOTCTL_INSTALLING;
}

static int n_slots(const struct nb_bootctl *rec)
{
    return rec->has_gold ? 3 : 2;
}

static void print_text(const struct agent_device *d, const struct state *s)
{
    const struct nb_bootctl *rec = &s->rec;
    printf("hardware class:  %s\n", d->cfg->hw_class);
    if (s->have_booted)
        printf("running:         slot %s, version %s\n", nb_slot_name(s->booted.slot),
               s->booted.version);
    else
        printf("running:         unknown (not booted since provisioning; run nobrick-boot)\n");
    for (int i = 0; i < n_slots(rec); i++) {
        const struct nb_bootctl_slot *sl = &rec->slot[i];
        printf("slot %-5s       %-10s", nb_slot_name((enum nb_bootctl_slot_id)i),
               agent_state_name(sl->state));
        if (sl->state == NB_BOOTCTL_INSTALLING) /* no release recorded until it is written */
            printf(" (being written)");
        else if (sl->state != NB_BOOTCTL_EMPTY)
            printf(" version %s, security counter %" PRIu64, sl->version, sl->security_counter);
        if (sl->state == NB_BOOTCTL_TRIAL)
            printf(", %u tries left", sl->tries_left);
        if (rec->primary == i)
            printf(" (primary)");
        if (s->have_booted && s->booted.slot == (enum nb_bootctl_slot_id)i)
            printf(" (running)");
        printf("\n");
    }
    printf("min security counter: %" PRIu64 "\n", rec->min_security_counter);
    printf("boot control:    %s\n", agent_device_bootctl_name(d));
    if (install_pending(s))
        printf("in progress:     install of %u frames into slot %s, interrupted: run the same "
               "install again to resume\n",
               s->journal.frame_count, nb_slot_name(s->journal.target_slot));
    else
        printf("in progress:     nothing\n");
    if (s->have_caps)
        printf("bootloader:      %u.%u.%u, up to %u tries, anti-rollback %s, verifies signatures "
               "%s, %u slots\n",
               s->caps.boot_version >> 16, (s->caps.boot_version >> 8) & 0xFF,
               s->caps.boot_version & 0xFF, s->caps.max_tries, s->caps.anti_rollback ? "yes" : "no",
               s->caps.verifies_signature ? "yes" : "no", s->caps.slots);
    else
        printf("bootloader:      unknown (boot once so it records its capabilities)\n");
}

static json_t *region(struct nb_region r)
{
    return json_pack("{s:I,s:I}", "offset", (json_int_t)r.off, "size", (json_int_t)r.len);
}

static json_t *slot_json(const struct agent_device *d, const struct state *s, int i)
{
    const struct nb_bootctl_slot *sl = &s->rec.slot[i];
    char hex[2 * NB_SHA256_LEN + 1] = "";
    if (nb_hex_encode(sl->sha256, NB_SHA256_LEN, hex, sizeof hex) != NB_OK)
        hex[0] = '\0';
    return json_pack("{s:s,s:s,s:I,s:i,s:I,s:s,s:b,s:b,s:o,s:o}", "state",
                     agent_state_name(sl->state), "version", sl->version, "security_counter",
                     (json_int_t)sl->security_counter, "tries_left", (int)sl->tries_left,
                     "image_size", (json_int_t)sl->image_size, "sha256", hex, "primary",
                     s->rec.primary == i, "running",
                     s->have_booted && s->booted.slot == (enum nb_bootctl_slot_id)i, "region",
                     region(d->layout.slot[i]), "meta", region(d->layout.meta[i]));
}

static json_t *journal_json(const struct state *s)
{
    /* No frames_done: the engine does not keep it up to date (a resumed
     * install re-checks the slot instead), so it would be a false count. */
    if (!install_pending(s))
        return json_pack("{s:s}", "op", "idle");
    return json_pack("{s:s,s:s,s:i}", "op", "install", "slot", nb_slot_name(s->journal.target_slot),
                     "frame_count", (int)s->journal.frame_count);
}

static json_t *caps_json(const struct state *s)
{
    if (!s->have_caps)
        return json_null();
    return json_pack("{s:i,s:i,s:b,s:b,s:i}", "version", (int)s->caps.boot_version, "max_tries",
                     (int)s->caps.max_tries, "anti_rollback", s->caps.anti_rollback,
                     "verifies_signature", s->caps.verifies_signature, "slots", (int)s->caps.slots);
}

/* The trusted root: its version and the endpoints it signs (null when the
 * trust store does not load: a device never provisioned). */
static json_t *root_json(struct agent_device *d)
{
    static struct nb_root root;
    struct nb_diag diag = {{0}};
    if (agent_device_root(d, &root, &diag) != NB_OK)
        return json_null();
    json_t *eps = json_array();
    for (size_t i = 0; i < root.n_endpoints; i++)
        json_array_append_new(eps, json_string(root.endpoints[i]));
    return json_pack("{s:I,s:I,s:o}", "version", (json_int_t)root.version, "expires",
                     (json_int_t)root.expires, "endpoints", eps);
}

static int print_json(struct agent_device *d, const struct state *s)
{
    json_t *slots = json_object();
    for (int i = 0; slots != NULL && i < n_slots(&s->rec); i++)
        json_object_set_new(slots, nb_slot_name((enum nb_bootctl_slot_id)i), slot_json(d, s, i));
    json_t *running = s->have_booted ? json_pack("{s:s,s:s}", "slot", nb_slot_name(s->booted.slot),
                                                 "version", s->booted.version)
                                     : json_null();
    json_t *primary = s->rec.primary == NB_BOOTCTL_NONE
                          ? json_null()
                          : json_string(nb_slot_name((enum nb_bootctl_slot_id)s->rec.primary));
    json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:I,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:o,s:o}}", "hw_class",
                          d->cfg->hw_class, "bootctl", d->uboot != NULL ? "uboot" : "flash",
                          "running", running, "primary", primary, "min_security_counter",
                          (json_int_t)s->rec.min_security_counter, "slots", slots, "journal",
                          journal_json(s), "bootloader", caps_json(s), "layout", "flash_size",
                          (json_int_t)d->layout.end, "erase_size", (json_int_t)d->cfg->erase_size,
                          "slot_size", (json_int_t)d->layout.slot_size, "bootctl0",
                          region(d->layout.bootctl[0]), "bootctl1", region(d->layout.bootctl[1]));
    if (o != NULL)
        json_object_set_new(o, "root", root_json(d));
    if (o == NULL || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) {
        json_decref(o);
        fprintf(stderr, AGENT_PROG ": status: cannot write JSON\n");
        return AGENT_EXIT_FAIL;
    }
    printf("\n");
    json_decref(o);
    return AGENT_EXIT_OK;
}

int agent_cmd_status(const struct agent_config *cfg, int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") != 0) {
            fprintf(stderr, AGENT_PROG ": status: unknown option '%s'\n", argv[i]);
            return AGENT_EXIT_USAGE;
        }
        json = true;
    }
    struct agent_device d;
    struct state s;
    struct nb_diag diag = {{0}};
    memset(&s, 0, sizeof s);
    enum nb_err err = agent_device_open(&d, cfg, NULL, &diag);
    if (err != NB_OK)
        return agent_fail(AGENT_PROG, cfg, err, &diag, "status: opening the device");
    err = load(&d, &s, &diag);
    int rc = AGENT_EXIT_OK;
    if (err != NB_OK)
        rc = agent_fail(AGENT_PROG, cfg, err, &diag, "status");
    else if (json)
        rc = print_json(&d, &s);
    else
        print_text(&d, &s);
    return agent_device_close(&d, rc);
}
