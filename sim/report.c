/* The progress line and the JSON summary of nobrick-sim (report.h). The
 * final state of each device is not taken from what its agent said but
 * found again: the bootloader policy (nb_boot_run) runs on a copy of its
 * flash (flash_mem clones cost a sector table), and a device with nothing
 * bootable is bricked. */
#include "report.h"
#include "online.h"
#include "move.h"

#include <nobrick/alloc.h>

#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[] = {"pending", "updated", "failed", "rolled_back",
                                            "bricked"};

void sim_report_progress(const struct sim_run *r, bool final)
{
    uint32_t n[5] = {0};
    struct sim_net_stats st;
    for (uint32_t i = 0; i < r->fleet->n; i++)
        n[r->fleet->dev[i].outcome]++;
    sim_net_stats(r->net, &st);
    uint64_t virt_s = (sim_run_now_ms(r) - (r->fleet->clock.wall ? r->start_wall_ms : 0)) / 1000;
    fprintf(stderr,
            "%ssim: %lluh%02llum virtual, %llus wall | %u devices, %u enrolled | updated %u, "
            "failed %u, rolled back %u, bricked %u, reached %u | %s%sin flight %zu | %llu "
            "requests, %.1f MB%s",
            r->tty ? "\r" : "", (unsigned long long)(virt_s / 3600),
            (unsigned long long)(virt_s / 60 % 60), (unsigned long long)(sim_run_wall_ms(r) / 1000),
            (unsigned)r->fleet->n, (unsigned)r->enrolled, n[SIM_UPDATED], n[SIM_FAILED],
            n[SIM_ROLLED_BACK], n[SIM_BRICKED], (unsigned)r->reached, r->plan_note,
            r->plan_note[0] != '\0' ? " | " : "", sim_net_in_flight(r->net),
            (unsigned long long)st.requests, (double)st.bytes_down / 1e6,
            !r->tty ? "\n"
            : final ? "\033[K\n"
                    : "\033[K");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Seconds from the deployment until pct % of the fleet had updated, or
 * null when that many never did. */
static json_t *time_to(const uint64_t *sorted, uint32_t n_updated, uint32_t fleet, unsigned pct)
{
    uint64_t need = ((uint64_t)fleet * pct + 99) / 100;
    if (need == 0 || need > n_updated)
        return json_null();
    return json_real((double)sorted[need - 1] / 1000.0);
}

static json_t *timing(const struct sim_run *r, uint32_t n_updated)
{
    uint64_t *t = nb_calloc(n_updated + 1u, sizeof *t);
    uint32_t k = 0;
    for (uint32_t i = 0; t != NULL && i < r->fleet->n; i++)
        if (r->fleet->dev[i].outcome == SIM_UPDATED)
            t[k++] = r->fleet->dev[i].updated_at_ms;
    if (t != NULL)
        qsort(t, k, sizeof *t, cmp_u64);
    json_t *o = json_object();
    json_object_set_new(o, "time_to_50_s", t ? time_to(t, k, r->fleet->n, 50) : json_null());
    json_object_set_new(o, "time_to_90_s", t ? time_to(t, k, r->fleet->n, 90) : json_null());
    json_object_set_new(o, "time_to_99_s", t ? time_to(t, k, r->fleet->n, 99) : json_null());
    nb_free(t);
    return o;
}

static void bump(json_t *o, const char *key)
{
    json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + 1));
}

static json_t *memory(const struct sim_run *r)
{
    struct nb_flash_mem_store_usage su;
    uint64_t dev_bytes = 0;
    nb_flash_mem_store_usage(r->fleet->store, &su);
    for (uint32_t i = 0; i < r->fleet->n; i++) {
        struct nb_flash_mem_usage u;
        nb_flash_mem_usage(r->fleet->dev[i].mem, &u);
        dev_bytes += u.bytes;
    }
    return json_pack("{s:I, s:I, s:I, s:I}", "flash_devices_bytes", (json_int_t)dev_bytes,
                     "flash_shared_bytes", (json_int_t)su.bytes, "flash_shared_sectors",
                     (json_int_t)su.sectors, "flash_bytes_per_device",
                     (json_int_t)(dev_bytes / (r->fleet->n ? r->fleet->n : 1)));
}

/* Versions and states found on the devices' flash; counts[] by outcome;
 * reverted: devices that committed the target and boot another version now
 * (a rollback took them back). */
static json_t *versions(const struct sim_run *r, uint32_t counts[5], uint32_t *unreached,
                        uint32_t *reverted)
{
    json_t *v = json_object();
    for (uint32_t i = 0; i < r->fleet->n; i++) {
        struct sim_device *d = &r->fleet->dev[i];
        char version[NB_BOOTCTL_VERSION_MAX + 1];
        if (sim_device_probe(r->fleet, d, version) != NB_OK)
            d->outcome = SIM_BRICKED;
        else {
            bump(v, version);
            *reverted += d->outcome == SIM_UPDATED && strcmp(version, r->target) != 0;
        }
        counts[d->outcome]++;
        *unreached += d->outcome == SIM_PENDING && !d->reached;
    }
    return v;
}

