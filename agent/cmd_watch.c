/* `nobrick-agent watch [--json]` and `nobrick-agent ctl COMMAND [ARG]`:
 * the two clients of the running agent's control socket. watch prints the
 * agent's events for a person (a progress bar on a terminal, plain lines
 * otherwise; --json passes the lines through); ctl sends one command and
 * prints its answer. docs/agent.md "The control socket". */
#include "cmd.h"
#include "control.h"
#include "device.h"

#include <nobrick/remedy.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

const char agent_watch_usage[] =
    "Usage: nobrick-agent [-c agent.conf] watch [--json]\n\n"
    "Connects to the running agent's control socket (control_socket) and prints\n"
    "its events until it stops: updates available, download progress (a bar on\n"
    "a terminal), ready, scheduled, installing, rebooting, succeeded, failed with\n"
    "what to do. --json: the raw JSON lines.\n";

const char agent_ctl_usage[] =
    "Usage: nobrick-agent [-c agent.conf] ctl COMMAND [ARG]\n\n"
    "Sends one command to the running agent and prints its answer (exit 1 when\n"
    "it is refused). Commands:\n"
    "  install-now          install the waiting update now (or reboot now)\n"
    "  schedule-at TIME     install it at TIME (UTC, 2026-12-01T02:00:00Z)\n"
    "  postpone SECONDS     wait SECONDS more (also the reboot countdown)\n"
    "  retry                check in now (a cancelled update is offered again)\n"
    "  cancel               decline the waiting update until a retry or a restart\n"
    "  status               where the agent stands\n"
    "  --raw LINE           send LINE as it is (for testing the protocol)\n";

#define MIB (1024.0 * 1024.0)

static int connect_agent(const struct agent_config *cfg, const char *verb)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(cfg->control_socket);
    int fd = n < sizeof sa.sun_path ? socket(AF_UNIX, SOCK_STREAM, 0) : -1;
    if (fd >= 0) {
        memcpy(sa.sun_path, cfg->control_socket, n + 1);
        if (connect(fd, (const struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
    }
    fprintf(stderr, AGENT_PROG ": %s: cannot reach the agent at %s: %s\n", verb,
            cfg->control_socket, strerror(errno));
    fprintf(stderr,
            AGENT_PROG ": what to do: start it ('nobrick-agent run'), or check "
                       "control_socket in %s\n",
            cfg->path);
    if (fd >= 0)
        close(fd);
    return -1;
}

/* ---- watch --------------------------------------------------------------------- */

struct watch {
    bool tty;
    bool bar_open; /* a progress bar is on the current line */
    long last_decile;
};

static const char *s_of(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v != NULL ? v : "";
}

static json_int_t i_of(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void progress(struct watch *w, const json_t *o)
{
    json_int_t pct = i_of(o, "percent");
    double done = (double)i_of(o, "bytes_done") / MIB, total = (double)i_of(o, "bytes_total") / MIB;
    if (!w->tty) {
        if (pct / 10 == w->last_decile)
            return;
        w->last_decile = (long)(pct / 10);
        printf("downloading %s: %lld%% (%.1f MiB of %.1f MiB)\n", s_of(o, "version"),
               (long long)pct, done, total);
        return;
    }
    char bar[21];
    for (int i = 0; i < 20; i++)
        bar[i] = i < pct / 5 ? '#' : ' ';
    bar[20] = '\0';
    printf("\rdownloading %s  [%s] %3lld%%  %.1f MiB of %.1f MiB", s_of(o, "version"), bar,
           (long long)pct, done, total);
    w->bar_open = true;
}

static void failed(const json_t *o)
{
    const char *v = s_of(o, "version");
    printf("update%s%s failed: %s — what to do: %s", v[0] ? " " : "", v, s_of(o, "sentence"),
           s_of(o, "remedy"));
    if (s_of(o, "support")[0] != '\0')
        printf(" (support: %s)", s_of(o, "support"));
    if (i_of(o, "retry_in_s") > 0)
        printf("; retrying in %lld s", (long long)i_of(o, "retry_in_s"));
    if (s_of(o, "message")[0] != '\0')
        printf(" [%s: %s]", s_of(o, "code"), s_of(o, "message"));
    printf("\n");
}

static void event(struct watch *w, const json_t *o)
{
    const char *e = s_of(o, "event"), *v = s_of(o, "version");
    if (strcmp(e, "download_progress") == 0) {
        progress(w, o);
        return;
    }
    if (w->bar_open)
        printf("\n");
    w->bar_open = false;
    w->last_decile = -1;
    if (strcmp(e, "update_available") == 0)
        printf("update %s available (%.1f MiB)\n", v, (double)i_of(o, "bytes") / MIB);
    else if (strcmp(e, "ready") == 0)
        printf("update %s downloaded and verified: ready to install\n", v);
    else if (strcmp(e, "scheduled") == 0)
        printf("update %s will install at %s\n", v, s_of(o, "at"));
    else if (strcmp(e, "installing") == 0)
        printf("installing %s\n", v);
    else if (strcmp(e, "rebooting") == 0)
        printf("rebooting in %lld s to start %s\n", (long long)i_of(o, "in_s"), v);
    else if (strcmp(e, "succeeded") == 0)
        printf("update %s succeeded: the device runs it\n", v);
    else if (strcmp(e, "cancelled") == 0 && strcmp(s_of(o, "by"), "server") == 0)
        printf("update %s taken back by the server: it stays off this device\n", v);
    else if (strcmp(e, "cancelled") == 0)
        printf("update %s cancelled\n", v);
    else if (strcmp(e, "failed") == 0)
        failed(o);
    else
        printf("%s %s\n", e, v);
}

static void status_line(const json_t *o)
{
    const json_t *s = json_object_get(o, "status");
    printf("agent: %s (install_policy %s)", s_of(s, "phase"), s_of(s, "policy"));
    if (s_of(s, "version")[0] != '\0')
        printf(", update %s", s_of(s, "version"));
    if (s_of(s, "at")[0] != '\0')
        printf(", at %s", s_of(s, "at"));
    printf("\n");
}

static void show(struct watch *w, const char *line)
{
    json_t *o = json_loads(line, 0, NULL);
    if (json_object_get(o, "event") != NULL)
        event(w, o);
    else if (json_object_get(o, "status") != NULL)
        status_line(o);
    json_decref(o);
    fflush(stdout);
}

int agent_cmd_watch(const struct agent_config *cfg, int argc, char **argv)
{
    bool raw = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") != 0) {
            fprintf(stderr, AGENT_PROG ": watch: unexpected argument '%s'\n", argv[i]);
            return AGENT_EXIT_USAGE;
        }
        raw = true;
    }
    int fd = connect_agent(cfg, "watch");
    if (fd < 0)
        return AGENT_EXIT_FAIL;
    FILE *in = fdopen(fd, "r+");
    if (in == NULL) {
        close(fd);
        return AGENT_EXIT_FAIL;
    }
    struct watch w = {isatty(STDOUT_FILENO) == 1, false, -1};
    if (!raw) {
        fputs("{\"command\":\"status\"}\n", in);
        fflush(in);
    }
    char line[AGENT_CONTROL_LINE_MAX + 2];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, in) != NULL) {
        if (raw)
            fputs(line, stdout);
        else
            show(&w, line);
    }
    if (w.bar_open)
        printf("\n");
    if (!raw)
        printf("the agent closed the connection (it stopped or restarts)\n");
    fclose(in);
    return AGENT_EXIT_OK;
}

