/* The simulator's event loop (run.h): a ready ring, a wake-up heap and the
 * multi handle's finished transfers, one core stepped at a time. Faults
 * are injected here: a power cut armed when an update is announced (it
 * hits a later flash operation, torn or not), answers dropped at random.
 * A core that stops on a power cut is powered on again: bootloader, then
 * a fresh core, exactly as a device reboots. */
#include "run.h"
#include "move.h"
#include "report.h"

#include <nobrick/alloc.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t sim_run_wall_ms(const struct sim_run *r)
{
    return mono_ms() - r->start_wall_ms;
}

uint64_t sim_run_now_ms(const struct sim_run *r)
{
    return r->fleet->clock.wall ? mono_ms() : r->fleet->clock.now_ms;
}

/* ---- ready ring and wake-up heap ----------------------------------------- */

static void ready_push(struct sim_run *r, struct sim_device *d)
{
    r->ready[(r->ready_head + r->n_ready++) % r->fleet->n] = d->index;
}

static struct sim_device *ready_pop(struct sim_run *r)
{
    struct sim_device *d = &r->fleet->dev[r->ready[r->ready_head]];
    r->ready_head = (r->ready_head + 1) % r->fleet->n;
    r->n_ready--;
    return d;
}

static void heap_push(struct sim_run *r, uint64_t at, struct sim_device *d)
{
    size_t i = r->n_heap++;
    while (i > 0 && r->heap[(i - 1) / 2].at_ms > at) {
        r->heap[i] = r->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    r->heap[i] = (struct sim_wake){at, d->index};
}

static struct sim_wake heap_pop(struct sim_run *r)
{
    struct sim_wake top = r->heap[0], last = r->heap[--r->n_heap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= r->n_heap)
            break;
        if (c + 1 < r->n_heap && r->heap[c + 1].at_ms < r->heap[c].at_ms)
            c++;
        if (r->heap[c].at_ms >= last.at_ms)
            break;
        r->heap[i] = r->heap[c];
        i = c;
    }
    if (r->n_heap > 0)
        r->heap[i] = last;
    return top;
}

/* ---- one device ----------------------------------------------------------- */

static void settle(struct sim_run *r, struct sim_device *d)
{
    if (!d->settled)
        r->settled++;
    d->settled = true;
}

static void on_event(void *ctx, const struct nb_agent_event *ev)
{
    struct sim_device *d = ctx;
    struct sim_run *r = d->driver;
    const struct sim_scenario *sc = r->sc;
    if (ev->kind == NB_AGENT_EV_AVAILABLE) {
        d->last_frame_first = 0;
        d->reached = true;
        if (!d->cut_done && sc->power_cut > 0 && sim_device_random(d) < sc->power_cut) {
            d->cut_done = true;
            r->cuts_armed++;
            uint64_t n = (uint64_t)(sim_device_random(d) * sc->cut_window);
            nb_flash_mem_cut_after(d->mem, n, sc->tear, d->rng);
        }
    } else if (ev->kind == NB_AGENT_EV_SUCCEEDED && r->target[0] != '\0' &&
               strcmp(ev->version, r->target) == 0 && d->outcome == SIM_PENDING) {
        d->outcome = SIM_UPDATED;
        d->outcome_checkins = d->checkins;
        d->updated_at_ms = sim_run_now_ms(r) - r->deploy_at_ms;
    } else if (ev->kind == NB_AGENT_EV_FAILED && ev->retry_in_s == 0 &&
               !nb_flash_mem_power_lost(d->mem) && r->target[0] != '\0' &&
               d->outcome == SIM_PENDING) {
        /* a power cut's flash failure is not an outcome: the device reboots */
        d->outcome =
            ev->code == NB_EHEALTH || ev->code == NB_EBOOT_VERIFY ? SIM_ROLLED_BACK : SIM_FAILED;
        d->outcome_checkins = d->checkins;
    }
}

/* The health checks of the image d booted, as its release declares. */
static bool healthy(struct sim_run *r, struct sim_device *d)
{
    struct nb_bootctl bc;
    const char *version = "";
    struct nb_boot_control ctl = nb_bootctl_flash_control(&d->bcf);
    if (nb_boot_control_load(&ctl, &bc, NULL) == NB_OK)
        version = bc.slot[d->running].version;
    const struct sim_release *rel = sim_fleet_release(r->fleet, version);
    if (rel == NULL)
        return true;
    const char *rev = sim_device_revision(r->fleet, d);
    for (size_t i = 0; i < rel->n_fail_revisions; i++)
        if (strcmp(rel->fail_revisions[i], rev) == 0)
            return false;
    return sim_device_random(d) >= rel->health_fail;
}

static void power_cycle(struct sim_run *r, struct sim_device *d)
{
    sim_device_power_off(d);
    if (!sim_device_power_on(r->fleet, d)) {
        settle(r, d); /* bricked */
        return;
    }
    heap_push(r, sim_run_now_ms(r) + (uint64_t)r->sc->boot_s * 1000, d);
}

static bool submit(struct sim_run *r, struct sim_device *d, const struct nb_agent_request *q)
{
    if (q->range && strcmp(nb_agent_state_name(d->agent), "frame") == 0) {
        r->frames++;
        if (d->last_frame_first != 0 && q->range_first <= d->last_frame_first)
            r->frames_refetched++;
        d->last_frame_first = q->range_first;
    }
    d->checkin_pending = strcmp(nb_agent_state_name(d->agent), "check-in") == 0;
    d->server_pending = sim_move_server_of(r->sc, q->path);
    if (sim_net_submit(r->net, q, d) != NB_OK)
        return false;
    d->in_flight = true;
    return true;
}

