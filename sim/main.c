/* nobrick-sim: N simulated devices, each running the agent core, the
 * install engine and the bootloader policy of libnobrick on its own
 * in-memory flash, against a real nobrick-server (docs/simulator.md). The
 * run: provision the fleet, preauthorise it, let every device enrol and
 * check in once, upload and deploy the plan's release to the fleet's
 * group, run until every device has settled (or a limit), then write the
 * summary; the exit status says whether the scenario's expectations held. */
#include "mgmt.h"
#include "move.h"
#include "online.h"
#include "report.h"
#include "rollout.h"
#include "run.h"
#include "scenario.h"

#include <nobrick/alloc.h>

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "Usage: nobrick-sim SCENARIO.json [--server URL] [--token TOKEN] [--summary FILE]\n"
    "                  [--clock-file FILE] [--quiet] [--verbose]\n\n"
    "Runs the fleet of SCENARIO.json (docs/simulator.md) against a nobrick-server:\n"
    "--server and --token (an operator's API token) override the scenario's.\n"
    "--clock-file: the server's --clock-file, which then follows virtual time\n"
    "(needed for a rollout in virtual time).\n"
    "Writes the JSON summary to FILE (default: stdout); a progress line goes to\n"
    "stderr every second unless --quiet; --verbose logs every agent line.\n"
    "Exit status: 0 the expectations held, 1 they did not, 2 usage, 3 setup failed.\n";

struct opts {
    const char *scenario, *server, *token, *summary, *clock_file;
    bool quiet, verbose;
};