/* ---- ctl -------------------------------------------------------------------------- */

/* The command line for argv, or NULL (message printed). */
static json_t *ctl_command(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    const char *arg = argc > 2 ? argv[2] : NULL;
    bool wants_arg = strcmp(c, "schedule-at") == 0 || strcmp(c, "postpone") == 0;
    if (argc != (wants_arg ? 3 : 2)) {
        fputs(agent_ctl_usage, stderr);
        return NULL;
    }
    if (strcmp(c, "schedule-at") == 0)
        return json_pack("{s:s, s:s}", "command", "schedule_at", "at", arg);
    if (strcmp(c, "postpone") == 0) {
        char *end = NULL;
        long long v = strtoll(arg, &end, 10);
        if (end == arg || *end != '\0' || v < 1) {
            fprintf(stderr, AGENT_PROG ": ctl: postpone needs a number of seconds\n");
            return NULL;
        }
        return json_pack("{s:s, s:I}", "command", "postpone", "seconds", (json_int_t)v);
    }
    static const char *const plain[][2] = {{"install-now", "install_now"},
                                           {"retry", "retry"},
                                           {"cancel", "cancel"},
                                           {"status", "status"}};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(c, plain[i][0]) == 0)
            return json_pack("{s:s}", "command", plain[i][1]);
    fprintf(stderr, AGENT_PROG ": ctl: unknown command '%s'\n", c);
    fputs(agent_ctl_usage, stderr);
    return NULL;
}

/* Reads lines until the answer (a line with "ok"; events are skipped). */
static int ctl_answer(FILE *in)
{
    char line[AGENT_CONTROL_LINE_MAX + 2];
    while (fgets(line, sizeof line, in) != NULL) {
        json_t *o = json_loads(line, 0, NULL);
        const json_t *ok = json_object_get(o, "ok");
        if (ok == NULL) {
            json_decref(o);
            continue;
        }
        fputs(line, stdout);
        int rc = json_is_true(ok) ? AGENT_EXIT_OK : AGENT_EXIT_FAIL;
        if (rc != AGENT_EXIT_OK) {
            const json_t *e = json_object_get(o, "error");
            fprintf(stderr, AGENT_PROG ": ctl: refused: %s (%s)\n", s_of(e, "message"),
                    s_of(e, "code"));
        }
        json_decref(o);
        return rc;
    }
    fprintf(stderr, AGENT_PROG ": ctl: the agent closed the connection without an answer\n");
    return AGENT_EXIT_FAIL;
}

int agent_cmd_ctl(const struct agent_config *cfg, int argc, char **argv)
{
    char text[AGENT_CONTROL_LINE_MAX + 2];
    if (argc == 3 && strcmp(argv[1], "--raw") == 0) {
        (void)snprintf(text, sizeof text, "%s", argv[2]);
    } else {
        json_t *cmd = ctl_command(argc, argv);
        size_t n = cmd != NULL ? json_dumpb(cmd, text, sizeof text - 1, JSON_COMPACT) : 0;
        json_decref(cmd);
        if (n == 0 || n >= sizeof text - 1)
            return AGENT_EXIT_USAGE;
        text[n] = '\0';
    }
    int fd = connect_agent(cfg, "ctl");
    FILE *io = fd >= 0 ? fdopen(fd, "r+") : NULL;
    if (io == NULL) {
        if (fd >= 0)
            close(fd);
        return AGENT_EXIT_FAIL;
    }
    fprintf(io, "%s\n", text);
    fflush(io);
    int rc = ctl_answer(io);
    fclose(io);
    return rc;
}
