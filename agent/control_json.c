/* The control socket's JSON (docs/agent.md "The control socket"): events
 * of the agent core as one object per line, and command lines parsed
 * strictly (duplicate or unknown keys, a bad time, an unknown command are
 * refused with E_PARSE and change nothing) and carried out on the core.
 * Times are UTC, "2026-12-01T02:00:00Z". */
#include "control.h"

#include <nobrick/remedy.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define POSTPONE_MAX_S (31u * 86400) /* a longer postponement is a typo */

bool agent_time_parse(const char *text, int64_t *out)
{
    struct tm tm;
    char z = 0, end = 0;
    memset(&tm, 0, sizeof tm);
    if (strlen(text) != 20 ||
        sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &end) != 7 ||
        z != 'Z')
        return false;
    if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = (int64_t)t;
    return true;
}

void agent_time_format(int64_t t, char *buf, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        (void)snprintf(buf, cap, "%lld", (long long)t);
}

static bool dump(json_t *o, char *buf, size_t cap)
{
    size_t n = o != NULL ? json_dumpb(o, buf, cap - 1, JSON_COMPACT) : 0;
    json_decref(o);
    if (n == 0 || n >= cap - 1) {
        (void)snprintf(buf, cap, "{\"ok\":false,\"error\":{\"code\":\"E_NOMEM\"}}");
        return false;
    }
    buf[n] = '\0';
    return true;
}

static void set_failure(json_t *o, const struct nb_agent_event *ev, const char *support)
{
    const struct nb_remedy *r = nb_remedy_for(ev->code);
    json_object_set_new(o, "code", json_string(nb_errname(ev->code)));
    json_object_set_new(o, "sentence", json_string(r->sentence));
    json_object_set_new(o, "remedy", json_string(r->what_to_do));
    if (ev->detail[0] != '\0')
        json_object_set_new(o, "message", json_string(ev->detail));
    if (support[0] != '\0')
        json_object_set_new(o, "support", json_string(support));
    if (ev->retry_in_s != 0)
        json_object_set_new(o, "retry_in_s", json_integer(ev->retry_in_s));
}

bool agent_event_json(const struct nb_agent_event *ev, const char *support, char *buf, size_t cap)
{
    char at[32];
    json_t *o =
        json_pack("{s:s, s:s}", "event", nb_agent_event_name(ev->kind), "version", ev->version);
    if (o == NULL)
        return false;
    switch (ev->kind) {
    case NB_AGENT_EV_AVAILABLE:
        json_object_set_new(o, "deployment", json_integer(ev->deployment_id));
        json_object_set_new(o, "bytes", json_integer((json_int_t)ev->bytes_total));
        break;
    case NB_AGENT_EV_PROGRESS:
        json_object_set_new(o, "done", json_integer(ev->done));
        json_object_set_new(o, "total", json_integer(ev->total));
        json_object_set_new(o, "percent",
                            json_integer(ev->total ? (json_int_t)ev->done * 100 / ev->total : 100));
        json_object_set_new(o, "bytes_done", json_integer((json_int_t)ev->bytes_done));
        json_object_set_new(o, "bytes_total", json_integer((json_int_t)ev->bytes_total));
        break;
    case NB_AGENT_EV_SCHEDULED:
        agent_time_format(ev->at_s, at, sizeof at);
        json_object_set_new(o, "at", json_string(at));
        break;
    case NB_AGENT_EV_REBOOTING:
        json_object_set_new(o, "in_s", json_integer(ev->in_s));
        break;
    case NB_AGENT_EV_FAILED:
        set_failure(o, ev, support);
        break;
    case NB_AGENT_EV_CANCELLED:
        json_object_set_new(o, "by", json_string(ev->by_server ? "server" : "user"));
        if (ev->detail[0] != '\0')
            json_object_set_new(o, "message", json_string(ev->detail));
        break;
    default:
        break;
    }
    return dump(o, buf, cap);
}

/* ---- commands ---------------------------------------------------------------- */

static bool answer_error(char *answer, size_t cap, enum nb_err err, const char *message)
{
    (void)dump(json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", nb_errname(err),
                         "message", message),
               answer, cap);
    return false;
}

