/* How the image a simulated device booted behaves (sim/behaviour.c), as its
 * release declares in the scenario: whether it reaches the agent at all
 * (it may crash at boot, or hang until the watchdog resets the device), and
 * whether its health checks pass. Each by hardware revision (always) or by
 * probability (per boot, per check). The factory image and releases the
 * scenario does not name are healthy. */
#ifndef SIM_BEHAVIOUR_H
#define SIM_BEHAVIOUR_H

#include "fleet.h"

#include <stdbool.h>

enum sim_boot_fate {
    SIM_BOOT_RUNS,    /* the agent starts */
    SIM_BOOT_CRASHES, /* reset at once: the next power-on after boot_s */
    SIM_BOOT_HANGS,   /* reset by the watchdog after watchdog_s */
};

/* What the image d runs now (its booted slot) does at this boot. */
enum sim_boot_fate sim_behaviour_boot(const struct sim_fleet *f, struct sim_device *d);

/* Whether the health checks of the image d runs now pass. */
bool sim_behaviour_healthy(const struct sim_fleet *f, struct sim_device *d);

#endif
