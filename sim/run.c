/* The simulator's event loop (run.h): a ready ring, a wake-up heap and the
 * multi handle's finished transfers, one core stepped at a time. Faults
 * are injected here: a power cut armed when an update is announced (it
 * hits a later flash operation, torn or not), answers dropped at random.
 * A core that stops on a power cut is powered on again: bootloader, then
 * a fresh core, exactly as a device reboots. */
#include "run.h"
#include "behaviour.h"
#include "faults.h"
#include "online.h"
#include "move.h"
#include "report.h"

#include <nobrick/alloc.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CRASH_LOOP_MAX 64 /* boots in a row that never reach the agent: bricked */
#define PROGRESS_VIRTUAL_MS (6 * 3600 * 1000ull) /* a progress line when not on a tty */
#define PROGRESS_WALL_MS 30000ull                /* ... or after this long */

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
    if (!d->settled) {
        r->settled++;
        r->settled_reached += d->reached;
    }
    d->settled = true;
}

/* The server took d's update back before d installed it (CANCELLED by
 * the server: an aborted rollout cancelled its deployment): d keeps its
 * version and is settled, unless an update reaches it again. */
static void withdraw(struct sim_run *r, struct sim_device *d, bool again)
{
    if (again && d->withdrawn) { /* offered again: not settled after all */
        d->withdrawn = d->settled = false;
        r->withdrawn--;
        r->settled--;
        r->settled_reached--;
    } else if (!again && !d->withdrawn && !d->settled && d->outcome == SIM_PENDING) {
        d->withdrawn = true;
        r->withdrawn++;
        settle(r, d);
    }
}