static bool answer_status(struct nb_agent *a, char *answer, size_t cap)
{
    struct nb_agent_status st;
    char at[32] = "";
    nb_agent_status(a, &st);
    json_t *s = json_pack("{s:s, s:s, s:s, s:i, s:i}", "phase", st.phase_name, "policy",
                          st.policy_name, "version", st.version, "done", (json_int_t)st.done,
                          "total", (json_int_t)st.total);
    if (s != NULL && st.at_s != 0) {
        agent_time_format(st.at_s, at, sizeof at);
        json_object_set_new(s, "at", json_string(at));
    }
    if (s != NULL && st.last_error != NB_OK)
        json_object_set_new(s, "last_error", json_string(nb_errname(st.last_error)));
    (void)dump(json_pack("{s:b, s:o}", "ok", 1, "status", s), answer, cap);
    return false;
}

static const struct {
    const char *name;
    enum nb_agent_command_kind kind;
} commands[] = {
    {"install_now", NB_AGENT_CMD_INSTALL_NOW}, {"schedule_at", NB_AGENT_CMD_SCHEDULE_AT},
    {"postpone", NB_AGENT_CMD_POSTPONE},       {"retry", NB_AGENT_CMD_RETRY},
    {"cancel", NB_AGENT_CMD_CANCEL},
};

/* The arguments of c from o; NULL or why they are wrong. */
static const char *arguments(const json_t *o, struct nb_agent_command *c)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        bool known = strcmp(key, "command") == 0 ||
                     (strcmp(key, "at") == 0 && c->kind == NB_AGENT_CMD_SCHEDULE_AT) ||
                     (strcmp(key, "seconds") == 0 && c->kind == NB_AGENT_CMD_POSTPONE);
        if (!known)
            return "unexpected key in this command";
    }
    if (c->kind == NB_AGENT_CMD_SCHEDULE_AT) {
        const char *at = json_string_value(json_object_get(o, "at"));
        if (at == NULL || !agent_time_parse(at, &c->at_s))
            return "\"at\" must be a UTC time like \"2026-12-01T02:00:00Z\"";
    }
    if (c->kind == NB_AGENT_CMD_POSTPONE) {
        const json_t *s = json_object_get(o, "seconds");
        if (!json_is_integer(s) || json_integer_value(s) < 1 ||
            json_integer_value(s) > POSTPONE_MAX_S)
            return "\"seconds\" must be a whole number from 1 to 2678400 (31 days)";
        c->seconds = (uint32_t)json_integer_value(s);
    }
    return NULL;
}

static bool run_command(struct nb_agent *a, const json_t *o, const char *name, char *answer,
                        size_t cap)
{
    struct nb_agent_command c;
    struct nb_diag diag = {{0}};
    memset(&c, 0, sizeof c);
    size_t i = 0, n = sizeof commands / sizeof commands[0];
    while (i < n && strcmp(commands[i].name, name) != 0)
        i++;
    if (i == n)
        return answer_error(answer, cap, NB_EPARSE,
                            "unknown command (install_now, schedule_at, postpone, retry, "
                            "cancel, status)");
    c.kind = commands[i].kind;
    const char *why = arguments(o, &c);
    if (why != NULL)
        return answer_error(answer, cap, NB_EPARSE, why);
    enum nb_err err = nb_agent_command(a, &c, &diag);
    if (err != NB_OK)
        return answer_error(answer, cap, err, diag.msg[0] ? diag.msg : nb_strerror(err));
    (void)snprintf(answer, cap, "{\"ok\":true}");
    return true;
}

bool agent_command_json(struct nb_agent *a, const char *line, size_t len, char *answer, size_t cap)
{
    json_error_t je;
    char why[200];
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        (void)snprintf(why, sizeof why, "not a JSON object: %s",
                       o == NULL ? je.text : "another JSON value");
        json_decref(o);
        return answer_error(answer, cap, NB_EPARSE, why);
    }
    const char *name = json_string_value(json_object_get(o, "command"));
    bool acted = false;
    if (name == NULL)
        acted = answer_error(answer, cap, NB_EPARSE, "no \"command\" string");
    else if (strcmp(name, "status") == 0 && json_object_size(o) != 1)
        acted = answer_error(answer, cap, NB_EPARSE, "unexpected key in this command");
    else if (strcmp(name, "status") == 0)
        acted = answer_status(a, answer, cap);
    else
        acted = run_command(a, o, name, answer, cap);
    json_decref(o);
    return acted;
}
