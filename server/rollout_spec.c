/* A rollout's spec (rollout.h) to and from JSON: the selection, the canary
 * list, the wave plan and the gate policy, with the defaults of
 * docs/api.md for every field left out. The same reader serves a create
 * request and a spec read back from the store. */
#include "rollout.h"

#include <nobrick/release.h>

#include <stdio.h>
#include <string.h>

static enum nb_err bad(const char **field, const char *name, struct nb_diag *diag, const char *why)
{
    *field = name;
    return nb_diag_set(diag, NB_EPARSE, "field '%s': %s", name, why);
}

/* An integer field in [lo, hi], or def when absent. */
static enum nb_err get_uint(const json_t *o, const char *name, uint32_t lo, uint32_t hi,
                            uint32_t def, uint32_t *out, const char **field, struct nb_diag *diag)
{
    const json_t *v = json_object_get(o, name);
    if (v == NULL) {
        *out = def;
        return NB_OK;
    }
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    if (n < (json_int_t)lo || n > (json_int_t)hi) {
        char why[64];
        (void)snprintf(why, sizeof why, "an integer %u..%u", lo, hi);
        return bad(field, name, diag, why);
    }
    *out = (uint32_t)n;
    return NB_OK;
}

static bool is_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return n >= 1 && n <= max;
}

static enum nb_err get_name(const json_t *o, const char *name, char *out, size_t cap,
                            const char **field, struct nb_diag *diag)
{
    const json_t *v = json_object_get(o, name);
    out[0] = '\0';
    if (v == NULL)
        return NB_OK;
    if (!json_is_string(v) || !is_name(json_string_value(v), cap - 1))
        return bad(field, name, diag, "a name: [A-Za-z0-9._-], 1..63 characters");
    (void)snprintf(out, cap, "%s", json_string_value(v));
    return NB_OK;
}

static enum nb_err read_canary(const json_t *a, struct rollout_spec *s, const char **field,
                               struct nb_diag *diag)
{
    size_t i;
    const json_t *v;
    if (a == NULL)
        return NB_OK;
    if (!json_is_array(a) || json_array_size(a) > ROLLOUT_CANARY_MAX)
        return bad(field, "canary", diag, "an array of at most 64 device ids");
    json_array_foreach(a, i, v)
    {
        const char *id = json_is_string(v) ? json_string_value(v) : "";
        size_t len = strlen(id);
        if (len != STORE_ID_MAX || strspn(id, "0123456789abcdef") != len)
            return bad(field, "canary", diag, "device ids: 64 lowercase hex characters");
        memcpy(s->canary[s->n_canary++], id, len + 1);
    }
    return NB_OK;
}

/* One step: {"percent":P,"min":M} or {"count":C}. */
static enum nb_err read_step(const json_t *v, struct wave_step *st, const char **field,
                             struct nb_diag *diag)
{
    uint32_t pct = 0, count = 0, min = 0;
    enum nb_err err = json_is_object(v) ? NB_OK : bad(field, "waves", diag, "objects");
    if (err == NB_OK)
        err = get_uint(v, "percent", 1, 100, 0, &pct, field, diag);
    if (err == NB_OK)
        err = get_uint(v, "count", 1, ROLLOUT_DEVICES_MAX, 0, &count, field, diag);
    if (err == NB_OK)
        err = get_uint(v, "min", 0, ROLLOUT_DEVICES_MAX, 0, &min, field, diag);
    if (err == NB_OK && json_object_size(v) != (size_t)(pct > 0) + (count > 0) + (min > 0))
        err = bad(field, "waves", diag, "a step has only percent, count and min");
    if (err == NB_OK && (pct > 0) == (count > 0))
        err = bad(field, "waves", diag, "each step needs exactly one of percent and count");
    st->share_ppm = pct * (WAVE_PPM / 100);
    st->count = count;
    st->min_count = min;
    return err;
}

static enum nb_err read_waves(const json_t *a, struct rollout_spec *s, const char **field,
                              struct nb_diag *diag)
{
    size_t i;
    const json_t *v;
    if (a == NULL) {
        s->n_steps = wave_default_plan(s->steps, WAVE_STEPS_MAX);
        return NB_OK;
    }
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > WAVE_STEPS_MAX)
        return bad(field, "waves", diag, "an array of 1..12 steps");
    json_array_foreach(a, i, v)
    {
        enum nb_err err = read_step(v, &s->steps[s->n_steps++], field, diag);
        if (err != NB_OK)
            return err;
    }
    return NB_OK;
}

