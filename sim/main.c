/* nobrick-sim: N simulated devices, each running the agent core, the
 * install engine and the bootloader policy of libnobrick on its own
 * in-memory flash, against a real nobrick-server (docs/simulator.md). The
 * run: provision the fleet, preauthorise it, let every device enrol and
 * check in once, upload and deploy the plan's release to the fleet's
 * group, run until every device has settled (or a limit), then write the
 * summary; the exit status says whether the scenario's expectations held. */
#include "mgmt.h"
#include "move.h"
#include "report.h"
#include "run.h"
#include "scenario.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "Usage: nobrick-sim SCENARIO.json [--server URL] [--token TOKEN] [--summary FILE]\n"
    "                  [--quiet] [--verbose]\n\n"
    "Runs the fleet of SCENARIO.json (docs/simulator.md) against a nobrick-server:\n"
    "--server and --token (an operator's API token) override the scenario's.\n"
    "Writes the JSON summary to FILE (default: stdout); a progress line goes to\n"
    "stderr every second unless --quiet; --verbose logs every agent line.\n"
    "Exit status: 0 the expectations held, 1 they did not, 2 usage, 3 setup failed.\n";

struct opts {
    const char *scenario, *server, *token, *summary;
    bool quiet, verbose;
};

static int parse(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char **val = strcmp(argv[i], "--server") == 0    ? &o->server
                           : strcmp(argv[i], "--token") == 0   ? &o->token
                           : strcmp(argv[i], "--summary") == 0 ? &o->summary
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

/* Upload the plan's release, deploy it to the group. */
static enum nb_err deploy(struct sim_run *r, const char *token, int64_t *dep, struct nb_diag *diag)
{
    const struct sim_scenario *sc = r->sc;
    int64_t rel = 0, devices = 0;
    for (size_t i = 0; i < sc->n_releases; i++) {
        int64_t id = 0;
        enum nb_err err = sim_mgmt_upload(r->net, token, sc->releases[i].bundle, &id,
                                          r->fleet->release_version[i], diag);
        if (err != NB_OK)
            return err;
        if (i == sc->deploy)
            rel = id;
    }
    enum nb_err err = sim_mgmt_deploy(r->net, token, rel, sc->group, dep, &devices, diag);
    if (err != NB_OK)
        return err;
    memcpy(r->target, r->fleet->release_version[sc->deploy], sizeof r->target);
    r->deploy_at_ms = sim_run_now_ms(r);
    fprintf(stderr, "sim: deployment %lld: %s to %lld devices of group %s\n", (long long)*dep,
            r->target, (long long)devices, sc->group);
    return NB_OK;
}

static int write_summary(const struct sim_run *r, const struct opts *o, int64_t dep)
{
    bool ok = false;
    json_t *counts = dep > 0 ? sim_mgmt_counts(r->net, r->sc->token, dep) : NULL;
    json_t *s = sim_report_summary(r, dep, counts, &ok);
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

static int simulate(struct sim_scenario *sc, const struct opts *o, struct sim_fleet *f,
                    struct sim_net **net, struct sim_run *r)
{
    struct nb_diag diag = {{0}};
    int64_t dep = 0;
    f->verbose = o->verbose;
    enum nb_err err = sim_fleet_new(sc, f, &diag);
    if (err == NB_OK)
        err = sim_net_open(sc->server, sc->connections, net);
    if (err == NB_OK)
        err = sim_run_init(r, f, *net);
    if (err == NB_OK) {
        r->quiet = o->quiet;
        fprintf(stderr, "sim: %u devices provisioned from %s; preauthorising\n", (unsigned)f->n,
                f->factory_version);
        err = sim_mgmt_preauthorise(*net, sc->token, f, &diag);
    }
    if (err == NB_OK && sc->move.enabled) {
        err = sim_move_run(r, &dep, &diag);
    } else if (err == NB_OK) {
        sim_run_boot_all(r);
        if (!sim_run_until(r, all_enrolled))
            fprintf(stderr, "sim: not every device enrolled (%u of %u)\n", (unsigned)r->enrolled,
                    (unsigned)f->n);
        err = deploy(r, sc->token, &dep, &diag);
    }
    if (err != NB_OK) {
        fprintf(stderr, "nobrick-sim: %s (%s)\n", diag.msg[0] ? diag.msg : nb_strerror(err),
                nb_errname(err));
        return 3;
    }
    if (!sim_run_until(r, all_settled))
        fprintf(stderr, "sim: stopped at a limit with %u of %u devices settled\n",
                (unsigned)r->settled, (unsigned)f->n);
    if (!o->quiet)
        sim_report_progress(r);
    return write_summary(r, o, dep);
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
    if (strncmp(sc.server, "http://127.0.0.1", 16) != 0 || sc.token[0] == '\0') {
        fprintf(stderr, "nobrick-sim: needs a server on http://127.0.0.1 and an operator token "
                        "(--server, --token or the scenario)\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = simulate(&sc, &o, &fleet, &net, &run);
    sim_run_fini(&run);
    sim_fleet_free(&fleet);
    sim_net_close(net);
    curl_global_cleanup();
    return rc;
}
