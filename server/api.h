/* The route tables of the API modules, one per resource (api_<name>.c),
 * which http.c serves in this order. */
#ifndef NOBRICK_SERVER_API_H
#define NOBRICK_SERVER_API_H

#include "http.h"
#include "store.h"

#include <jansson.h>

extern const struct http_routes api_health_routes;          /* /healthz, /metrics */
extern const struct http_routes api_device_routes;          /* /api/v1/device/... (devices) */
extern const struct http_routes api_release_routes;         /* /api/v1/releases */
extern const struct http_routes api_fleet_routes;           /* /api/v1/devices (operators) */
extern const struct http_routes api_deployment_routes;      /* /api/v1/deployments */
extern const struct http_routes api_rollout_routes;         /* /api/v1/rollouts */
extern const struct http_routes api_rollout_control_routes; /* rollback, approve, ... */
extern const struct http_routes api_token_routes;           /* /api/v1/tokens, /api/v1/audit */
extern const struct http_routes api_root_routes; /* /api/v1/roots, /api/v1/device/roots */

/* A rollout as the API shows it (api_rollout.c). */
json_t *api_rollout_json(const struct store_rollout *r);
/* The rollout named by the path's {id} into *r; false after replying 400/404. */
bool api_rollout_get(struct srv *srv, struct http_req *req, struct store_rollout *r);
/* /api/v1/rollouts/{id}/devices, /api/v1/quarantine, /api/v1/devices/{id}/quarantine */
extern const struct http_routes api_safety_routes;

/* The quarantine of a device in the device views (api_safety.c): the
 * device's record when it is quarantined at now, else JSON null; and the
 * same as a "quarantine" field of each device object of the array devices. */
json_t *api_safety_device(struct srv *srv, const char *device_id, int64_t now);
NB_MUST_CHECK enum nb_err api_safety_mark(struct srv *srv, json_t *devices, int64_t now);

#endif
