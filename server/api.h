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

#endif
