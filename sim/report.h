/* What nobrick-sim tells (sim/report.c): a progress line on stderr while it
 * runs, and the JSON summary at the end (docs/simulator.md "The summary"):
 * devices per version and per state, bricked (the bootloader policy run on
 * a copy of each device's flash finds nothing bootable: must be 0),
 * failed, rolled back, reverted (committed, then taken back by a
 * rollback), unreached, requests and bytes, frames fetched
 * again, power cuts, time to 50/90/99 % updated, memory. */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include "run.h"

#include <jansson.h>
#include <stdbool.h>

/* The progress line: rewritten in place on a terminal (final: ended with
 * a newline), one line each call otherwise. */
void sim_report_progress(const struct sim_run *r, bool final);

/* The summary (new reference). server_counts: the deployment's counts as
 * the server has them; rollout: the plan's rollout as the server shows it
 * at the end (both borrowed; NULL: none or not known). Sets *ok when every
 * expectation of the scenario holds. */
json_t *sim_report_summary(const struct sim_run *r, int64_t deployment_id, json_t *server_counts,
                           json_t *rollout, bool *ok);

#endif
