/* When simulated devices can reach the server (sim/online.c): the
 * scenario's online patterns (fleet.online) spread over the fleet by
 * share, and for each device whether it is reachable at a given virtual
 * time. Patterns apply from the plan's start (after enrolment): always;
 * intermittent, reachable for a whole poll interval with probability
 * online_p, decided afresh each interval; offline for a period. An
 * unreachable device's requests fail as a dead link fails them, and its
 * agent backs off as it would. */
#ifndef SIM_ONLINE_H
#define SIM_ONLINE_H

#include "fleet.h"

#include <stdbool.h>
#include <stdint.h>

/* Gives each device of f its pattern: the shares in order, spread evenly
 * over the device indices (a golden-ratio sequence), the rest always. */
void sim_online_assign(struct sim_fleet *f);

/* Whether d reaches the server at now_ms; plan_ms: when the plan started
 * (UINT64_MAX: not yet, and every device is online). */
bool sim_online_reachable(const struct sim_fleet *f, struct sim_device *d, uint64_t now_ms,
                          uint64_t plan_ms);

/* "always", "intermittent" or "offline": d's kind of pattern. */
const char *sim_online_kind(const struct sim_fleet *f, const struct sim_device *d);

#endif
