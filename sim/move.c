/* Moving the fleet to a new server (move.h). Each device of a moving fleet
 * holds its own root, loaded from its trust store at every power-on and
 * walked by its agent core (nb_trust_advance stores each root on the
 * device's simulated flash before the core uses it, so a power cut during
 * a walk is a power cut on that flash). The phases are driven from here
 * with the run loop's until-predicates; the outside world (the old server
 * switched off, a stranger started at its address) is one shell command. */
#include "move.h"
#include "mgmt.h"

#include <nobrick/alloc.h>
#include <nobrick/bundle_file.h>
#include <nobrick/envelope.h>
#include <nobrick/fileio.h>
#include <nobrick/trust.h>

#include <stdio.h>
#include <stdlib.h> /* system */
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define WALK_CUT_OPS                                                                               \
    4 /* a walk's cut hits one of the next few flash operations: the root's write */

enum { SERVER_NONE, SERVER_OLD, SERVER_NEW, SERVER_OTHER, SERVER_COUNT };

struct sim_move {
    struct sim_net *mgmt_old, *mgmt_new; /* management calls only, apart from the devices' */
    uint32_t final_version;              /* the chain's last root */
    uint32_t n_offline;
    uint64_t walk_cuts_armed;
    int64_t stranger_deployment;
    char stranger_version[NB_BOOTCTL_VERSION_MAX + 1];
};

/* ---- the scenario's "move" ------------------------------------------------ */

static enum nb_err bad(struct nb_diag *diag, const char *what, const json_error_t *e)
{
    return nb_diag_set(diag, NB_EPARSE, "scenario: move%s: %s", what, e != NULL ? e->text : "");
}

static enum nb_err load_chain(struct sim_scenario *s, const json_t *a, struct nb_diag *diag)
{
    struct sim_move_plan *m = &s->move;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > SIM_MAX_CHAIN)
        return bad(diag, ".root_chain", NULL);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *p = json_string_value(json_array_get(a, i));
        if (p == NULL || !sim_scenario_path(s, m->chain[m->n_chain++], SIM_PATH_MAX + 1, p))
            return bad(diag, ".root_chain: 1 to 4 root files", NULL);
    }
    return NB_OK;
}

enum nb_err sim_move_load(struct sim_scenario *s, const json_t *o, struct nb_diag *diag)
{
    json_error_t e;
    struct sim_move_plan *m = &s->move;
    const char *server = NULL, *token = "", *cmd = "", *stoken = "", *devices = NULL;
    json_t *chain = NULL, *stranger = NULL;
    json_int_t srel = -1;
    if (o == NULL)
        return NB_OK;
    if (json_unpack_ex((json_t *)o, &e, 0, "{s:s, s?s, s:o, s?F, s?F, s?s, s?o, s?s !}",
                       "new_server", &server, "new_token", &token, "root_chain", &chain, "offline",
                       &m->offline, "power_cut_during_walk", &m->walk_cut, "switch_command", &cmd,
                       "stranger", &stranger, "devices_file", &devices) != 0)
        return bad(diag, "", &e);
    if (devices != NULL && !sim_scenario_path(s, m->devices_file, sizeof m->devices_file, devices))
        return bad(diag, ".devices_file: a path", NULL);
    if (stranger != NULL &&
        json_unpack_ex(stranger, &e, 0, "{s?s, s:I !}", "token", &stoken, "release", &srel) != 0)
        return bad(diag, ".stranger", &e);
    if (strncmp(server, "http://127.0.0.1", 16) != 0 ||
        !sim_scenario_str(m->server, sizeof m->server, server))
        return bad(diag, ".new_server: an http://127.0.0.1 URL", NULL);
    if (!sim_scenario_str(m->token, sizeof m->token, token) ||
        !sim_scenario_str(m->stranger_token, sizeof m->stranger_token, stoken) ||
        !sim_scenario_str(m->switch_command, sizeof m->switch_command, cmd))
        return bad(diag, ".new_token, .stranger.token or .switch_command too long", NULL);
    if (m->offline < 0 || m->offline > 1 || m->walk_cut < 0 || m->walk_cut > 1)
        return bad(diag, ".offline and .power_cut_during_walk: probabilities in 0..1", NULL);
    if (stranger != NULL &&
        (srel < 0 || (size_t)srel >= s->n_releases || (size_t)srel == s->deploy))
        return bad(diag, ".stranger.release: a release other than plan.deploy's", NULL);
    m->stranger = stranger != NULL;
    m->stranger_release = stranger != NULL ? (size_t)srel : 0;
    m->enabled = true;
    return load_chain(s, chain, diag);
}

