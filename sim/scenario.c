/* Reading a scenario file (scenario.h): jansson's strict unpacking ("!":
 * every key of an object must be known) into struct sim_scenario with
 * defaults, then range checks that name the field. Paths are resolved
 * against the scenario's directory. */
#include "scenario.h"
#include "move.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static enum nb_err bad(struct nb_diag *diag, const char *what, const json_error_t *e)
{
    return nb_diag_set(diag, NB_EPARSE, "scenario: %s: %s", what, e != NULL ? e->text : "invalid");
}

static bool copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;
    if (n >= cap)
        return false;
    memcpy(dst, src != NULL ? src : "", n + 1);
    return true;
}

/* A path from the scenario: absolute as it is, else below its directory. */
static bool resolve(const struct sim_scenario *s, char *dst, size_t cap, const char *path)
{
    /* memcpy, not snprintf: dst and s->dir are fields of one object, which
     * GCC's -Wrestrict (at -O2) cannot tell apart. */
    size_t dl = path[0] == '/' ? 0 : strlen(s->dir) + 1, pl = strlen(path);
    if (pl == 0 || dl + pl >= cap)
        return false;
    if (dl > 0) {
        memcpy(dst, s->dir, dl - 1);
        dst[dl - 1] = '/';
    }
    memcpy(dst + dl, path, pl + 1);
    return true;
}

/* An array of short names into names[max]. */
static bool names(const json_t *a, char (*out)[SIM_NAME_MAX + 1], size_t max, size_t *n)
{
    *n = 0;
    if (a == NULL)
        return true;
    if (!json_is_array(a) || json_array_size(a) > max)
        return false;
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!copy_str(out[(*n)++], SIM_NAME_MAX + 1, json_string_value(json_array_get(a, i))) ||
            out[i][0] == '\0')
            return false;
    return true;
}

static enum nb_err load_classes(struct sim_scenario *s, const json_t *a, struct nb_diag *diag)
{
    json_error_t e;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > SIM_MAX_CLASSES)
        return bad(diag, "fleet.hw_classes: 1 to 8 classes", NULL);
    for (size_t i = 0; i < json_array_size(a); i++) {
        struct sim_hw_class *c = &s->classes[s->n_classes++];
        const char *name = NULL;
        json_t *revs = NULL;
        json_int_t weight = 1;
        if (json_unpack_ex(json_array_get(a, i), &e, 0, "{s:s, s?o, s?I !}", "name", &name,
                           "revisions", &revs, "weight", &weight) != 0)
            return bad(diag, "fleet.hw_classes", &e);
        if (!copy_str(c->name, sizeof c->name, name) ||
            !names(revs, c->revisions, SIM_MAX_REVISIONS, &c->n_revisions))
            return bad(diag, "fleet.hw_classes: name or revisions", NULL);
        if (c->n_revisions == 0)
            c->n_revisions = copy_str(c->revisions[0], SIM_NAME_MAX + 1, "r1") ? 1 : 0;
        if (weight < 1 || weight > 1000000)
            return bad(diag, "fleet.hw_classes.weight: 1..1000000", NULL);
        c->weight = (uint32_t)weight;
    }
    return NB_OK;
}

/* fleet.online: [{"share", "online_p"} | {"share", "offline_from_s"?, "offline_for_s"}]. */
static enum nb_err load_online(struct sim_scenario *s, const json_t *a, struct nb_diag *diag)
{
    json_error_t e;
    double total = 0;
    if (a == NULL)
        return NB_OK;
    if (!json_is_array(a) || json_array_size(a) > SIM_MAX_ONLINE)
        return bad(diag, "fleet.online: up to 4 patterns", NULL);
    for (size_t i = 0; i < json_array_size(a); i++) {
        struct sim_online *p = &s->online[s->n_online++];
        json_int_t from = 0, len = 0;
        p->online_p = -1;
        if (json_unpack_ex(json_array_get(a, i), &e, 0, "{s:F, s?F, s?I, s?I !}", "share",
                           &p->share, "online_p", &p->online_p, "offline_from_s", &from,
                           "offline_for_s", &len) != 0)
            return bad(diag, "fleet.online", &e);
        total += p->share;
        bool intermittent = p->online_p >= 0;
        if (p->share <= 0 || total > 1.000001 || intermittent == (len > 0) ||
            (intermittent && (p->online_p > 1 || from != 0)) || from < 0 || len < 0 ||
            from > 365 * 86400 || len > 365 * 86400)
            return bad(diag,
                       "fleet.online: each pattern a share (in all at most 1) and either "
                       "online_p (0..1) or offline_for_s (> 0) with offline_from_s",
                       NULL);
        p->online_p = intermittent ? p->online_p : 0;
        p->offline_from_s = (uint64_t)from;
        p->offline_for_s = (uint64_t)len;
    }
    return NB_OK;
}

