/* Latency percentiles in bounded memory (sim/latency.c): a histogram of
 * microseconds, 10 us wide up to 10 ms, 1 ms wide up to 10 s, one bucket
 * past that. The simulator times every check-in with it (load runs, the
 * summary's latency). */
#ifndef SIM_LATENCY_H
#define SIM_LATENCY_H

#include <stdint.h>

#define SIM_LATENCY_FINE 1000u   /* 10 us buckets: 0 .. 10 ms */
#define SIM_LATENCY_COARSE 9990u /* 1 ms buckets: 10 ms .. 10 s */
#define SIM_LATENCY_BUCKETS (SIM_LATENCY_FINE + SIM_LATENCY_COARSE + 1)

struct sim_latency {
    uint64_t count, sum_us, max_us;
    uint32_t bucket[SIM_LATENCY_BUCKETS];
};

void sim_latency_reset(struct sim_latency *l);
void sim_latency_add(struct sim_latency *l, uint64_t us);
/* The pct-th percentile (0 < pct <= 100) in microseconds, the upper edge
 * of its bucket; 0 when nothing was added. */
uint64_t sim_latency_percentile(const struct sim_latency *l, double pct);

#endif
