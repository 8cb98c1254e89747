/* What nobrick-sim asks of the management API (sim/mgmt.c, docs/api.md):
 * preauthorise every device into the fleet's group (concurrently, through
 * the multi handle), upload a release, deploy it to the group, and read a
 * deployment's per-state counts back for the summary. */
#ifndef SIM_MGMT_H
#define SIM_MGMT_H

#include "fleet.h"
#include "net.h"

#include <jansson.h>
#include <stdint.h>

/* POST /api/v1/devices for every device; an already known key (409) is
 * fine. NB_EUNAUTHORIZED / NB_EIO with diag on the first refusal. */
NB_MUST_CHECK enum nb_err sim_mgmt_preauthorise(struct sim_net *net, const char *token,
                                                struct sim_fleet *f, struct nb_diag *diag);

/* POST /api/v1/releases with the bundle at path: its id and version. */
NB_MUST_CHECK enum nb_err sim_mgmt_upload(struct sim_net *net, const char *token, const char *path,
                                          int64_t *id, char version[NB_BOOTCTL_VERSION_MAX + 1],
                                          struct nb_diag *diag);

/* POST /api/v1/deployments {"release_id", "group"}: its id and how many
 * devices it assigned. */
NB_MUST_CHECK enum nb_err sim_mgmt_deploy(struct sim_net *net, const char *token,
                                          int64_t release_id, const char *group, int64_t *id,
                                          int64_t *devices, struct nb_diag *diag);

/* One blocking management call with a JSON body (NULL: none) whose answer
 * is a JSON object with status want: the object (new reference), or NULL
 * with diag saying what the server answered. */
json_t *sim_mgmt_json(struct sim_net *net, const char *method, const char *path, const char *token,
                      const char *body, int want, struct nb_diag *diag);

/* GET /api/v1/deployments/{id}: its "counts" object (new reference), or
 * NULL when it cannot be read. */
json_t *sim_mgmt_counts(struct sim_net *net, const char *token, int64_t id);
/* The "counts" of n deployments added up per state (new reference), or
 * NULL when one cannot be read. */
json_t *sim_mgmt_counts_sum(struct sim_net *net, const char *token, const int64_t *ids, size_t n);

/* POST /api/v1/rollouts with body (a spec with its release_id), then
 * POST .../start: its id and the devices its plan holds. */
NB_MUST_CHECK enum nb_err sim_mgmt_rollout(struct sim_net *net, const char *token, const char *body,
                                           int64_t *id, int64_t *planned, struct nb_diag *diag);

#endif
