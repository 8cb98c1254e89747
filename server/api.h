/* The route tables of the API modules, one per resource (api_<name>.c),
 * which http.c serves in this order. */
#ifndef NOBRICK_SERVER_API_H
#define NOBRICK_SERVER_API_H

#include "http.h"

extern const struct http_routes api_health_routes;     /* /healthz, /metrics */
extern const struct http_routes api_device_routes;     /* /api/v1/device/... (devices) */
extern const struct http_routes api_release_routes;    /* /api/v1/releases */
extern const struct http_routes api_fleet_routes;      /* /api/v1/devices (operators) */
extern const struct http_routes api_deployment_routes; /* /api/v1/deployments */
extern const struct http_routes api_rollout_routes;    /* /api/v1/rollouts */
extern const struct http_routes api_token_routes;      /* /api/v1/tokens, /api/v1/audit */
extern const struct http_routes api_root_routes;       /* /api/v1/roots, /api/v1/device/roots */

#endif