/* ---- per-device trust --------------------------------------------------- */

bool sim_move_power_on(struct sim_fleet *f, struct sim_device *d)
{
    struct nb_diag diag = {{0}};
    size_t len = 0;
    if (d->root == NULL)
        return true;
    return nb_trust_load(&d->trust, f->trust_text, NB_TRUST_ROOT_MAX, &len, f->scratch,
                         NB_ENVELOPE_SCRATCH_LEN, d->root, &diag) == NB_OK;
}

/* Two URLs naming the same server (a trailing '/' aside). */
static bool same_prefix(const char *url, const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return strncmp(url, base, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

uint8_t sim_move_server_of(const struct sim_scenario *sc, const char *path)
{
    if (path[0] == '/' || same_prefix(path, sc->server))
        return SERVER_OLD;
    return sc->move.enabled && same_prefix(path, sc->move.server) ? SERVER_NEW : SERVER_OTHER;
}

/* The chain checked as a device would walk it, before anything is
 * published: its last root must list the new server. */
static enum nb_err check_chain(const struct sim_scenario *sc, struct sim_move *m,
                               struct nb_diag *diag)
{
    const char *paths[1 + SIM_MAX_CHAIN] = {sc->root};
    static struct nb_root last; /* large: not on the stack */
    for (size_t i = 0; i < sc->move.n_chain; i++)
        paths[i + 1] = sc->move.chain[i];
    enum nb_err err =
        nb_bundle_file_load_roots(paths, sc->move.n_chain + 1, (int64_t)time(NULL), &last, diag);
    if (err != NB_OK)
        return err;
    m->final_version = last.version;
    for (size_t i = 0; i < last.n_endpoints; i++)
        if (same_prefix(last.endpoints[i], sc->move.server))
            return NB_OK;
    return nb_diag_set(diag, NB_EINVAL,
                       "move.root_chain: root v%u does not list move.new_server %s: the devices "
                       "could never reach it; add it to the rotation's --endpoint",
                       (unsigned)last.version, sc->move.server);
}

/* Every device its own root (loaded at power-on); a share of them offline. */
static enum nb_err setup(struct sim_fleet *f, struct nb_diag *diag)
{
    const struct sim_scenario *sc = f->sc;
    struct sim_move *m = f->move = nb_calloc(1, sizeof *f->move);
    if (m == NULL)
        return NB_ENOMEM;
    enum nb_err err = check_chain(sc, m, diag);
    for (uint32_t i = 0; err == NB_OK && i < f->n; i++) {
        struct sim_device *d = &f->dev[i];
        if ((d->root = nb_malloc(sizeof *d->root)) == NULL)
            return NB_ENOMEM;
        d->offline = sim_device_random(d) < sc->move.offline;
        m->n_offline += d->offline;
    }
    if (err == NB_OK)
        err = sim_net_open(sc->server, 4, &m->mgmt_old);
    if (err == NB_OK)
        err = sim_net_open(sc->move.server, 4, &m->mgmt_new);
    return err;
}

void sim_move_free(struct sim_fleet *f)
{
    if (f->move == NULL)
        return;
    sim_net_close(f->move->mgmt_old);
    sim_net_close(f->move->mgmt_new);
    nb_free(f->move);
    f->move = NULL;
}

/* ---- the phases ------------------------------------------------------------ */

static bool moved(const struct sim_fleet *f, const struct sim_device *d)
{
    return d->root != NULL && d->root->version == f->move->final_version && d->server == SERVER_NEW;
}

/* Every device (offline ones too when all) moved, or stopped for good. */
static bool moved_all(const struct sim_run *r, bool all)
{
    const struct sim_fleet *f = r->fleet;
    for (uint32_t i = 0; i < f->n; i++) {
        const struct sim_device *d = &f->dev[i];
        if ((all || !d->offline) && d->agent != NULL && !moved(f, d))
            return false;
    }
    return true;
}

static bool online_enrolled(const struct sim_run *r)
{
    return r->enrolled + r->settled >= r->fleet->n - r->fleet->move->n_offline;
}

static bool online_moved(const struct sim_run *r)
{
    return moved_all(r, false);
}

static bool all_moved(const struct sim_run *r)
{
    return moved_all(r, true);
}

static void until(struct sim_run *r, bool (*pred)(const struct sim_run *), const char *what)
{
    if (!sim_run_until(r, pred))
        fprintf(stderr, "sim: move: stopped at a limit before %s\n", what);
    else
        fprintf(stderr, "sim: move: %s\n", what);
}

/* POST /api/v1/roots for each root of the chain, on the old server. */
static enum nb_err publish(struct sim_move *m, const struct sim_scenario *sc, struct nb_diag *diag)
{
    static char answer[4096];
    for (size_t i = 0; i < sc->move.n_chain; i++) {
        uint8_t *text = NULL;
        size_t len = 0;
        int status = 0;
        json_malloc_t jmalloc;
        json_free_t jfree; /* json_dumps' text is jansson's allocation */
        json_get_alloc_funcs(&jmalloc, &jfree);
        enum nb_err err = nb_file_read(sc->move.chain[i], NB_TRUST_ROOT_MAX, &text, &len, diag);
        if (err != NB_OK)
            return err;
        json_t *o = json_pack("{s:s%}", "root", (const char *)text, len);
        char *body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        nb_free(text);
        if (body == NULL)
            return NB_ENOMEM;
        err = sim_net_call(m->mgmt_old, "POST", "/api/v1/roots", sc->token, body, strlen(body),
                           "application/json", &status, answer, sizeof answer);
        jfree(body);
        if (err != NB_OK || status != 201)
            return nb_diag_set(diag, NB_EIO, "publishing %s on %s: HTTP %d: %.300s",
                               sc->move.chain[i], sc->server, status, answer);
    }
    fprintf(stderr, "sim: move: root chain published on %s (v%u)\n", sc->server,
            (unsigned)m->final_version);
    return NB_OK;
}

/* A cut armed on a share of the online devices, at the next few flash
 * operations: the walk's write of the root to the trust store. */
static void arm_walk_cuts(struct sim_run *r)
{
    struct sim_fleet *f = r->fleet;
    for (uint32_t i = 0; i < f->n && f->sc->move.walk_cut > 0; i++) {
        struct sim_device *d = &f->dev[i];
        if (d->offline || d->agent == NULL || sim_device_random(d) >= f->sc->move.walk_cut)
            continue;
        uint64_t n = (uint64_t)(sim_device_random(d) * WALK_CUT_OPS);
        nb_flash_mem_cut_after(d->mem, n, f->sc->tear, d->rng);
        f->move->walk_cuts_armed++;
    }
}

/* The deployment of a rollout's only wave, once the start has opened it. */
static enum nb_err wave_deployment(struct sim_net *net, const char *token, int64_t id, int64_t *dep,
                                   struct nb_diag *diag)
{
    char path[64];
    (void)snprintf(path, sizeof path, "/api/v1/rollouts/%lld", (long long)id);
    for (int tries = 0; tries < 60; tries++) {
        json_t *o = sim_mgmt_json(net, "GET", path, token, NULL, 200, diag);
        json_t *waves = json_object_get(o, "waves");
        json_int_t d = json_integer_value(
            json_object_get(json_array_get(waves, json_array_size(waves) - 1), "deployment_id"));
        json_decref(o);
        if (o == NULL)
            return NB_EIO;
        if (d > 0) {
            *dep = (int64_t)d;
            return NB_OK;
        }
        struct timespec ts = {0, 500 * 1000000L};
        (void)nanosleep(&ts, NULL);
    }
    return nb_diag_set(diag, NB_ETIMEOUT, "rollout %lld: its wave did not open in 30 s",
                       (long long)id);
}

/* Release i uploaded through net and rolled out to the fleet's group: one
 * wave of 100 %, no canary. A rollout, not a group deployment: that one
 * takes at most 1000 devices, fixed at its creation (docs/api.md); a
 * rollout takes the whole group and adds devices that become active later.
 * *dep: the wave's deployment. */
static enum nb_err roll_out(struct sim_fleet *f, struct sim_net *net, const char *token, size_t i,
                            int64_t *dep, struct nb_diag *diag)
{
    char body[256];
    int64_t rel = 0, id = 0, planned = 0;
    enum nb_err err =
        sim_mgmt_upload(net, token, f->sc->releases[i].bundle, &rel, f->release_version[i], diag);
    if (err != NB_OK)
        return err;
    (void)snprintf(body, sizeof body,
                   "{\"release_id\":%lld,\"name\":\"sim-move-%lld\",\"select\":{\"group\":"
                   "\"%s\"},\"waves\":[{\"percent\":100}]}",
                   (long long)rel, (long long)rel, f->sc->group);
    err = sim_mgmt_rollout(net, token, body, &id, &planned, diag);
    if (err == NB_OK)
        err = wave_deployment(net, token, id, dep, diag);
    if (err == NB_OK)
        fprintf(stderr,
                "sim: move: rollout %lld (deployment %lld): %s to %lld devices of group %s\n",
                (long long)id, (long long)*dep, f->release_version[i], (long long)planned,
                f->sc->group);
    return err;
}

/* The old server off, the stranger on at its address (the switch
 * command), the fleet preauthorised there. */
static enum nb_err switch_over(struct sim_fleet *f, struct nb_diag *diag)
{
    const struct sim_move_plan *p = &f->sc->move;
    if (p->switch_command[0] != '\0') {
        int st = system(p->switch_command);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return nb_diag_set(diag, NB_EIO, "move.switch_command '%s' failed (status %d)",
                               p->switch_command, st);
    }
    return p->stranger ? sim_mgmt_preauthorise(f->move->mgmt_old, p->stranger_token, f, diag)
                       : NB_OK;
}

static bool offline_enrolled(const struct sim_run *r)
{
    const struct sim_fleet *f = r->fleet;
    for (uint32_t i = 0; i < f->n; i++)
        if (f->dev[i].offline && f->dev[i].agent != NULL && f->dev[i].checkins == 0)
            return false;
    return true;
}

/* The offline devices powered on: they meet whatever serves the old
 * address first; the stranger deploys its own release to them once they
 * are known to it (a deployment needs active devices). */
static enum nb_err offline_come_up(struct sim_run *r, struct nb_diag *diag)
{
    struct sim_fleet *f = r->fleet;
    const struct sim_move_plan *p = &f->sc->move;
    struct sim_move *m = f->move;
    for (uint32_t i = 0; i < f->n; i++)
        if (f->dev[i].offline)
            sim_run_boot(r, &f->dev[i]);
    if (!p->stranger || m->n_offline == 0)
        return NB_OK;
    until(r, offline_enrolled, "the offline devices checked in at the old address");
    enum nb_err err = roll_out(f, m->mgmt_old, p->stranger_token, p->stranger_release,
                               &m->stranger_deployment, diag);
    if (err == NB_OK)
        memcpy(m->stranger_version, f->release_version[p->stranger_release],
               sizeof m->stranger_version);
    return err;
}

enum nb_err sim_move_run(struct sim_run *r, int64_t *dep, struct nb_diag *diag)
{
    struct sim_fleet *f = r->fleet;
    const struct sim_scenario *sc = r->sc;
    enum nb_err err = setup(f, diag);
    if (err == NB_OK)
        err = sim_mgmt_preauthorise(f->move->mgmt_new, sc->move.token, f, diag);
    if (err == NB_OK) {
        sim_run_boot_all(r); /* the offline devices stay off */
        until(r, online_enrolled, "the online devices enrolled on the old server");
        arm_walk_cuts(r);
        err = publish(f->move, sc, diag);
    }
    if (err == NB_OK) {
        until(r, online_moved, "the online devices walked the chain and moved");
        err = switch_over(f, diag);
    }
    if (err == NB_OK)
        err = offline_come_up(r, diag);
    if (err == NB_OK) {
        until(r, all_moved, "every device walked the chain and moved");
        err = roll_out(f, f->move->mgmt_new, sc->move.token, sc->deploy, dep, diag);
    }
    if (err == NB_OK) {
        memcpy(r->target, f->release_version[sc->deploy], sizeof r->target);
        r->deploy_at_ms = sim_run_now_ms(r);
    }
    return err;
}

/* ---- the summary ------------------------------------------------------- */

/* d holds the stranger's release in a slot (installed, tried or committed). */
static bool holds(const struct sim_fleet *f, struct sim_device *d, const char *version)
{
    struct nb_bootctl_flash bcf;
    struct nb_bootctl bc;
    if (version[0] == '\0' ||
        nb_bootctl_flash_init(&bcf, &d->flash, f->layout.bootctl[0], f->layout.bootctl[1]) != NB_OK)
        return false;
    struct nb_boot_control ctl = nb_bootctl_flash_control(&bcf);
    if (nb_boot_control_load(&ctl, &bc, NULL) != NB_OK)
        return false;
    return strcmp(bc.slot[NB_BOOTCTL_A].version, version) == 0 ||
           strcmp(bc.slot[NB_BOOTCTL_B].version, version) == 0;
}

static const char *server_name(const struct sim_scenario *sc, uint8_t i)
{
    return i == SERVER_NONE  ? "none"
           : i == SERVER_OLD ? sc->server
           : i == SERVER_NEW ? sc->move.server
                             : "other";
}

/* One JSON line per device: its id, root version, the server of its last
 * answer and the version it boots (the bootloader policy on a copy of its
 * flash; "" when nothing boots). */
static bool write_devices(const struct sim_fleet *f, const char *path)
{
    FILE *out = fopen(path, "w");
    if (out == NULL)
        return false;
    for (uint32_t i = 0; i < f->n; i++) {
        struct sim_device *d = &f->dev[i];
        char version[NB_BOOTCTL_VERSION_MAX + 1] = "";
        if (sim_device_probe((struct sim_fleet *)f, d, version) != NB_OK)
            version[0] = '\0';
        json_t *o =
            json_pack("{s:I, s:s, s:I, s:s, s:s}", "index", (json_int_t)d->index, "device_id",
                      d->id, "root_version", (json_int_t)(d->root != NULL ? d->root->version : 0),
                      "server", server_name(f->sc, d->server), "version", version);
        int rc = o != NULL ? json_dumpf(o, out, JSON_COMPACT | JSON_SORT_KEYS) : -1;
        json_decref(o);
        if (rc != 0 || fputc('\n', out) == EOF) {
            (void)fclose(out);
            return false;
        }
    }
    return fclose(out) == 0;
}

void sim_move_report(const struct sim_run *r, json_t *summary, bool *ok)
{
    struct sim_fleet *f = r->fleet;
    const struct sim_move *m = f->move;
    json_t *roots, *servers;
    uint32_t by_server[SERVER_COUNT] = {0}, n_moved = 0, stranger = 0;
    char key[16];
    if (m == NULL || summary == NULL)
        return;
    roots = json_object();
    servers = json_object();
    for (uint32_t i = 0; i < f->n; i++) {
        struct sim_device *d = &f->dev[i];
        (void)snprintf(key, sizeof key, "%u", d->root != NULL ? (unsigned)d->root->version : 0u);
        json_object_set_new(roots, key,
                            json_integer(json_integer_value(json_object_get(roots, key)) + 1));
        by_server[d->server < SERVER_COUNT ? d->server : SERVER_OTHER]++;
        n_moved += moved(f, d);
        stranger += holds(f, d, m->stranger_version);
    }
    for (uint8_t i = 0; i < SERVER_COUNT; i++)
        if (by_server[i] > 0)
            json_object_set_new(servers, server_name(f->sc, i), json_integer(by_server[i]));
    if (f->sc->move.devices_file[0] != '\0' && !write_devices(f, f->sc->move.devices_file)) {
        fprintf(stderr, "nobrick-sim: cannot write move.devices_file %s\n",
                f->sc->move.devices_file);
        *ok = false;
    }
    /* the deployment followed is the new server's: its counts from there */
    json_int_t dep = json_integer_value(json_object_get(summary, "deployment_id"));
    json_t *counts = dep > 0 ? sim_mgmt_counts(m->mgmt_new, f->sc->move.token, dep) : NULL;
    json_object_set_new(summary, "server_counts", counts != NULL ? counts : json_null());
    json_object_set_new(summary, "root_versions", roots);
    json_object_set_new(summary, "servers", servers);
    json_object_set_new(summary, "stranger_installs", json_integer(stranger));
    json_object_set_new(summary, "move",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:s}", "final_root_version",
                                  (json_int_t)m->final_version, "moved", (json_int_t)n_moved,
                                  "offline_devices", (json_int_t)m->n_offline,
                                  "walk_power_cuts_armed", (json_int_t)m->walk_cuts_armed,
                                  "stranger_deployment_id", (json_int_t)m->stranger_deployment,
                                  "stranger_version", m->stranger_version));
    *ok = *ok && stranger == 0 && n_moved == f->n;
}
