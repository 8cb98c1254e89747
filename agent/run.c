/* `nobrick-agent run [--once]`: the online agent. A thin driver around the
 * agent core (nobrick/agent.h): it opens the device, lends the core the
 * real clock, OpenSSL's random bytes, the device key and buffers, performs
 * its HTTP requests with libcurl (transport_curl.c), waits on the control
 * socket (control.c) until the core's next wake-up, runs the health checks
 * and the reboot command it asks for. HTTP requests block: commands are
 * read between requests and during waits. */
#include "cmd.h"
#include "control.h"
#include "device.h"
#include "health.h"
#include "transport.h"

#include <nobrick/agent.h>
#include <nobrick/alloc.h>
#include <nobrick/codec.h>
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>
#include <nobrick/frames.h>
#include <nobrick/keyfile.h>

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char agent_run_usage[] =
    "Usage: nobrick-agent [-c agent.conf] run [--once] [OPTIONS]\n\n"
    "The online agent: logs in to 'server' with the device key (device_key),\n"
    "checks in every poll interval, verifies the director's instruction, downloads\n"
    "the frames of an update with Range requests into the other slot, reboots into\n"
    "it (reboot_command), checks its health, commits or rejects it, and reports.\n"
    "--once: one cycle, then exit: 0 nothing (more) to do, 1 failed, 3 power cut,\n"
    "5 reboot needed (an update is installed, or a trial was rejected): run\n"
    "nobrick-boot (or reboot), then 'run --once' again.\n"
    "Without --once it listens on control_socket for the device's UI (events,\n"
    "commands: see 'watch' and 'ctl') and follows install_policy.\n\nOptions:\n"
    "  --once             one cycle, then exit (see above)\n";

#define RESTART (-1) /* drive(): the reboot command returned; power on again */

static volatile sig_atomic_t stopping;
static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static enum nb_err mono_now(void *ctx, uint64_t *out)
{
    struct timespec ts;
    (void)ctx;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return NB_EIO;
    *out = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    return NB_OK;
}

static enum nb_err wall_now(void *ctx, int64_t *out)
{
    (void)ctx;
    time_t t = time(NULL);
    if (t == (time_t)-1)
        return NB_EUNSUPPORTED;
    *out = (int64_t)t;
    return NB_OK;
}

static enum nb_err rng_fill(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    return nb_random(buf, len);
}

static const struct nb_clock_ops real_clock = {mono_now, wall_now};
static const struct nb_rng_ops real_rng = {rng_fill};

static enum nb_err sign_with_key(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    return nb_ed25519_sign(((const struct nb_keyfile *)ctx)->ed_seed, msg, len, sig);
}

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
    fflush(stdout);
}

struct run {
    const struct agent_config *cfg;
    struct agent_power_opts po;
    bool once;
    struct nb_keyfile key;
    char pub_hex[2 * NB_ED25519_PUB_LEN + 1];
    struct agent_http *http;
    uint8_t *scratch, *window, *table, *envelope;
    size_t table_cap;
    struct nb_codec codec;
    struct agent_device dev;
    bool dev_open;
    struct nb_root root;
    struct agent_booted booted;
    bool booted_known;
    struct nb_agent *agent;
    struct agent_control ctl; /* daemon mode only */
    bool ctl_open;
};

/* Each event: a log line, and a JSON line to every control client. */
static void on_event(void *ctx, const struct nb_agent_event *ev)
{
    struct run *r = ctx;
    char line[AGENT_CONTROL_LINE_MAX];
    if (!agent_event_json(ev, r->cfg->support_contact, line, sizeof line))
        return;
    if (ev->kind != NB_AGENT_EV_PROGRESS)
        printf("event: %s\n", line);
    if (r->ctl_open)
        agent_control_broadcast(&r->ctl, line);
}