static enum nb_err load_fleet(struct sim_scenario *s, const json_t *o, struct nb_diag *diag)
{
    json_error_t e;
    json_int_t count = 0, slot = 1 << 20, meta = 0, es = 4096, ws = 16, poll = 900, jitter = 180,
               skew = 0, boot = 30, watchdog = 60, group_size = 0;
    const char *group = "sim";
    json_t *classes = NULL, *online = NULL;
    if (json_unpack_ex((json_t *)o, &e, 0,
                       "{s:I, s?s, s:o, s?I, s?I, s?I, s?I, s?I, s?I, s?I, s?I, s?I, s?o, s?I !}",
                       "count", &count, "group", &group, "hw_classes", &classes, "slot_size", &slot,
                       "meta_size", &meta, "erase_size", &es, "write_size", &ws, "poll_interval_s",
                       &poll, "poll_jitter_s", &jitter, "clock_offset_max_s", &skew, "boot_s",
                       &boot, "watchdog_s", &watchdog, "online", &online, "group_size",
                       &group_size) != 0)
        return bad(diag, "fleet", &e);
    if (count < 1 || count > 10000000 || slot < 4096 || meta < 0 || meta > (1 << 24) || es < 512 ||
        es > (1 << 20) || ws < 1 || ws > es || poll < 1 || poll > 7 * 86400 || jitter < 0 ||
        jitter > 86400 || skew < 0 || skew > 86400 * 365 || boot < 0 || boot > 3600 ||
        watchdog < 1 || watchdog > 3600)
        return bad(diag, "fleet: a number out of range (docs/simulator.md)", NULL);
    if (!copy_str(s->group, sizeof s->group, group))
        return bad(diag, "fleet.group", NULL);
    /* the server's group deployments assign at most 1000 devices (docs/api.md) */
    if (group_size < 0 || group_size > 1000 || (group_size > 0 && strlen(group) > 52))
        return bad(diag, "fleet.group_size: 0..1000, with a group name of at most 52 characters",
                   NULL);
    s->group_size = (uint32_t)group_size;
    s->count = (uint32_t)count;
    s->slot_size = (uint64_t)slot;
    s->meta_size = (uint32_t)meta;
    s->erase_size = (uint32_t)es;
    s->write_size = (uint32_t)ws;
    s->poll_interval_s = (uint32_t)poll;
    s->poll_jitter_s = (uint32_t)jitter;
    s->clock_offset_max_s = (uint32_t)skew;
    s->boot_s = (uint32_t)boot;
    s->watchdog_s = (uint32_t)watchdog;
    enum nb_err err = load_online(s, online, diag);
    return err == NB_OK ? load_classes(s, classes, diag) : err;
}

static enum nb_err load_faults(struct sim_scenario *s, const json_t *o, struct nb_diag *diag)
{
    json_error_t e;
    json_int_t window = 100, bps = 16384;
    int tear = 1;
    s->tear = true;
    s->slow_link_bps = (uint64_t)bps;
    if (o == NULL)
        return NB_OK;
    if (json_unpack_ex((json_t *)o, &e, 0, "{s?F, s?I, s?b, s?F, s?F, s?F, s?F, s?I !}",
                       "power_cut_during_install", &s->power_cut, "cut_window_ops", &window, "tear",
                       &tear, "drop_response", &s->drop_response, "truncate", &s->truncate,
                       "corrupt", &s->corrupt, "slow_link", &s->slow_link, "slow_link_bps",
                       &bps) != 0)
        return bad(diag, "faults", &e);
    if (s->power_cut < 0 || s->power_cut > 1 || s->drop_response < 0 || s->drop_response > 0.5 ||
        window < 1 || window > 1000000)
        return bad(diag, "faults: probabilities in 0..1 (drop_response 0..0.5), window >= 1", NULL);
    /* past 0.5 a frame fails its retries too often for an update to finish */
    if (s->truncate < 0 || s->truncate > 0.5 || s->corrupt < 0 || s->corrupt > 0.5 ||
        s->slow_link < 0 || s->slow_link > 1 || bps < 1024 || bps > (1LL << 40))
        return bad(diag,
                   "faults: truncate and corrupt in 0..0.5, slow_link in 0..1, "
                   "slow_link_bps >= 1024",
                   NULL);
    s->cut_window = (uint32_t)window;
    s->tear = tear != 0;
    s->slow_link_bps = (uint64_t)bps;
    return NB_OK;
}

