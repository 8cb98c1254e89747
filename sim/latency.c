/* A latency histogram (latency.h): constant memory whatever the number of
 * samples, percentiles to within a bucket (10 us below 10 ms, 1 ms up to
 * 10 s). */
#include "latency.h"

#include <string.h>

void sim_latency_reset(struct sim_latency *l)
{
    memset(l, 0, sizeof *l);
}

static uint32_t bucket_of(uint64_t us)
{
    if (us < 10000)
        return (uint32_t)(us / 10);
    uint64_t ms = (us - 10000) / 1000;
    return ms < SIM_LATENCY_COARSE ? SIM_LATENCY_FINE + (uint32_t)ms : SIM_LATENCY_BUCKETS - 1;
}

/* The largest microsecond value bucket b holds (its upper edge). */
static uint64_t bucket_top(uint32_t b)
{
    if (b < SIM_LATENCY_FINE)
        return (uint64_t)b * 10 + 10;
    return 10000 + (uint64_t)(b - SIM_LATENCY_FINE) * 1000 + 1000;
}

void sim_latency_add(struct sim_latency *l, uint64_t us)
{
    l->bucket[bucket_of(us)]++;
    l->count++;
    l->sum_us += us;
    if (us > l->max_us)
        l->max_us = us;
}

uint64_t sim_latency_percentile(const struct sim_latency *l, double pct)
{
    if (l->count == 0)
        return 0;
    uint64_t need = (uint64_t)((double)l->count * pct / 100.0 + 0.999999);
    need = need == 0 ? 1 : need > l->count ? l->count : need;
    uint64_t seen = 0;
    for (uint32_t b = 0; b < SIM_LATENCY_BUCKETS - 1; b++) {
        seen += l->bucket[b];
        if (seen >= need) {
            uint64_t top = bucket_top(b);
            return top < l->max_us ? top : l->max_us;
        }
    }
    return l->max_us;
}