/* The gate figures, in percent on the wire and permille inside. */
static enum nb_err read_gate(const json_t *o, struct gate_policy *g, const char **field,
                             struct nb_diag *diag)
{
    uint32_t ok_pct, fail_pct, cum_pct, abort_pct;
    gate_policy_defaults(g);
    enum nb_err err = get_uint(o, "soak_s", 0, 30 * 86400, g->soak_s, &g->soak_s, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "success_pct", 1, 100, 95, &ok_pct, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "fail_pct", 0, 100, 5, &fail_pct, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "fail_min", 1, 100000, 3, &g->fail_min_count, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "min_finished", 1, 100000, 10, &g->fail_min_finished, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "cum_fail_pct", 0, 100, 5, &cum_pct, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "cum_fail_min", 1, 100000, 5, &g->cum_fail_min_count, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "abort_pct", 0, 100, 0, &abort_pct, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "abort_min", 1, 100000, 10, &g->abort_min_count, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "unseen_wait_s", 0, 90 * 86400, 0, &g->unseen_wait_s, field, diag);
    g->success_permille = ok_pct * 10;
    g->fail_permille = fail_pct * 10;
    g->cum_fail_permille = cum_pct * 10;
    g->abort_permille = abort_pct * 10;
    return err;
}

/* ---- control: version range, auto-rollback, approvals, window -------------------- */

static bool only_known(const json_t *sel)
{
    static const char *const names[] = {"group", "tag", "hw_class", "min_version", "max_version"};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)sel, key, v)
    {
        size_t i = 0;
        while (i < 5 && strcmp(names[i], key) != 0)
            i++;
        if (i == 5)
            return false;
    }
    return true;
}

static enum nb_err get_version(const json_t *o, const char *name, char *out, const char **field,
                               struct nb_diag *diag)
{
    const json_t *v = json_object_get(o, name);
    struct nb_semver sv;
    out[0] = '\0';
    if (v == NULL)
        return NB_OK;
    if (!json_is_string(v) || json_string_length(v) > STORE_NAME_MAX ||
        nb_semver_parse(json_string_value(v), &sv) != NB_OK)
        return bad(field, name, diag, "a SemVer version such as 1.2.0");
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return NB_OK;
}

/* auto_rollback: true, false or {"release": "VERSION"}. */
static enum nb_err read_auto_rollback(const json_t *v, struct rollout_spec *s, const char **field,
                                      struct nb_diag *diag)
{
    if (v == NULL || json_is_boolean(v)) {
        s->auto_rollback = json_is_true(v);
        return NB_OK;
    }
    if (!json_is_object(v) || json_object_size(v) != 1)
        return bad(field, "auto_rollback", diag, "true, false or {\"release\": \"VERSION\"}");
    s->auto_rollback = true;
    return get_version(v, "release", s->rollback_version, field, diag) == NB_OK &&
                   s->rollback_version[0] != '\0'
               ? NB_OK
               : bad(field, "auto_rollback", diag,
                     "{\"release\": \"VERSION\"}, a SemVer version such as 1.2.0");
}

/* window: {"cron": "0 2 * * *", "duration_s": 7200, "tz": "Europe/Berlin",
 * "download_only": false}; tz defaults to UTC. */
static enum nb_err read_window(const json_t *v, struct rollout_spec *s, const char **field,
                               struct nb_diag *diag)
{
    const json_t *cron = json_object_get(v, "cron"), *tz = json_object_get(v, "tz"),
                 *dl = json_object_get(v, "download_only");
    if (v == NULL || json_is_null(v))
        return NB_OK;
    size_t known = (size_t)(cron != NULL) + (size_t)(tz != NULL) + (size_t)(dl != NULL) +
                   (size_t)(json_object_get(v, "duration_s") != NULL);
    if (!json_is_object(v) || json_object_size(v) != known || !json_is_string(cron) ||
        (tz != NULL && !json_is_string(tz)) || (dl != NULL && !json_is_boolean(dl)))
        return bad(field, "window", diag,
                   "an object of cron (text), duration_s, tz (text) and download_only (boolean)");
    s->has_window = true;
    s->download_only = json_is_true(dl);
    (void)snprintf(s->window.tz, sizeof s->window.tz, "%s",
                   tz != NULL ? json_string_value(tz) : "UTC");
    (void)snprintf(s->window.cron_text, sizeof s->window.cron_text, "%s", json_string_value(cron));
    enum nb_err err = window_cron_parse(json_string_value(cron), &s->window.cron, diag);
    if (err == NB_OK)
        err = window_tz_check(s->window.tz, diag);
    if (err != NB_OK) {
        *field = "window";
        return NB_EPARSE;
    }
    return get_uint(v, "duration_s", 60, WINDOW_DURATION_MAX, 3600, &s->window.duration_s, field,
                    diag);
}

