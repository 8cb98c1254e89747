/* Declared image behaviour (behaviour.h): the running slot's version is
 * read from the device's boot control, its release looked up in the
 * scenario, and the misbehaviour decided by revision, else by the device's
 * own random state (so a fleet replays). */
#include "behaviour.h"

#include <string.h>

/* The scenario's release of the image d runs now, or NULL. */
static const struct sim_release *running_release(const struct sim_fleet *f, struct sim_device *d)
{
    struct nb_bootctl bc;
    struct nb_boot_control ctl = nb_bootctl_flash_control(&d->bcf);
    if (nb_boot_control_load(&ctl, &bc, NULL) != NB_OK)
        return NULL;
    return sim_fleet_release(f, bc.slot[d->running].version);
}

static bool on_revision(const struct sim_fleet *f, const struct sim_device *d,
                        const struct sim_misbehaviour *m)
{
    const char *rev = sim_device_revision(f, d);
    for (size_t i = 0; i < m->n_revisions; i++)
        if (strcmp(m->revisions[i], rev) == 0)
            return true;
    return false;
}

/* Whether m strikes d at this boot: always on its revisions, else with m->p. */
static bool strikes(const struct sim_fleet *f, struct sim_device *d,
                    const struct sim_misbehaviour *m)
{
    return on_revision(f, d, m) || (m->p > 0 && sim_device_random(d) < m->p);
}

enum sim_boot_fate sim_behaviour_boot(const struct sim_fleet *f, struct sim_device *d)
{
    const struct sim_release *rel = running_release(f, d);
    if (rel == NULL)
        return SIM_BOOT_RUNS;
    if (strikes(f, d, &rel->crash))
        return SIM_BOOT_CRASHES;
    return strikes(f, d, &rel->hang) ? SIM_BOOT_HANGS : SIM_BOOT_RUNS;
}

bool sim_behaviour_healthy(const struct sim_fleet *f, struct sim_device *d)
{
    const struct sim_release *rel = running_release(f, d);
    if (rel == NULL)
        return true;
    /* one draw per check whatever the revision: the fleet's random
     * sequences do not depend on which revisions fail */
    bool lucky = sim_device_random(d) >= rel->health.p;
    return lucky && !on_revision(f, d, &rel->health);
}