static bool misbehaviour(struct sim_misbehaviour *m, const json_t *revisions)
{
    return m->p >= 0 && m->p <= 1 &&
           names(revisions, m->revisions, SIM_MAX_REVISIONS, &m->n_revisions);
}

static enum nb_err load_releases(struct sim_scenario *s, const json_t *a, struct nb_diag *diag)
{
    json_error_t e;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > SIM_MAX_RELEASES)
        return bad(diag, "releases: 1 to 4 releases", NULL);
    for (size_t i = 0; i < json_array_size(a); i++) {
        struct sim_release *r = &s->releases[s->n_releases++];
        const char *bundle = NULL;
        json_t *health = NULL, *crash = NULL, *hang = NULL;
        if (json_unpack_ex(json_array_get(a, i), &e, 0, "{s:s, s?F, s?o, s?F, s?o, s?F, s?o !}",
                           "bundle", &bundle, "health_fail", &r->health.p, "health_fail_revisions",
                           &health, "boot_crash", &r->crash.p, "boot_crash_revisions", &crash,
                           "boot_hang", &r->hang.p, "boot_hang_revisions", &hang) != 0)
            return bad(diag, "releases", &e);
        if (!resolve(s, r->bundle, sizeof r->bundle, bundle))
            return bad(diag, "releases: bundle", NULL);
        if (!misbehaviour(&r->health, health) || !misbehaviour(&r->crash, crash) ||
            !misbehaviour(&r->hang, hang))
            return bad(diag,
                       "releases: health_fail, boot_crash, boot_hang (0..1) or their "
                       "_revisions (up to 8 names)",
                       NULL);
    }
    return NB_OK;
}

/* The plan: plan.deploy, and plan.rollout (kept as text: the simulator
 * adds release_id and the canary) with plan.canary_count, plan.tick_s. */
static enum nb_err load_plan(struct sim_scenario *s, const json_t *plan, struct nb_diag *diag)
{
    json_error_t e;
    json_t *ro = NULL;
    json_int_t deploy = 0, canary = 0, tick_s = 600;
    s->tick_s = 600;
    if (plan == NULL)
        return NB_OK;
    if (json_unpack_ex((json_t *)plan, &e, 0, "{s?I, s?o, s?I, s?I !}", "deploy", &deploy,
                       "rollout", &ro, "canary_count", &canary, "tick_s", &tick_s) != 0)
        return bad(diag, "plan", &e);
    s->no_deploy = deploy == -1; /* a load run: nothing deployed, the fleet polls */
    deploy = s->no_deploy ? 0 : deploy;
    if (deploy < 0 || (size_t)deploy >= s->n_releases)
        return bad(diag, "plan.deploy: an index in releases, or -1 (nothing: a load run)", NULL);
    s->deploy = (size_t)deploy;
    if (ro == NULL)
        return json_object_size(plan) > (size_t)(json_object_get(plan, "deploy") != NULL)
                   ? bad(diag, "plan: canary_count and tick_s need plan.rollout", NULL)
                   : NB_OK;
    if (!json_is_object(ro) || json_object_get(ro, "release_id") != NULL ||
        json_object_get(ro, "canary") != NULL || json_object_get(ro, "dry_run") != NULL)
        return bad(diag,
                   "plan.rollout: an object, the body of POST /api/v1/rollouts without "
                   "release_id, canary and dry_run (the simulator sets them)",
                   NULL);
    if (canary < 0 || canary > 64 || tick_s < 1 || tick_s > 86400)
        return bad(diag, "plan: canary_count 0..64, tick_s 1..86400", NULL);
    size_t n = json_dumpb(ro, s->rollout_spec, sizeof s->rollout_spec - 1, JSON_COMPACT);
    if (n == 0 || n >= sizeof s->rollout_spec - 1)
        return bad(diag, "plan.rollout: longer than 8 KiB", NULL);
    s->rollout_spec[n] = '\0';
    s->canary_count = (uint32_t)canary;
    s->tick_s = (uint32_t)tick_s;
    return NB_OK;
}

