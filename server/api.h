/* The route tables of the API modules, one per resource (api_<name>.c),
 * which http.c serves in this order. */
#ifndef NOBRICK_SERVER_API_H
#define NOBRICK_SERVER_API_H

#include "http.h"

extern const struct http_routes api_health_routes; /* /healthz, /metrics */

#endif
