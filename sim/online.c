/* Online patterns (online.h). Device i sits at frac(i * 0.618... + a
 * seed-derived phase) in [0, 1), and pattern k holds the devices whose spot
 * falls in its slice of the cumulative shares: any share of the fleet
 * gets that many devices within a few, spread across the hardware classes
 * and revisions (which go round-robin by index). */
#include "online.h"

#define GOLDEN64 UINT64_C(0x9E3779B97F4A7C15) /* 2^64 / the golden ratio */

void sim_online_assign(struct sim_fleet *f)
{
    const struct sim_scenario *sc = f->sc;
    uint64_t phase = sc->seed * UINT64_C(0xBF58476D1CE4E5B9);
    for (uint32_t i = 0; i < f->n; i++) {
        /* frac(i * 0.618... + phase) in 64-bit fixed point: wraps by itself */
        double spot = (double)((i * GOLDEN64 + phase) >> 11) / 9007199254740992.0, at = 0;
        f->dev[i].online = SIM_ALWAYS_ONLINE;
        for (size_t k = 0; k < sc->n_online; k++) {
            at += sc->online[k].share;
            if (spot < at) {
                f->dev[i].online = (uint8_t)k;
                break;
            }
        }
    }
}

bool sim_online_reachable(const struct sim_fleet *f, struct sim_device *d, uint64_t now_ms,
                          uint64_t plan_ms)
{
    if (d->online == SIM_ALWAYS_ONLINE || plan_ms == UINT64_MAX || now_ms < plan_ms)
        return true;
    const struct sim_online *p = &f->sc->online[d->online];
    uint64_t t_ms = now_ms - plan_ms;
    if (p->offline_for_s > 0)
        return t_ms < p->offline_from_s * 1000 ||
               t_ms >= (p->offline_from_s + p->offline_for_s) * 1000;
    if (now_ms >= d->window_end_ms) {
        d->window_online = sim_device_random(d) < p->online_p;
        d->window_end_ms = now_ms + (uint64_t)f->sc->poll_interval_s * 1000;
    }
    return d->window_online;
}

const char *sim_online_kind(const struct sim_fleet *f, const struct sim_device *d)
{
    if (d->online == SIM_ALWAYS_ONLINE)
        return "always";
    return f->sc->online[d->online].offline_for_s > 0 ? "offline" : "intermittent";
}