/* Steps d until it waits on something: a request, a wake-up, a reboot. */
static void drive(struct sim_run *r, struct sim_device *d)
{
    for (int guard = 0; guard < 64; guard++) {
        struct nb_agent_action act;
        if (nb_agent_step(d->agent, &act) != NB_OK)
            act.what = NB_AGENT_DONE;
        if (act.what == NB_AGENT_HTTP) {
            if (submit(r, d, &act.req))
                return;
            struct nb_agent_response fail = {.err = NB_EIO};
            nb_agent_on_response(d->agent, &fail);
        } else if (act.what == NB_AGENT_WAIT) {
            heap_push(r, act.until_ms, d);
            return;
        } else if (act.what == NB_AGENT_HEALTH) {
            bool ok = healthy(r, d);
            r->fleet->health_failures += !ok;
            nb_agent_on_health(d->agent, ok, ok ? NULL : "simulated health check failed");
        } else if (act.what == NB_AGENT_REBOOT) {
            power_cycle(r, d);
            return;
        } else {
            if (nb_flash_mem_power_lost(d->mem)) {
                r->fleet->power_cuts++;
                power_cycle(r, d);
                return;
            }
            if (r->fleet->verbose)
                fprintf(stderr, "dev %u: the agent stopped (%s)\n", (unsigned)d->index,
                        nb_errname(act.result));
            sim_device_power_off(d);
            r->stopped++;
            settle(r, d);
            return;
        }
    }
    heap_push(r, sim_run_now_ms(r) + 1000, d); /* a core that never waits: slow it */
}

static void on_done(void *ctx, void *owner, const struct nb_agent_response *resp)
{
    struct sim_run *r = ctx;
    struct sim_device *d = owner;
    struct nb_agent_response lost = {.err = NB_EIO};
    d->in_flight = false;
    if (r->sc->drop_response > 0 && sim_device_random(d) < r->sc->drop_response) {
        r->dropped++;
        resp = &lost;
    }
    if (resp->err == NB_OK && resp->status < 500)
        d->server = d->server_pending;
    if (d->checkin_pending && resp->err == NB_OK && resp->status == 200) {
        if (d->checkins++ == 0)
            r->enrolled++;
        if (d->outcome != SIM_PENDING && d->checkins > d->outcome_checkins)
            settle(r, d);
    }
    nb_agent_on_response(d->agent, resp);
    ready_push(r, d);
}

/* ---- the loop --------------------------------------------------------- */

enum nb_err sim_run_init(struct sim_run *r, struct sim_fleet *f, struct sim_net *net)
{
    memset(r, 0, sizeof *r);
    r->fleet = f;
    r->sc = f->sc;
    r->net = net;
    r->heap = nb_calloc(f->n, sizeof *r->heap);
    r->ready = nb_calloc(f->n, sizeof *r->ready);
    r->start_wall_ms = mono_ms();
    f->event = on_event;
    if (f->clock.wall)
        f->clock.now_ms = mono_ms();
    return r->heap != NULL && r->ready != NULL ? NB_OK : NB_ENOMEM;
}

void sim_run_fini(struct sim_run *r)
{
    nb_free(r->heap);
    nb_free(r->ready);
}

void sim_run_boot(struct sim_run *r, struct sim_device *d)
{
    d->driver = r;
    if (sim_device_power_on(r->fleet, d))
        ready_push(r, d);
    else
        settle(r, d);
}

void sim_run_boot_all(struct sim_run *r)
{
    for (uint32_t i = 0; i < r->fleet->n; i++)
        if (!r->fleet->dev[i].offline)
            sim_run_boot(r, &r->fleet->dev[i]);
}

/* Devices whose wake-up has come become ready; in virtual time, with
 * nothing else to do, the clock first jumps to the soonest. */
static void wake(struct sim_run *r)
{
    struct sim_fleet *f = r->fleet;
    if (!f->clock.wall && r->n_ready == 0 && sim_net_in_flight(r->net) == 0 && r->n_heap > 0 &&
        r->heap[0].at_ms > f->clock.now_ms)
        f->clock.now_ms = r->heap[0].at_ms;
    uint64_t now = sim_run_now_ms(r);
    if (f->clock.wall && r->n_ready == 0 && sim_net_in_flight(r->net) == 0 && r->n_heap > 0 &&
        r->heap[0].at_ms > now) {
        uint64_t ms = r->heap[0].at_ms - now < 50 ? r->heap[0].at_ms - now : 50;
        struct timespec ts = {0, (long)ms * 1000000L};
        (void)nanosleep(&ts, NULL);
        now = sim_run_now_ms(r);
    }
    while (r->n_heap > 0 && r->heap[0].at_ms <= now)
        ready_push(r, &f->dev[heap_pop(r).dev]);
}

static bool limits_reached(const struct sim_run *r)
{
    uint64_t virt = sim_run_now_ms(r) - (r->fleet->clock.wall ? r->start_wall_ms : 0);
    return virt / 1000 >= r->sc->max_virtual_s || sim_run_wall_ms(r) / 1000 >= r->sc->max_wall_s;
}

bool sim_run_until(struct sim_run *r, bool (*until)(const struct sim_run *r))
{
    while (!until(r)) {
        if (limits_reached(r) ||
            (r->n_ready == 0 && r->n_heap == 0 && sim_net_in_flight(r->net) == 0))
            return false;
        while (r->n_ready > 0) {
            struct sim_device *d = ready_pop(r);
            if (d->agent != NULL)
                drive(r, d);
        }
        (void)sim_net_run(r->net, sim_net_in_flight(r->net) > 0 ? 50 : 0, on_done, r);
        wake(r);
        if (!r->quiet && sim_run_wall_ms(r) >= r->last_progress_ms + 1000) {
            r->last_progress_ms = sim_run_wall_ms(r);
            sim_report_progress(r);
        }
    }
    return true;
}
