/* The per-device state machine of a deployment (assignment.c), kept apart
 * from how targets are chosen (deployments, later the rollout engine):
 *
 *   pending -> notified -> downloading -> installing -> rebooting -> committed
 *      -> succeeded (the next check-in reports the release's version)
 *   any unfinished state -> failed | rolled_back;  committed -> rolled_back
 *   (also when a check-in after "committed" reports another version)
 *   operator: any unfinished state -> cancelled
 *
 * Progress states may repeat (downloading 10 %, 20 %, ...) and may skip
 * ahead, never go back. succeeded, failed, rolled_back and cancelled are
 * final for devices and operators; only the rollout engine puts a failed
 * rollout assignment back to pending, as its next attempt
 * (rollout_device.h). Pure functions: no store, no clock. */
#ifndef NOBRICK_SERVER_ASSIGNMENT_H
#define NOBRICK_SERVER_ASSIGNMENT_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* true for succeeded, failed, rolled_back and cancelled. */
bool assignment_is_final(enum store_assign_state st);

/* true when a device may report `to` while its assignment is in `from`.
 * Devices report downloading, installing, rebooting, committed, failed and
 * rolled_back; never pending, notified, succeeded or cancelled. */
bool assignment_device_may_report(enum store_assign_state from, enum store_assign_state to);

/* The download progress (percent) an assignment shows after a device
 * reported `to` with `reported`: the reported figure while downloading, 100
 * once the device has moved past the download (installing, rebooting,
 * committed) or succeeded, otherwise `current` unchanged. */
uint32_t assignment_progress(enum store_assign_state to, uint32_t reported, uint32_t current);

/* What a check-in that reports installed_version means for an unfinished
 * assignment of a release with release_version: succeeded when the versions
 * match, rolled_back when the device had committed but runs another
 * version, otherwise `from` unchanged. */
enum store_assign_state assignment_on_checkin(enum store_assign_state from,
                                              const char *installed_version,
                                              const char *release_version);

#endif