static bool on_command(void *ctx, const char *line, size_t len, char *answer, size_t cap)
{
    struct run *r = ctx;
    printf("command: %.*s\n", (int)(len < 200 ? len : 200), line);
    return agent_command_json(r->agent, line, len, answer, cap);
}

static int parse(int argc, char **argv, struct run *r)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            r->once = true;
            continue;
        }
        int k = agent_power_opt(AGENT_PROG, argc, argv, &i, &r->po);
        if (k < 0)
            return AGENT_EXIT_USAGE;
        if (k == 0) {
            fprintf(stderr, AGENT_PROG ": run: unexpected argument '%s'\n", argv[i]);
            return AGENT_EXIT_USAGE;
        }
    }
    return AGENT_EXIT_OK;
}

/* The device key (identity and decryption) and the settings run needs. */
static enum nb_err load_key(struct run *r, struct nb_diag *diag)
{
    const struct agent_config *c = r->cfg;
    if (c->server[0] == '\0')
        return nb_diag_set(diag, NB_EINVAL, "%s has no 'server': set the server's URL", c->path);
    if (c->device_key[0] == '\0')
        return nb_diag_set(diag, NB_EINVAL,
                           "%s has no 'device_key': the agent logs in with the device's key",
                           c->path);
    enum nb_err err = nb_keyfile_load(c->device_key, &r->key, diag);
    if (err == NB_OK && (r->key.role != NB_KEY_DEVICE || !r->key.secret))
        err = nb_diag_set(diag, NB_EINVAL, "%s is not a device secret key", c->device_key);
    if (err == NB_OK)
        err = nb_hex_encode(r->key.ed_pub, NB_ED25519_PUB_LEN, r->pub_hex, sizeof r->pub_hex);
    return err;
}

/* Buffers for the largest release this device's slots can hold. */
static enum nb_err setup(struct run *r, struct nb_diag *diag)
{
    enum nb_err err = load_key(r, diag);
    if (err != NB_OK)
        return err;
    uint64_t frames = r->cfg->slot_size / NB_FRAME_SIZE_MIN + 1;
    r->table_cap = (size_t)nb_frame_table_len(frames > NB_FRAMES_MAX_COUNT ? NB_FRAMES_MAX_COUNT
                                                                           : (uint32_t)frames);
    r->scratch = nb_malloc(NB_ENVELOPE_SCRATCH_LEN);
    r->window = nb_malloc(NB_FRAME_SIZE_MAX);
    r->table = nb_malloc(r->table_cap);
    r->envelope = nb_malloc(NB_ENVELOPE_MAX);
    r->agent = nb_calloc(1, sizeof *r->agent);
    if (r->scratch == NULL || r->window == NULL || r->table == NULL || r->envelope == NULL ||
        r->agent == NULL)
        return NB_ENOMEM;
    err = nb_codec_init(&r->codec);
    if (err == NB_OK)
        err = agent_http_open(r->cfg->server, r->cfg->server_ca, r->cfg->timeout_s, &r->http, diag);
    if (err == NB_OK && !r->once) {
        err = agent_control_open(&r->ctl, r->cfg->control_socket, on_command, r, diag);
        r->ctl_open = err == NB_OK;
    }
    return err;
}

static void teardown(struct run *r)
{
    if (r->ctl_open)
        agent_control_close(&r->ctl);
    agent_http_close(r->http);
    nb_codec_fini(&r->codec);
    nb_free(r->agent);
    nb_free(r->envelope);
    nb_free(r->table);
    nb_free(r->window);
    nb_free(r->scratch);
    nb_keyfile_wipe(&r->key);
}