static enum nb_err read_control(const json_t *o, const json_t *sel, struct rollout_spec *s,
                                const char **field, struct nb_diag *diag)
{
    uint32_t of = 0;
    struct nb_semver lo, hi;
    enum nb_err err = get_version(sel, "min_version", s->min_version, field, diag);
    if (err == NB_OK)
        err = get_version(sel, "max_version", s->max_version, field, diag);
    if (err == NB_OK && s->min_version[0] != '\0' && s->max_version[0] != '\0' &&
        nb_semver_parse(s->min_version, &lo) == NB_OK &&
        nb_semver_parse(s->max_version, &hi) == NB_OK && nb_semver_cmp(&lo, &hi) > 0)
        err = bad(field, "max_version", diag, "below min_version");
    if (err == NB_OK)
        err = read_auto_rollback(json_object_get(o, "auto_rollback"), s, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "approvals_required", 1, 5, 1, &s->approvals_required, field, diag);
    if (err == NB_OK)
        err = read_window(json_object_get(o, "window"), s, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "rollback_of", 0, UINT32_MAX, 0, &of, field, diag);
    s->rollback_of = of;
    return err;
}

static void control_json(const struct rollout_spec *s, json_t *sel, json_t *o)
{
    if (s->min_version[0] != '\0')
        json_object_set_new(sel, "min_version", json_string(s->min_version));
    if (s->max_version[0] != '\0')
        json_object_set_new(sel, "max_version", json_string(s->max_version));
    json_object_set_new(o, "auto_rollback",
                        s->rollback_version[0] != '\0'
                            ? json_pack("{s:s}", "release", s->rollback_version)
                            : json_boolean(s->auto_rollback));
    json_object_set_new(o, "approvals_required", json_integer(s->approvals_required));
    json_object_set_new(o, "window",
                        s->has_window
                            ? json_pack("{s:s, s:I, s:s, s:b}", "cron", s->window.cron_text,
                                        "duration_s", (json_int_t)s->window.duration_s, "tz",
                                        s->window.tz, "download_only", s->download_only)
                            : json_null());
    if (s->rollback_of > 0)
        json_object_set_new(o, "rollback_of", json_integer(s->rollback_of));
}

/* The per-device safety fields (rollout_device.h), defaults included. */
static enum nb_err read_safety(const json_t *o, struct rollout_spec *s, const char **field,
                               struct nb_diag *diag)
{
    enum nb_err err =
        get_uint(o, "device_timeout_s", 60, 7 * 86400, 7200, &s->device_timeout_s, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "lease_s", 10, 7 * 86400, 1800, &s->lease_s, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "retry_max", 1, 10, 3, &s->retry_max, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "retry_backoff_s", 1, 86400, 300, &s->retry_backoff_s, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "quarantine_s", 60, 30 * 86400, 86400, &s->quarantine_s, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "start_rate_per_min", 0, 100000, 0, &s->start_rate_per_min, field, diag);
    if (err == NB_OK)
        err = get_uint(o, "max_downloading", 0, 100000, 0, &s->max_downloading, field, diag);
    return err;
}

static void safety_json(json_t *o, const struct rollout_spec *s)
{
    json_object_set_new(o, "device_timeout_s", json_integer(s->device_timeout_s));
    json_object_set_new(o, "lease_s", json_integer(s->lease_s));
    json_object_set_new(o, "retry_max", json_integer(s->retry_max));
    json_object_set_new(o, "retry_backoff_s", json_integer(s->retry_backoff_s));
    json_object_set_new(o, "quarantine_s", json_integer(s->quarantine_s));
    json_object_set_new(o, "start_rate_per_min", json_integer(s->start_rate_per_min));
    json_object_set_new(o, "max_downloading", json_integer(s->max_downloading));
}

