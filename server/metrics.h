/* Process-wide counters of the server, rendered in the Prometheus text
 * format by GET /metrics. Counters are atomics: any request thread may bump
 * them without a lock. */
#ifndef NOBRICK_SERVER_METRICS_H
#define NOBRICK_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* X(enumerator, name, type, help) */
#define SRV_METRICS_TABLE(X)                                                                       \
    X(SRV_M_REQ_2XX, "nobrick_http_requests_2xx_total", "counter", "Requests answered 2xx")        \
    X(SRV_M_REQ_3XX, "nobrick_http_requests_3xx_total", "counter", "Requests answered 3xx")        \
    X(SRV_M_REQ_4XX, "nobrick_http_requests_4xx_total", "counter", "Requests answered 4xx")        \
    X(SRV_M_REQ_5XX, "nobrick_http_requests_5xx_total", "counter", "Requests answered 5xx")        \
    X(SRV_M_SHED, "nobrick_http_shed_total", "counter", "Requests refused with 503 under load")    \
    X(SRV_M_THROTTLED, "nobrick_device_throttled_total", "counter", "Check-ins refused with 429")  \
    X(SRV_M_INFLIGHT, "nobrick_http_inflight", "gauge", "Requests being handled")                  \
    X(SRV_M_CHECKINS, "nobrick_device_checkins_total", "counter", "Device check-ins")              \
    X(SRV_M_INSTRUCTIONS, "nobrick_director_instructions_total", "counter",                        \
      "Director-signed instructions issued")                                                       \
    X(SRV_M_REPORTS, "nobrick_device_reports_total", "counter", "Device status reports stored")    \
    X(SRV_M_AUTH_FAIL, "nobrick_auth_failures_total", "counter", "Refused credentials")            \
    X(SRV_M_UPLOADS, "nobrick_release_uploads_total", "counter", "Bundles accepted")               \
    X(SRV_M_BYTES_SERVED, "nobrick_artifact_bytes_served_total", "counter",                        \
      "Artifact bytes queued for sending")

enum srv_metric {
#define SRV_METRIC_ENUM(e, name, type, help) e,
    SRV_METRICS_TABLE(SRV_METRIC_ENUM)
#undef SRV_METRIC_ENUM
        SRV_M_COUNT
};

void srv_metric_add(enum srv_metric m, int64_t delta);
int64_t srv_metric_get(enum srv_metric m);
/* Writes the Prometheus text exposition into out (NUL-terminated);
 * returns its length, or 0 when out_cap is too small. */
size_t srv_metrics_render(char *out, size_t out_cap);

#endif