static void agent_setup(struct run *r)
{
    const struct agent_config *c = r->cfg;
    struct nb_agent_config ac = {
        .device_id = r->key.keyid,
        .public_key = r->pub_hex,
        .poll_interval_s = c->poll_interval_s,
        .poll_jitter_s = c->poll_jitter_s,
        .backoff_min_s = c->backoff_min_s,
        .backoff_max_s = c->backoff_max_s,
        .frame_retries = 3,
        .fetch_max_bytes = c->fetch_max_bytes,
        .max_failures = r->once ? 6 : 0,
        .once = r->once,
        .running_known = r->booted_known,
        .running = r->booted.slot,
        .policy = c->install_policy,
        .window_start_min = c->window_start_min,
        .window_end_min = c->window_end_min,
        .reboot_delay_s = c->reboot_delay_s,
        .server = c->server,
        .failover = true,
    };
    struct nb_agent_env env = {
        .clock = {&real_clock, NULL},
        .rng = {&real_rng, NULL},
        .dev = {&r->dev.flash, &r->dev.layout, r->dev.bootctl, &r->dev.journal, &r->root,
                c->hw_class, c->component, r->key.x_priv, r->key.x_pub, c->tries},
        .sign = sign_with_key,
        .sign_ctx = &r->key,
        .log = log_line,
        .event = on_event,
        .event_ctx = r,
        .scratch = r->scratch,
        .scratch_len = NB_ENVELOPE_SCRATCH_LEN,
        .window = r->window,
        .window_cap = NB_FRAME_SIZE_MAX,
        .table = r->table,
        .table_cap = r->table_cap,
        .codec = &r->codec,
        .trust = &r->dev.trust,
        .envelope = r->envelope,
        .envelope_cap = NB_ENVELOPE_MAX,
        .root = &r->root,
    };
    nb_agent_init(r->agent, &ac, &env);
}

/* Opens the device as after a power-on: the flash, the trusted root and
 * what booted (the booted file), then a fresh core. */
static enum nb_err power_on(struct run *r, struct nb_diag *diag)
{
    enum nb_err err = agent_device_open(&r->dev, r->cfg, &r->po, diag);
    r->dev_open = err == NB_OK;
    if (err == NB_OK)
        err = agent_device_root(&r->dev, &r->root, diag);
    if (err != NB_OK)
        return err;
    struct nb_diag ignored = {{0}};
    r->booted_known = agent_booted_read(r->cfg, &r->booted, &ignored) == NB_OK;
    if (!r->booted_known)
        printf("the device has not booted (no %s): the running slot is unknown\n",
               r->cfg->booted_file);
    agent_setup(r);
    return NB_OK;
}

static int power_off(struct run *r, int rc)
{
    if (r->agent != NULL)
        nb_agent_fini(r->agent);
    if (!r->dev_open)
        return rc;
    r->dev_open = false;
    return agent_device_close(&r->dev, rc);
}

/* Waits until the monotonic clock reaches until_ms, in slices of at most
 * a second so that SIGTERM ends the wait, on the control socket when there
 * is one: a command the core must act on ends the wait early. */
static void wait_until(struct run *r, uint64_t until_ms)
{
    uint64_t now = 0;
    while (!stopping && mono_now(NULL, &now) == NB_OK && now < until_ms) {
        uint64_t ms = until_ms - now > 1000 ? 1000 : until_ms - now;
        if (r->ctl_open) {
            if (agent_control_poll(&r->ctl, (int)ms))
                return;
            continue;
        }
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        (void)nanosleep(&ts, NULL);
    }
}

static void health(struct run *r)
{
    const struct agent_config *c = r->cfg;
    struct agent_health_env env = {nb_slot_name(r->booted.slot), r->booted.version, "trial"};
    struct agent_health_result hr;
    struct nb_diag diag = {{0}};
    enum nb_err err = NB_OK;
    memset(&hr, 0, sizeof hr);
    hr.ok = true;
    if (c->health_dir[0] != '\0')
        err = agent_health_run(c->health_dir, c->health_timeout_s, &env, &hr, &diag);
    if (err != NB_OK) {
        nb_agent_on_health(r->agent, false, diag.msg);
        return;
    }
    char why[400];
    (void)snprintf(why, sizeof why, "check '%s' %s", hr.check, hr.why);
    if (hr.ok)
        printf("health: %u check%s passed\n", hr.n_run, hr.n_run == 1 ? "" : "s");
    nb_agent_on_health(r->agent, hr.ok, hr.ok ? NULL : why);
}