enum nb_err rollout_spec_read(const json_t *o, struct rollout_spec *out, const char **field,
                              struct nb_diag *diag)
{
    struct rollout_spec s;
    memset(&s, 0, sizeof s);
    const json_t *sel = json_object_get(o, "select");
    enum nb_err err = NB_OK;
    if (sel != NULL && (!json_is_object(sel) || !only_known(sel)))
        err = bad(field, "select", diag,
                  "an object of group, tag, hw_class, min_version and max_version");
    if (err == NB_OK)
        err = get_name(sel, "group", s.group, sizeof s.group, field, diag);
    if (err == NB_OK)
        err = get_name(sel, "tag", s.tag, sizeof s.tag, field, diag);
    if (err == NB_OK)
        err = get_name(sel, "hw_class", s.hw_class, sizeof s.hw_class, field, diag);
    if (err == NB_OK)
        err = read_canary(json_object_get(o, "canary"), &s, field, diag);
    if (err == NB_OK)
        err = read_waves(json_object_get(o, "waves"), &s, field, diag);
    if (err == NB_OK)
        err = read_gate(o, &s.gate, field, diag);
    if (err == NB_OK)
        err = read_safety(o, &s, field, diag);
    if (err == NB_OK)
        err = read_control(o, sel, &s, field, diag);
    s.canary_gate = s.gate;
    s.canary_gate.fail_min_count = 1;
    s.canary_gate.fail_min_finished = 1;
    s.canary_gate.unseen_wait_s = 0; /* no wave before it: the canary waits for its own */
    if (err == NB_OK)
        memcpy(out, &s, sizeof s);
    return err;
}

static json_t *steps_json(const struct rollout_spec *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n_steps; i++) {
        const struct wave_step *st = &s->steps[i];
        json_t *o = st->count > 0 ? json_pack("{s:i}", "count", (json_int_t)st->count)
                                  : json_pack("{s:i}", "percent",
                                              (json_int_t)(st->share_ppm / (WAVE_PPM / 100)));
        if (st->min_count > 0)
            json_object_set_new(o, "min", json_integer(st->min_count));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *rollout_spec_json(const struct rollout_spec *s)
{
    const struct gate_policy *g = &s->gate;
    json_t *sel = json_object(), *canary = json_array();
    if (s->group[0] != '\0')
        json_object_set_new(sel, "group", json_string(s->group));
    if (s->tag[0] != '\0')
        json_object_set_new(sel, "tag", json_string(s->tag));
    if (s->hw_class[0] != '\0')
        json_object_set_new(sel, "hw_class", json_string(s->hw_class));
    for (size_t i = 0; i < s->n_canary; i++)
        json_array_append_new(canary, json_string(s->canary[i]));
    json_t *o = json_pack(
        "{s:o, s:o, s:o, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "select", sel,
        "canary", canary, "waves", steps_json(s), "soak_s", (json_int_t)g->soak_s, "success_pct",
        (json_int_t)(g->success_permille / 10), "fail_pct", (json_int_t)(g->fail_permille / 10),
        "fail_min", (json_int_t)g->fail_min_count, "min_finished", (json_int_t)g->fail_min_finished,
        "cum_fail_pct", (json_int_t)(g->cum_fail_permille / 10), "cum_fail_min",
        (json_int_t)g->cum_fail_min_count, "abort_pct", (json_int_t)(g->abort_permille / 10),
        "abort_min", (json_int_t)g->abort_min_count, "unseen_wait_s", (json_int_t)g->unseen_wait_s);
    safety_json(o, s);
    control_json(s, sel, o);
    return o;
}

enum nb_err rollout_spec_parse(const char *text, struct rollout_spec *out)
{
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    const char *field = NULL;
    struct nb_diag diag = {{0}};
    enum nb_err err = o != NULL ? rollout_spec_read(o, out, &field, &diag) : NB_EPARSE;
    json_decref(o);
    return err;
}

enum nb_err rollout_of_deployment(struct srv *srv, int64_t deployment_id, struct store_rollout *r,
                                  struct rollout_spec *spec)
{
    int64_t id = 0;
    enum nb_err err = srv->store.ops->deployment_rollout(&srv->store, deployment_id, &id);
    if (err == NB_OK)
        err = srv->store.ops->rollout_get(&srv->store, id, r);
    if (err == NB_OK)
        err = rollout_spec_parse(r->spec, spec);
    return err;
}
