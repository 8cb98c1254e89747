/* Counters for GET /metrics (metrics.h): one atomic per metric of the
 * table, rendered with the table's names, types and help lines. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>

static atomic_llong values[SRV_M_COUNT];

struct meta {
    const char *name, *type, *help;
};

static const struct meta metas[] = {
#define SRV_METRIC_META(e, name, type, help) {name, type, help},
    SRV_METRICS_TABLE(SRV_METRIC_META)
#undef SRV_METRIC_META
};

void srv_metric_add(enum srv_metric m, int64_t delta)
{
    atomic_fetch_add(&values[m], (long long)delta);
}

int64_t srv_metric_get(enum srv_metric m)
{
    return (int64_t)atomic_load(&values[m]);
}

size_t srv_metrics_render(char *out, size_t out_cap)
{
    size_t n = 0;
    for (size_t i = 0; i < SRV_M_COUNT; i++) {
        int k = snprintf(out + n, out_cap - n, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n",
                         metas[i].name, metas[i].help, metas[i].name, metas[i].type, metas[i].name,
                         (long long)atomic_load(&values[i]));
        if (k < 0 || (size_t)k >= out_cap - n)
            return 0;
        n += (size_t)k;
    }
    return n;
}