static int parse(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char **val = strcmp(argv[i], "--server") == 0       ? &o->server
                           : strcmp(argv[i], "--token") == 0      ? &o->token
                           : strcmp(argv[i], "--summary") == 0    ? &o->summary
                           : strcmp(argv[i], "--clock-file") == 0 ? &o->clock_file
                                                                  : NULL;
        if (val != NULL && i + 1 < argc)
            *val = argv[++i];
        else if (strcmp(argv[i], "--quiet") == 0)
            o->quiet = true;
        else if (strcmp(argv[i], "--verbose") == 0)
            o->verbose = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (argv[i][0] != '-' && o->scenario == NULL)
            o->scenario = argv[i];
        else {
            fprintf(stderr, "nobrick-sim: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (o->scenario == NULL) {
        fputs(usage, stderr);
        return 2;
    }
    return -1;
}

static bool all_enrolled(const struct sim_run *r)
{
    return r->enrolled + r->settled >= r->fleet->n;
}

static bool all_settled(const struct sim_run *r)
{
    return r->settled >= r->fleet->n;
}

/* A rollout's run ends once it stopped running (and its automatic
 * rollback, if any, is done) and the devices it reached settled; once
 * completed, when every device settled (devices that were offline come
 * back and catch up). */
static bool plan_done(const struct sim_run *r)
{
    const struct sim_rollout *ro = r->tick_ctx;
    if (ro == NULL)
        return all_settled(r);
    if (!sim_rollout_done(ro))
        return false;
    return sim_rollout_completed(ro) ? all_settled(r) : r->settled_reached >= r->reached;
}

/* The deployments of the plan: one per group of the fleet. */
struct deps {
    int64_t *id;
    uint32_t n;
};

/* Deploys release rel to each group of the fleet (fleet.group_size: the
 * server assigns at most 1000 devices a group deployment). */
static enum nb_err deploy_groups(struct sim_run *r, const char *token, int64_t rel,
                                 struct deps *deps, struct nb_diag *diag)
{
    uint32_t groups = sim_fleet_groups(r->fleet);
    int64_t devices = 0, total = 0;
    char group[SIM_NAME_MAX + 1];
    if ((deps->id = nb_calloc(groups, sizeof *deps->id)) == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "deploying: out of memory");
    for (deps->n = 0; deps->n < groups; deps->n++, total += devices) {
        sim_fleet_group_name(r->fleet, deps->n, group);
        enum nb_err err =
            sim_mgmt_deploy(r->net, token, rel, group, &deps->id[deps->n], &devices, diag);
        if (err != NB_OK)
            return err;
    }
    fprintf(stderr, "sim: deployment %lld%s: %s to %lld devices of %u group(s) %s%s\n",
            (long long)deps->id[0], groups > 1 ? " and on" : "",
            r->fleet->release_version[r->sc->deploy], (long long)total, (unsigned)groups,
            r->sc->group, groups > 1 ? "-N" : "");
    return NB_OK;
}

/* Upload the plan's releases; deploy one to the fleet's groups, or start
 * the scenario's rollout of it. */
static enum nb_err deploy(struct sim_run *r, const char *token, struct deps *deps,
                          struct sim_rollout *ro, struct nb_diag *diag)
{
    const struct sim_scenario *sc = r->sc;
    int64_t rel = 0;
    for (size_t i = 0; i < sc->n_releases; i++) {
        int64_t id = 0;
        enum nb_err err = sim_mgmt_upload(r->net, token, sc->releases[i].bundle, &id,
                                          r->fleet->release_version[i], diag);
        if (err != NB_OK)
            return err;
        if (i == sc->deploy)
            rel = id;
    }
    if (sc->rollout_spec[0] != '\0')
        return sim_rollout_start(ro, r, token, rel, r->fleet->release_version[sc->deploy], diag);
    enum nb_err err = deploy_groups(r, token, rel, deps, diag);
    if (err == NB_OK)
        sim_run_start_plan(r, r->fleet->release_version[sc->deploy]);
    return err;
}

static int write_summary(const struct sim_run *r, const struct opts *o, const struct deps *deps,
                         struct sim_rollout *ro)
{
    bool ok = false;
    json_t *counts =
        deps->n > 0 ? sim_mgmt_counts_sum(r->net, r->sc->token, deps->id, deps->n) : NULL;
    if (ro->main.id > 0)
        sim_rollout_refresh(ro);
    json_t *s = sim_report_summary(r, deps->n > 0 ? deps->id[0] : 0, counts, ro->main.last, &ok);
    if (s != NULL)
        json_object_set_new(s, "deployments", json_integer((json_int_t)deps->n));
    if (s != NULL && ro->main.id > 0)
        sim_rollout_summary(ro, s);
    json_decref(counts);
    int rc = s == NULL            ? -1
             : o->summary != NULL ? json_dump_file(s, o->summary, JSON_INDENT(2) | JSON_SORT_KEYS)
                                  : json_dumpf(s, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(s);
    if (o->summary == NULL)
        fputc('\n', stdout);
    if (rc != 0) {
        fprintf(stderr, "nobrick-sim: cannot write the summary\n");
        return 3;
    }
    fprintf(stderr, "sim: expectations %s\n", ok ? "met" : "NOT met");
    return ok ? 0 : 1;
}

/* The fleet, the network, the run, and the virtual clock shared with the
 * server; then preauthorisation. */
static enum nb_err setup(struct sim_scenario *sc, const struct opts *o, struct sim_fleet *f,
                         struct sim_net **net, struct sim_run *r, struct nb_diag *diag)
{
    f->verbose = o->verbose;
    enum nb_err err = sim_fleet_new(sc, f, diag);
    if (err == NB_OK)
        err = sim_net_open(sc->server, sc->connections, net);
    if (err == NB_OK)
        err = sim_run_init(r, f, *net);
    if (err == NB_OK && o->clock_file != NULL && !sc->wall_clock &&
        (err = sim_vclock_open(o->clock_file, &r->vclock, diag)) == NB_OK) {
        f->clock.unix_base_s = (int64_t)time(NULL);
        sim_run_set_now(r, f->clock.now_ms);
    }
    if (err != NB_OK)
        return err;
    sim_online_assign(f);
    r->quiet = o->quiet;
    fprintf(stderr, "sim: %u devices provisioned from %s; preauthorising\n", (unsigned)f->n,
            f->factory_version);
    return sim_mgmt_preauthorise(*net, sc->token, f, diag);
}

/* plan.deploy -1: the fleet only polls until a limit (a load run). */
static int poll_only(struct sim_run *r, const struct opts *o, struct sim_rollout *ro)
{
    struct deps none = {NULL, 0};
    sim_run_boot_all(r);
    (void)sim_run_until(r, all_settled);
    if (!o->quiet)
        sim_report_progress(r, true);
    return write_summary(r, o, &none, ro);
}

static int run_scenario(struct sim_scenario *sc, const struct opts *o, struct sim_fleet *f,
                        struct sim_net **net, struct sim_run *r, struct deps *deps,
                        struct sim_rollout *ro)
{
    struct nb_diag diag = {{0}};
    enum nb_err err = setup(sc, o, f, net, r, &diag);
    if (err == NB_OK && sc->no_deploy)
        return poll_only(r, o, ro);
    if (err == NB_OK && sc->move.enabled) {
        /* the move (move.h): its new server's deployment is the one counted */
        if ((deps->id = nb_calloc(1, sizeof *deps->id)) == NULL)
            err = nb_diag_set(&diag, NB_ENOMEM, "the move: out of memory");
        else if ((err = sim_move_run(r, &deps->id[0], &diag)) == NB_OK)
            deps->n = 1;
    } else if (err == NB_OK) {
        sim_run_boot_all(r);
        if (!sim_run_until(r, all_enrolled))
            fprintf(stderr, "sim: not every device enrolled (%u of %u)\n", (unsigned)r->enrolled,
                    (unsigned)f->n);
        err = deploy(r, sc->token, deps, ro, &diag);
    }
    if (err != NB_OK) {
        fprintf(stderr, "nobrick-sim: %s (%s)\n", diag.msg[0] ? diag.msg : nb_strerror(err),
                nb_errname(err));
        return 3;
    }
    if (!sim_run_until(r, plan_done))
        fprintf(stderr, "sim: stopped at a limit with %u of %u devices settled\n",
                (unsigned)r->settled, (unsigned)f->n);
    if (!o->quiet)
        sim_report_progress(r, true);
    return write_summary(r, o, deps, ro);
}

static int simulate(struct sim_scenario *sc, const struct opts *o, struct sim_fleet *f,
                    struct sim_net **net, struct sim_run *r)
{
    static struct sim_rollout ro;
    struct deps deps = {NULL, 0};
    int rc = run_scenario(sc, o, f, net, r, &deps, &ro);
    nb_free(deps.id);
    sim_rollout_fini(&ro);
    return rc;
}

static void discard(void *ctx, void *owner, const struct nb_agent_response *resp)
{
    (void)ctx;
    (void)owner;
    (void)resp;
}

/* Requests still in flight when the run ended (devices that kept polling)
 * are waited for, so that every transfer is released with the handle. */
static void drain(struct sim_net *net)
{
    while (net != NULL && sim_net_run(net, 100, discard, NULL) > 0) {
    }
}

int main(int argc, char **argv)
{
    static struct sim_scenario sc;
    static struct sim_fleet fleet;
    static struct sim_run run;
    struct sim_net *net = NULL;
    struct opts o = {0};
    struct nb_diag diag = {{0}};
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (sim_scenario_load(o.scenario, &sc, &diag) != NB_OK) {
        fprintf(stderr, "nobrick-sim: %s\n", diag.msg);
        return 2;
    }
    if (o.server != NULL)
        (void)snprintf(sc.server, sizeof sc.server, "%s", o.server);
    if (o.token != NULL)
        (void)snprintf(sc.token, sizeof sc.token, "%s", o.token);
    if (sc.rollout_spec[0] != '\0' && !sc.wall_clock && o.clock_file == NULL) {
        fprintf(stderr, "nobrick-sim: a rollout in virtual time needs --clock-file, the file the "
                        "server was started with (--clock-file), so its soak times follow\n");
        return 2;
    }
    if (strncmp(sc.server, "http://127.0.0.1", 16) != 0 || sc.token[0] == '\0') {
        fprintf(stderr, "nobrick-sim: needs a server on http://127.0.0.1 and an operator token "
                        "(--server, --token or the scenario)\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = simulate(&sc, &o, &fleet, &net, &run);
    drain(net);
    sim_vclock_close(run.vclock);
    sim_run_fini(&run);
    sim_fleet_free(&fleet);
    sim_net_close(net);
    curl_global_cleanup();
    return rc;
}