static enum nb_err load_run(struct sim_scenario *s, const json_t *plan, const json_t *run,
                            const json_t *expect, struct nb_diag *diag)
{
    json_error_t e;
    json_int_t max_v = 7 * 86400, max_w = 600, conns = 32, bricked = 0, ramp = 0;
    json_int_t step = 1000;
    const char *mode = "virtual";
    s->expect_updated_min = 0;
    if (load_plan(s, plan, diag) != NB_OK)
        return NB_EPARSE;
    if ((run != NULL &&
         json_unpack_ex((json_t *)run, &e, 0, "{s?s, s?I, s?I, s?I, s?I, s?I !}", "mode", &mode,
                        "max_virtual_s", &max_v, "max_wall_s", &max_w, "connections", &conns,
                        "ramp_s", &ramp, "inflight_step_ms", &step)) ||
        (expect != NULL && json_unpack_ex((json_t *)expect, &e, 0, "{s?I, s?F !}", "bricked_max",
                                          &bricked, "updated_min", &s->expect_updated_min)))
        return bad(diag, "run or expect", &e);
    if (max_v < 1 || max_w < 1 || conns < 1 || conns > 65536 || ramp < 0 || ramp > 86400 ||
        step < 0 || step > SIM_INFLIGHT_STEP_MAX_MS || bricked < 0 || s->expect_updated_min < 0 ||
        s->expect_updated_min > 1 || (strcmp(mode, "virtual") != 0 && strcmp(mode, "wall") != 0))
        return bad(diag,
                   "run (mode virtual|wall, inflight_step_ms 0..10000) or expect out of range",
                   NULL);
    s->wall_clock = strcmp(mode, "wall") == 0;
    s->max_virtual_s = (uint64_t)max_v;
    s->max_wall_s = (uint32_t)max_w;
    s->connections = (uint32_t)conns;
    s->ramp_s = (uint32_t)ramp;
    s->inflight_step_ms = (uint32_t)step;
    s->expect_bricked_max = (uint32_t)bricked;
    return NB_OK;
}

static void set_dir(struct sim_scenario *s, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 0 : (size_t)(slash - path);
    if (slash == NULL || n >= sizeof s->dir)
        (void)copy_str(s->dir, sizeof s->dir, ".");
    else
        (void)snprintf(s->dir, sizeof s->dir, "%.*s", (int)n, path);
}

static enum nb_err load_top(struct sim_scenario *s, json_t *doc, struct nb_diag *diag)
{
    json_error_t e;
    const char *server = "", *token = "", *root = NULL, *factory = NULL;
    json_int_t seed = 1;
    json_t *fleet = NULL, *faults = NULL, *releases = NULL, *plan = NULL, *run = NULL,
           *expect = NULL, *move = NULL;
    if (json_unpack_ex(doc, &e, 0, "{s?s, s?s, s?I, s:s, s:s, s:o, s?o, s:o, s?o, s?o, s?o, s?o !}",
                       "server", &server, "token", &token, "seed", &seed, "root", &root, "factory",
                       &factory, "fleet", &fleet, "faults", &faults, "releases", &releases, "plan",
                       &plan, "run", &run, "expect", &expect, "move", &move) != 0)
        return bad(diag, "top level", &e);
    if (!copy_str(s->server, sizeof s->server, server) ||
        !copy_str(s->token, sizeof s->token, token) || !resolve(s, s->root, sizeof s->root, root) ||
        !resolve(s, s->factory, sizeof s->factory, factory))
        return bad(diag, "server, token, root or factory too long", NULL);
    s->seed = (uint64_t)seed;
    enum nb_err err = load_fleet(s, fleet, diag);
    if (err == NB_OK)
        err = load_faults(s, faults, diag);
    if (err == NB_OK)
        err = load_releases(s, releases, diag);
    if (err == NB_OK)
        err = load_run(s, plan, run, expect, diag);
    if (err == NB_OK)
        err = sim_move_load(s, move, diag);
    return err;
}

enum nb_err sim_scenario_load(const char *path, struct sim_scenario *out, struct nb_diag *diag)
{
    json_error_t e;
    static struct sim_scenario s; /* large: not on the stack */
    memset(&s, 0, sizeof s);
    set_dir(&s, path);
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (doc == NULL)
        return nb_diag_set(diag, NB_EIO, "%s:%d: %s", path, e.line, e.text);
    enum nb_err err = load_top(&s, doc, diag);
    json_decref(doc);
    if (err == NB_OK)
        *out = s;
    return err;
}

bool sim_scenario_str(char *dst, size_t cap, const char *src)
{
    return copy_str(dst, cap, src);
}

bool sim_scenario_path(const struct sim_scenario *s, char *dst, size_t cap, const char *path)
{
    return resolve(s, dst, cap, path);
}