/* Runs reboot_command with /bin/sh; its exit status. */
static int run_command(const char *cmd)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* REBOOT: with --once or without reboot_command, exit 5 and leave the
 * reboot to the caller; otherwise run the command, and when it returns
 * (the simulated device's nobrick-boot), carry on as after a power-on. */
static int reboot(struct run *r)
{
    if (r->once || r->cfg->reboot_command[0] == '\0') {
        printf("reboot needed: exit %d (reboot, or nobrick-boot on the simulated device, then "
               "run again)\n",
               AGENT_EXIT_REBOOT);
        return AGENT_EXIT_REBOOT;
    }
    int rc = power_off(r, AGENT_EXIT_OK);
    if (rc != AGENT_EXIT_OK)
        return rc;
    printf("rebooting: %s\n", r->cfg->reboot_command);
    int st = run_command(r->cfg->reboot_command);
    if (st != 0) {
        fprintf(stderr, AGENT_PROG ": reboot command '%s' failed (status %d)\n",
                r->cfg->reboot_command, st);
        return AGENT_EXIT_FAIL;
    }
    return RESTART;
}

static int done(struct run *r, enum nb_err result)
{
    if (result == NB_OK)
        return AGENT_EXIT_OK;
    if (agent_device_power_lost(&r->dev))
        return AGENT_EXIT_POWER;
    /* Zeroed: nb_diag_set keeps a message already there, so an
     * uninitialised one printed stack garbage as the reason. */
    struct nb_diag diag = {{0}};
    nb_diag_set(&diag, result, "%s", nb_strerror(result));
    return agent_fail(AGENT_PROG, r->cfg, result, &diag, "run");
}

/* One power-on's loop: the core's actions until DONE, REBOOT or SIGTERM. */
static int drive(struct run *r)
{
    struct nb_agent_action act;
    while (!stopping) {
        if (nb_agent_step(r->agent, &act) != NB_OK)
            return AGENT_EXIT_FAIL;
        if (act.what == NB_AGENT_HTTP) {
            struct nb_agent_response resp;
            agent_http_perform(r->http, &act.req, &resp);
            if (resp.err != NB_OK)
                printf("%s %s: %s\n", act.req.method, act.req.path, agent_http_last_error(r->http));
            nb_agent_on_response(r->agent, &resp);
            if (r->ctl_open)
                (void)agent_control_poll(&r->ctl, 0); /* commands between requests */
        } else if (act.what == NB_AGENT_WAIT) {
            wait_until(r, act.until_ms);
        } else if (act.what == NB_AGENT_HEALTH) {
            health(r);
        } else if (act.what == NB_AGENT_REBOOT) {
            return reboot(r);
        } else {
            return done(r, act.result);
        }
    }
    return AGENT_EXIT_OK;
}

int agent_cmd_run(const struct agent_config *cfg, int argc, char **argv)
{
    struct run r;
    struct nb_diag diag = {{0}};
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    int rc = parse(argc, argv, &r);
    if (rc != AGENT_EXIT_OK)
        return rc;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    enum nb_err err = setup(&r, &diag);
    rc = err != NB_OK ? agent_fail(AGENT_PROG, cfg, err, &diag, "run") : RESTART;
    while (rc == RESTART) {
        nb_diag_clear(&diag);
        err = power_on(&r, &diag);
        rc = err != NB_OK ? agent_fail(AGENT_PROG, cfg, err, &diag, "run") : drive(&r);
        if (rc != RESTART)
            rc = power_off(&r, rc);
    }
    teardown(&r);
    curl_global_cleanup();
    return rc;
}
