/* Network faults per request (faults.h). Every choice draws from the
 * device's own random state (seeded from the scenario's seed), so the same
 * scenario injects the same faults in the same order of a device's
 * requests. A cut or a flip lands on a byte inside the requested range:
 * the answer of a Range request has that many bytes. */
#include "faults.h"

static uint64_t range_len(const struct nb_agent_request *q)
{
    return q->range && q->range_last >= q->range_first ? q->range_last - q->range_first + 1 : 0;
}

void sim_faults_request(const struct sim_scenario *sc, struct sim_device *d,
                        const struct nb_agent_request *q, bool frame, bool checkin,
                        struct sim_net_opts *out)
{
    uint64_t len = range_len(q);
    out->cut_at = SIM_NET_NONE;
    out->flip_at = SIM_NET_NONE;
    out->flip_mask = 0;
    out->timed = checkin;
    out->recv_bps = sc->wall_clock && sim_faults_slow(sc, d->index) ? sc->slow_link_bps : 0;
    if (len == 0)
        return;
    if (sc->truncate > 0 && sim_device_random(d) < sc->truncate)
        out->cut_at = (uint64_t)(sim_device_random(d) * (double)len);
    if (frame && sc->corrupt > 0 && sim_device_random(d) < sc->corrupt) {
        out->flip_at = (uint64_t)(sim_device_random(d) * (double)len);
        out->flip_mask = (uint8_t)(1u << (unsigned)(sim_device_random(d) * 8));
    }
}

bool sim_faults_slow(const struct sim_scenario *sc, uint32_t index)
{
    if (sc->slow_link <= 0)
        return false;
    /* a hash of (seed, index), not the device's random state: fixed for the run */
    uint64_t x = (sc->seed + 0x51u) * 0x9E3779B97F4A7C15u ^ ((uint64_t)index * 0xBF58476D1CE4E5B9u);
    x ^= x >> 31;
    x *= 0x94D049BB133111EBu;
    x ^= x >> 29;
    return (double)(x >> 11) / 9007199254740992.0 < sc->slow_link;
}

uint64_t sim_faults_delay_ms(const struct sim_scenario *sc, const struct sim_device *d,
                             uint64_t len)
{
    if (sc->wall_clock || sc->slow_link_bps == 0 || !sim_faults_slow(sc, d->index))
        return 0;
    return len * 1000 / sc->slow_link_bps;
}
