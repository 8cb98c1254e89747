/* Moving the fleet to a new server in nobrick-sim (sim/move.c,
 * docs/simulator.md "platform-move"): the scenario's "move" object, the
 * per-device trust store the agent core walks (env.trust / env.root on
 * the device's simulated flash), the phases of the move (publish the root
 * chain on the old server, let the devices walk, switch the old address
 * over to a stranger, deploy on the new server) and what the summary
 * reports of it. */
#ifndef SIM_MOVE_H
#define SIM_MOVE_H

#include "run.h"
#include "scenario.h"

#include <jansson.h>

/* Reads the scenario's "move" object (NULL: no move) into s->move. NB_EPARSE
 * with the field in diag. */
NB_MUST_CHECK enum nb_err sim_move_load(struct sim_scenario *s, const json_t *o,
                                        struct nb_diag *diag);

/* The move's phases, after the fleet is provisioned and preauthorised on
 * the old server: per-device trust, boot the online devices, publish the
 * chain, walk, switch, boot the offline ones, deploy on the new server.
 * *dep: the new server's deployment. diag says which step failed. */
NB_MUST_CHECK enum nb_err sim_move_run(struct sim_run *r, int64_t *dep, struct nb_diag *diag);

/* Loads d's root from its trust store at power-on, as a device does (no-op
 * when the fleet does not move). false: the store holds no valid root. */
bool sim_move_power_on(struct sim_fleet *f, struct sim_device *d);

/* Which server a request goes to (the index into the summary's servers:
 * 0 the old address, 1 the new server, 2 anything else). */
uint8_t sim_move_server_of(const struct sim_scenario *sc, const char *path);

/* Adds root_versions, servers, stranger_installs and the move's own
 * figures to the summary; *ok is cleared when a device did not move or
 * installed the stranger's release. */
void sim_move_report(const struct sim_run *r, json_t *summary, bool *ok);

void sim_move_free(struct sim_fleet *f);

#endif