/* Devices per kind of online pattern. */
static json_t *online(const struct sim_run *r)
{
    json_t *o = json_pack("{s:i, s:i, s:i}", "always", 0, "intermittent", 0, "offline", 0);
    for (uint32_t i = 0; i < r->fleet->n; i++)
        bump(o, sim_online_kind(r->fleet, &r->fleet->dev[i]));
    return o;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

/* Check-ins (answered, refused with 429/503, failed in transport), their
 * rate over the run's wall time and latency; the network faults that
 * happened; the process's peak RSS. */
static void add_load(const struct sim_run *r, json_t *s, uint64_t end_wall_ms)
{
    struct sim_net_stats st;
    struct rusage ru;
    const struct sim_latency *l = sim_net_latency(r->net);
    double window_s = (double)(end_wall_ms - r->boot_wall_ms) / 1000.0;
    sim_net_stats(r->net, &st);
    json_object_set_new(s, "checkins",
                        json_pack("{s:I, s:I, s:I, s:f, s:f}", "ok", (json_int_t)r->checkins_ok,
                                  "refused", (json_int_t)r->checkins_refused, "failed",
                                  (json_int_t)r->checkins_failed, "window_s", window_s, "per_s",
                                  window_s > 0 ? (double)r->checkins_ok / window_s : 0.0));
    json_object_set_new(s, "latency",
                        json_pack("{s:I, s:f, s:f, s:f, s:f}", "count", (json_int_t)l->count,
                                  "p50_ms", ms(sim_latency_percentile(l, 50)), "p99_ms",
                                  ms(sim_latency_percentile(l, 99)), "max_ms", ms(l->max_us),
                                  "mean_ms", l->count ? ms(l->sum_us / l->count) : 0.0));
    json_t *faults = json_object_get(s, "faults");
    json_object_set_new(faults, "answers_truncated", json_integer((json_int_t)st.truncated));
    json_object_set_new(faults, "frames_corrupted", json_integer((json_int_t)st.corrupted));
    json_t *mem = json_object_get(s, "memory");
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        json_object_set_new(mem, "peak_rss_bytes", json_integer((json_int_t)ru.ru_maxrss * 1024));
    json_object_set_new(mem, "curl_handles_peak", json_integer((json_int_t)st.peak_handles));
}

json_t *sim_report_summary(const struct sim_run *r, int64_t deployment_id, json_t *server_counts,
                           json_t *rollout, bool *ok)
{
    uint32_t counts[5] = {0}, unreached = 0, reverted = 0;
    struct sim_net_stats st;
    const struct sim_fleet *f = r->fleet;
    uint64_t end_wall_ms = sim_run_wall_ms(r); /* before the probes, which boot every device */
    json_t *v = versions(r, counts, &unreached, &reverted);
    json_t *states = json_object();
    for (int i = 0; i < 5; i++)
        json_object_set_new(states, outcome_names[i], json_integer(counts[i]));
    sim_net_stats(r->net, &st);
    uint64_t virt_ms = sim_run_now_ms(r) - (f->clock.wall ? r->start_wall_ms : 0);
    json_t *s = json_pack(
        "{s:I, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I}, s:f, s:f, s:I, s:o?, s:o}",
        "devices", (json_int_t)f->n, "target_version", r->target, "versions", v, "states", states,
        "bricked", (json_int_t)counts[SIM_BRICKED], "failed", (json_int_t)counts[SIM_FAILED],
        "rolled_back", (json_int_t)counts[SIM_ROLLED_BACK], "unreached", (json_int_t)unreached,
        "updated", (json_int_t)counts[SIM_UPDATED], "timing", timing(r, counts[SIM_UPDATED]),
        "traffic", "requests", (json_int_t)st.requests, "transport_failures",
        (json_int_t)st.failures, "bytes_served", (json_int_t)st.bytes_down, "bytes_sent",
        (json_int_t)st.bytes_up, "frames", (json_int_t)r->frames, "frame_requests",
        (json_int_t)r->frame_requests, "frame_refetches", (json_int_t)r->frame_refetches, "faults",
        "power_cuts_armed", (json_int_t)r->cuts_armed, "power_cuts", (json_int_t)f->power_cuts,
        "responses_dropped", (json_int_t)r->dropped, "health_failures",
        (json_int_t)f->health_failures, "virtual_s", (double)virt_ms / 1000.0, "wall_s",
        (double)sim_run_wall_ms(r) / 1000.0, "deployment_id", (json_int_t)deployment_id,
        "server_counts", json_incref(server_counts), "memory", memory(r));
    double updated = f->n ? (double)counts[SIM_UPDATED] / f->n : 0;
    *ok = counts[SIM_BRICKED] <= r->sc->expect_bricked_max && updated >= r->sc->expect_updated_min;
    sim_move_report(r, s, ok);
    if (s != NULL) {
        add_load(r, s, end_wall_ms);
        json_object_set_new(s, "expectations_met", json_boolean(*ok));
        json_object_set_new(s, "reached", json_integer(r->reached));
        json_object_set_new(s, "withdrawn", json_integer(r->withdrawn));
        json_object_set_new(s, "reverted", json_integer(reverted));
        json_object_set_new(s, "online", online(r));
        json_object_set_new(s, "rollout", rollout != NULL ? json_incref(rollout) : json_null());
        json_t *faults = json_object_get(s, "faults"), *traffic = json_object_get(s, "traffic");
        json_object_set_new(faults, "boot_crashes", json_integer((json_int_t)f->boot_crashes));
        json_object_set_new(faults, "boot_hangs", json_integer((json_int_t)f->boot_hangs));
        json_object_set_new(traffic, "offline_refusals",
                            json_integer((json_int_t)r->offline_refusals));
    }
    return s;
}