static void on_event(void *ctx, const struct nb_agent_event *ev)
{
    struct sim_device *d = ctx;
    struct sim_run *r = d->driver;
    const struct sim_scenario *sc = r->sc;
    /* One progress event per frame verified and written from an answer. */
    r->frames += ev->kind == NB_AGENT_EV_PROGRESS && d->frame_pending;
    if (ev->kind == NB_AGENT_EV_CANCELLED && ev->by_server) {
        withdraw(r, d, false);
    } else if (ev->kind == NB_AGENT_EV_AVAILABLE) {
        d->last_frame_last = 0;
        withdraw(r, d, true);
        if (!d->reached) {
            r->reached++;
            r->settled_reached += d->settled;
        }
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

/* A reboot. An image that crashes or hangs at boot never reaches the
 * agent: the device is down until the next power-on (boot_s later, or
 * watchdog_s for a hang), and each of those boots uses up a try of a trial
 * until the bootloader falls back. */
static void power_cycle(struct sim_run *r, struct sim_device *d)
{
    sim_device_power_off(d);
    if (!sim_device_power_on(r->fleet, d)) {
        settle(r, d); /* bricked */
        return;
    }
    enum sim_boot_fate fate = sim_behaviour_boot(r->fleet, d);
    uint64_t delay_s = fate == SIM_BOOT_HANGS ? r->sc->watchdog_s : r->sc->boot_s;
    d->down = fate != SIM_BOOT_RUNS;
    d->crash_loop = d->down ? (uint16_t)(d->crash_loop + 1) : 0;
    if (d->down) {
        sim_device_power_off(d);
        r->fleet->boot_crashes += fate == SIM_BOOT_CRASHES;
        r->fleet->boot_hangs += fate == SIM_BOOT_HANGS;
    }
    if (d->crash_loop > CRASH_LOOP_MAX) { /* a committed image that never starts */
        d->down = false;
        d->outcome = SIM_BRICKED;
        settle(r, d);
        return;
    }
    heap_push(r, sim_run_now_ms(r) + delay_s * 1000, d);
}

static bool submit(struct sim_run *r, struct sim_device *d, const struct nb_agent_request *q)
{
    uint64_t plan_ms = r->target[0] != '\0' ? r->deploy_at_ms : UINT64_MAX;
    if (!sim_online_reachable(r->fleet, d, sim_run_now_ms(r), plan_ms)) {
        r->offline_refusals++; /* the link is down: the request fails at once */
        return false;
    }
    struct sim_net_opts opts;
    bool frame = q->range && strcmp(nb_agent_state_name(d->agent), "frame") == 0;
    /* A frame request asks for a run of frames (fetch_max_bytes): it asks
     * again when it starts inside the previous one's range. */
    d->frame_pending = frame;
    if (frame) {
        r->frame_requests++;
        if (d->last_frame_last != 0 && q->range_first <= d->last_frame_last)
            r->frame_refetches++;
        d->last_frame_last = q->range_last;
    }
    d->checkin_pending = strcmp(nb_agent_state_name(d->agent), "check-in") == 0;
    d->server_pending = sim_move_server_of(r->sc, q->path);
    sim_faults_request(r->sc, d, q, frame, d->checkin_pending, &opts);
    uint64_t now = sim_run_now_ms(r);
    if (!sim_inflight_add(&r->sent, now))
        return false;
    if (sim_net_submit_with(r->net, q, d, &opts) != NB_OK) {
        (void)sim_inflight_remove(&r->sent, now);
        return false;
    }
    r->sent_at_ms[d->index] = now;
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
            bool ok = sim_behaviour_healthy(r->fleet, d);
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
    if (!sim_inflight_remove(&r->sent, r->sent_at_ms[d->index]) && r->fleet->verbose)
        fprintf(stderr, "dev %u: an answer to no request in flight\n", (unsigned)d->index);
    if (r->sc->drop_response > 0 && sim_device_random(d) < r->sc->drop_response) {
        r->dropped++;
        resp = &lost;
    }
    if (d->checkin_pending) {
        r->checkins_refused += resp->err == NB_OK && (resp->status == 429 || resp->status == 503);
        r->checkins_failed += resp->err != NB_OK;
    }
    if (resp->err == NB_OK && resp->status < 500)
        d->server = d->server_pending;
    if (d->checkin_pending && resp->err == NB_OK && resp->status == 200) {
        r->checkins_ok++;
        if (d->checkins++ == 0)
            r->enrolled++;
        if (d->outcome != SIM_PENDING && d->checkins > d->outcome_checkins)
            settle(r, d);
    }
    uint64_t slow_ms = sim_faults_delay_ms(r->sc, d, resp->err == NB_OK ? resp->body_len : 0);
    nb_agent_on_response(d->agent, resp);
    d->frame_pending = false;
    /* What the answer wrote (a frame's sector) joins the shared store now,
     * not at the next reboot: a fleet downloading one release at once
     * holds its sectors once, not once per device. */
    if (nb_flash_mem_share(d->mem) != NB_OK && r->fleet->verbose)
        fprintf(stderr, "dev %u: sharing its flash: out of memory\n", (unsigned)d->index);
    if (slow_ms > 0)
        heap_push(r, sim_run_now_ms(r) + slow_ms, d);
    else
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
    r->sent_at_ms = nb_calloc(f->n, sizeof *r->sent_at_ms);
    r->start_wall_ms = mono_ms();
    r->tick_at_ms = UINT64_MAX;
    r->tty = isatty(STDERR_FILENO) == 1;
    f->event = on_event;
    if (f->clock.wall)
        f->clock.now_ms = mono_ms();
    if (r->heap == NULL || r->ready == NULL || r->sent_at_ms == NULL)
        return NB_ENOMEM;
    return sim_inflight_init(&r->sent, f->n);
}

void sim_run_fini(struct sim_run *r)
{
    nb_free(r->heap);
    nb_free(r->ready);
    nb_free(r->sent_at_ms);
    sim_inflight_fini(&r->sent);
}

void sim_run_boot(struct sim_run *r, struct sim_device *d)
{
    d->driver = r;
    if (sim_device_power_on(r->fleet, d))
        ready_push(r, d);
    else
        settle(r, d);
}

/* Every device boots (its bootloader policy, then its core); then, with
 * run.ramp_s, their cores start spread evenly over that many seconds from
 * now (a load run starts from a fleet whose check-ins are already spread
 * out), else at once. The run's wall limit counts from here: booting
 * 100,000 devices takes minutes. */
void sim_run_boot_all(struct sim_run *r)
{
    for (uint32_t i = 0; i < r->fleet->n; i++) {
        struct sim_device *d = &r->fleet->dev[i];
        d->driver = r;
        if (!d->offline && !sim_device_power_on(r->fleet, d))
            settle(r, d); /* offline: off until a move's switch (move.h) */
    }
    uint64_t now = sim_run_now_ms(r), ramp_ms = (uint64_t)r->sc->ramp_s * 1000;
    r->boot_wall_ms = sim_run_wall_ms(r);
    for (uint32_t i = 0; i < r->fleet->n; i++) {
        struct sim_device *d = &r->fleet->dev[i];
        if (d->agent != NULL && ramp_ms > 0)
            heap_push(r, now + ramp_ms * i / r->fleet->n, d);
        else if (d->agent != NULL)
            ready_push(r, d);
    }
}

void sim_run_set_now(struct sim_run *r, uint64_t now_ms)
{
    struct sim_clock *c = &r->fleet->clock;
    if (now_ms < c->now_ms)
        now_ms = c->now_ms; /* never back: the server's tokens and soak times count on it */
    c->now_ms = now_ms;
    if (r->vclock != NULL)
        sim_vclock_set(r->vclock, c->unix_base_s + (int64_t)(now_ms / 1000));
}

void sim_run_start_plan(struct sim_run *r, const char *version)
{
    (void)snprintf(r->target, sizeof r->target, "%s", version);
    r->deploy_at_ms = sim_run_now_ms(r);
}

/* Where virtual time may jump now (now itself: it may not move): to the
 * soonest wake-up, or the plan's next tick if that comes first; with
 * requests in flight only while the network has room (fewer than
 * run.connections in flight or queued: else the devices wait for it), and
 * no further than run.inflight_step_ms past the oldest one's sending, so
 * that no request takes longer than that in virtual time. */
static uint64_t jump_to(const struct sim_run *r)
{
    uint64_t now = r->fleet->clock.now_ms, to = r->heap[0].at_ms, oldest;
    size_t busy = sim_net_in_flight(r->net);
    if (r->tick_at_ms < to)
        to = r->tick_at_ms;
    if (busy >= r->sc->connections)
        return now;
    if (busy > 0 && !sim_inflight_oldest(&r->sent, &oldest))
        return now; /* never: each request in flight has its send time */
    if (busy > 0 && oldest + r->sc->inflight_step_ms < to)
        to = oldest + r->sc->inflight_step_ms;
    return to > now ? to : now;
}

/* Devices whose wake-up has come become ready; in virtual time, with no
 * device ready, the clock first jumps (jump_to), and the plan's tick runs
 * when its time has come. */
static void wake(struct sim_run *r)
{
    struct sim_fleet *f = r->fleet;
    if (!f->clock.wall && r->n_ready == 0 && r->n_heap > 0 && r->heap[0].at_ms > f->clock.now_ms) {
        uint64_t to = jump_to(r);
        if (to > f->clock.now_ms)
            sim_run_set_now(r, to);
    }
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
    if (r->on_tick != NULL && now >= r->tick_at_ms)
        r->on_tick(r->tick_ctx, r);
}

static bool limits_reached(const struct sim_run *r)
{
    uint64_t virt = sim_run_now_ms(r) - (r->fleet->clock.wall ? r->start_wall_ms : 0);
    /* the wall limit counts from the power-on: setup (provisioning,
     * preauthorisation) is not the run */
    return virt / 1000 >= r->sc->max_virtual_s ||
           (sim_run_wall_ms(r) - r->boot_wall_ms) / 1000 >= r->sc->max_wall_s;
}

/* On a terminal, the line is rewritten every second; else a line every
 * PROGRESS_VIRTUAL_MS of virtual time, or PROGRESS_WALL_MS of real time
 * when virtual time hardly moves (a busy fleet, or wall mode). */
static void progress(struct sim_run *r)
{
    uint64_t wall = sim_run_wall_ms(r), virt = sim_run_now_ms(r);
    bool due = r->tty ? wall >= r->last_progress_ms + 1000
                      : wall >= r->last_progress_ms + PROGRESS_WALL_MS ||
                            (!r->fleet->clock.wall && virt >= r->next_progress_virtual_ms);
    if (r->quiet || !due)
        return;
    r->last_progress_ms = wall;
    r->next_progress_virtual_ms = (virt / PROGRESS_VIRTUAL_MS + 1) * PROGRESS_VIRTUAL_MS;
    sim_report_progress(r, false);
}

static void drive_ready(struct sim_run *r)
{
    while (r->n_ready > 0) {
        struct sim_device *d = ready_pop(r);
        if (d->agent != NULL)
            drive(r, d);
        else if (d->down)
            power_cycle(r, d);
    }
}

/* The devices woken, the network's answers, then the devices answered, so
 * that none is left ready when the clock may jump: with a busy network
 * some answer nearly always comes in, and the clock would stand still. */
bool sim_run_until(struct sim_run *r, bool (*until)(const struct sim_run *r))
{
    while (!until(r)) {
        if (limits_reached(r) ||
            (r->n_ready == 0 && r->n_heap == 0 && sim_net_in_flight(r->net) == 0))
            return false;
        drive_ready(r);
        (void)sim_net_run(r->net, sim_net_in_flight(r->net) > 0 ? 50 : 0, on_done, r);
        drive_ready(r);
        wake(r);
        progress(r);
    }
    return true;
}
