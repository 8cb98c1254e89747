/* agent.conf reader: one table of keys, each with its parser and the field it
 * fills. Strict on purpose: a typo in a device's configuration must stop the
 * agent with the line named, not silently fall back to a default. */
#include "config.h"

#include <nobrick/alloc.h>
#include <nobrick/conffile.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind {
    K_PATH,
    K_POW2,
    K_U64,
    K_U32,
    K_BOOL,
    K_TEXT,
    K_BACKEND,
    K_BOOTCTL,
    K_TRIES,
    K_POLICY,
    K_WINDOW
};

struct key {
    const char *name;
    enum kind kind;
    size_t off; /* of the field in struct agent_config */
    size_t cap; /* text fields: buffer size */
};

#define FIELD(f) offsetof(struct agent_config, f)
#define TEXT(f) FIELD(f), sizeof(((struct agent_config *)0)->f)

static const struct key keys[] = {
    {"flash", K_PATH, TEXT(flash)},
    {"flash_backend", K_BACKEND, FIELD(backend), 0},
    {"erase_size", K_POW2, FIELD(erase_size), 0},
    {"write_size", K_POW2, FIELD(write_size), 0},
    {"slot_size", K_U64, FIELD(slot_size), 0},
    {"meta_size", K_U32, FIELD(meta_size), 0},
    {"gold", K_BOOL, FIELD(gold), 0},
    {"hw_class", K_TEXT, TEXT(hw_class)},
    {"component", K_TEXT, TEXT(component)},
    {"device_key", K_PATH, TEXT(device_key)},
    {"health_dir", K_PATH, TEXT(health_dir)},
    {"health_timeout_s", K_U32, FIELD(health_timeout_s), 0},
    {"tries", K_TRIES, FIELD(tries), 0},
    {"booted_file", K_PATH, TEXT(booted_file)},
    {"support_contact", K_TEXT, TEXT(support_contact)},
    {"bootctl", K_BOOTCTL, FIELD(bootctl), 0},
    {"uboot_env_config", K_PATH, TEXT(uboot_env_config)},
    {"server", K_TEXT, TEXT(server)},
    {"server_ca", K_PATH, TEXT(server_ca)},
    {"poll_interval_s", K_U32, FIELD(poll_interval_s), 0},
    {"poll_jitter_s", K_U32, FIELD(poll_jitter_s), 0},
    {"backoff_min_s", K_U32, FIELD(backoff_min_s), 0},
    {"backoff_max_s", K_U32, FIELD(backoff_max_s), 0},
    {"timeout_s", K_U32, FIELD(timeout_s), 0},
    {"fetch_max_bytes", K_U32, FIELD(fetch_max_bytes), 0},
    {"reboot_command", K_TEXT, TEXT(reboot_command)},
    {"install_policy", K_POLICY, FIELD(install_policy), 0},
    {"maintenance_window", K_WINDOW, FIELD(window_start_min), 0},
    {"reboot_delay_s", K_U32, FIELD(reboot_delay_s), 0},
    {"control_socket", K_PATH, TEXT(control_socket)},
};
#define N_KEYS (sizeof keys / sizeof keys[0])

struct parser {
    struct agent_config *cfg;
    char dir[AGENT_PATH_MAX]; /* the config file's directory */
    bool seen[N_KEYS];
};

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

/* A path relative to the config file's directory unless absolute. */
static const char *set_path(const struct parser *p, const char *v, char *dst, size_t cap)
{
    int n = v[0] == '/' ? snprintf(dst, cap, "%s", v) : snprintf(dst, cap, "%s/%s", p->dir, v);
    return n < 0 || (size_t)n >= cap ? "path too long" : NULL;
}

/* "HH:MM" into minutes after midnight; false unless exactly that. */
static bool parse_hhmm(const char *s, uint16_t *out)
{
    for (int i = 0; i < 5; i++)
        if (i == 2 ? s[i] != ':' : (s[i] < '0' || s[i] > '9'))
            return false;
    unsigned h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
    unsigned m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
    if (h > 23 || m > 59)
        return false;
    *out = (uint16_t)(h * 60 + m);
    return true;
}

/* maintenance_window = HH:MM-HH:MM (UTC; the end may be past midnight). */
static const char *set_window(struct agent_config *c, const char *v)
{
    if (strlen(v) != 11 || v[5] != '-' || !parse_hhmm(v, &c->window_start_min) ||
        !parse_hhmm(v + 6, &c->window_end_min))
        return "not HH:MM-HH:MM (UTC)";
    c->window_set = true;
    return NULL;
}

/* Stores value v for key k; returns NULL or why the value is bad. */
static const char *set_value(struct parser *p, const struct key *k, const char *v)
{
    char *field = (char *)p->cfg + k->off;
    uint64_t n = 0;
    switch (k->kind) {
    case K_PATH:
        return v[0] == '\0' ? "empty path" : set_path(p, v, field, k->cap);
    case K_TEXT:
        if (strlen(v) >= k->cap || v[0] == '\0')
            return "empty or too long";
        memcpy(field, v, strlen(v) + 1);
        return NULL;
    case K_BOOL:
        if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
            return "not yes or no";
        *(bool *)(void *)field = strcmp(v, "yes") == 0;
        return NULL;
    case K_BACKEND:
        if (strcmp(v, "sim") != 0 && strcmp(v, "file") != 0)
            return "not sim or file";
        *(enum agent_flash_backend *)(void *)field =
            strcmp(v, "sim") == 0 ? AGENT_FLASH_SIM : AGENT_FLASH_FILE;
        return NULL;
    case K_BOOTCTL:
        if (strcmp(v, "flash") != 0 && strcmp(v, "uboot") != 0)
            return "not flash or uboot";
        *(enum agent_bootctl_backend *)(void *)field =
            strcmp(v, "flash") == 0 ? AGENT_BOOTCTL_FLASH : AGENT_BOOTCTL_UBOOT;
        return NULL;
    case K_POLICY:
        if (!nb_agent_policy_parse(v, (enum nb_agent_policy *)(void *)field))
            return "not auto, download-only, window or ask";
        return NULL;
    case K_WINDOW:
        return set_window(p->cfg, v);
    case K_TRIES:
        if (!parse_u64(v, 7, &n) || n == 0)
            return "not a number in 1..7";
        *(uint8_t *)(void *)field = (uint8_t)n;
        return NULL;
    case K_U64:
        if (!parse_u64(v, UINT64_MAX, &n) || n == 0)
            return "not a positive number";
        *(uint64_t *)(void *)field = n;
        return NULL;
    case K_POW2:
    case K_U32:
        if (!parse_u64(v, UINT32_MAX, &n) || (k->kind == K_POW2 && (n == 0 || (n & (n - 1)) != 0)))
            return k->kind == K_POW2 ? "not a power of two" : "not a number";
        *(uint32_t *)(void *)field = (uint32_t)n;
        return NULL;
    }
    return "unknown kind";
}

/* One setting (nb_conffile_fn): the reader puts the file and line first. */
static enum nb_err set_key(void *ctx, const char *name, const char *value, struct nb_diag *why)
{
    struct parser *p = ctx;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].name, name) != 0)
            continue;
        if (p->seen[i])
            return nb_diag_set(why, NB_EPARSE, "key '%s' given twice", name);
        p->seen[i] = true;
        const char *bad = set_value(p, &keys[i], value);
        if (bad != NULL)
            return nb_diag_set(why, NB_EPARSE, "key '%s': '%s' is %s", name, value, bad);
        return NB_OK;
    }
    return nb_diag_set(why, NB_EPARSE, "unknown key '%s'", name);
}

static void set_defaults(struct parser *p)
{
    struct agent_config *c = p->cfg;
    c->backend = AGENT_FLASH_SIM;
    c->erase_size = 4096;
    c->write_size = 16;
    c->health_timeout_s = 30;
    c->tries = 3;
    snprintf(c->component, sizeof c->component, "%s", NB_COMPONENT_DEFAULT);
    (void)set_path(p, "booted", c->booted_file, sizeof c->booted_file);
    c->bootctl = AGENT_BOOTCTL_FLASH;
    snprintf(c->uboot_env_config, sizeof c->uboot_env_config, "/etc/fw_env.config");
    c->poll_interval_s = 900;
    c->poll_jitter_s = 180;
    c->backoff_min_s = 5;
    c->backoff_max_s = 600;
    c->timeout_s = 30;
    c->fetch_max_bytes = NB_AGENT_FETCH_DEFAULT;
    c->install_policy = NB_AGENT_POLICY_AUTO;
    snprintf(c->control_socket, sizeof c->control_socket, "/run/nobrick/agent.sock");
}

/* The online agent's settings, checked together. */
static enum nb_err check_online(const struct agent_config *c, struct nb_diag *diag)
{
    if (c->server[0] != '\0' && strncmp(c->server, "http://", 7) != 0 &&
        strncmp(c->server, "https://", 8) != 0)
        return nb_diag_set(diag, NB_EPARSE,
                           "%s: key 'server': '%s' is not an http:// or https:// URL", c->path,
                           c->server);
    if (c->backoff_min_s == 0 || c->backoff_max_s < c->backoff_min_s)
        return nb_diag_set(diag, NB_EPARSE,
                           "%s: backoff_min_s must be at least 1 and at most backoff_max_s",
                           c->path);
    if (c->install_policy == NB_AGENT_POLICY_WINDOW && !c->window_set)
        return nb_diag_set(diag, NB_EPARSE,
                           "%s: install_policy = window needs maintenance_window = HH:MM-HH:MM",
                           c->path);
    if (c->fetch_max_bytes > NB_AGENT_FETCH_MAX)
        return nb_diag_set(diag, NB_EPARSE,
                           "%s: key 'fetch_max_bytes': %u is past %u bytes, the most one answer "
                           "may hold; give a smaller budget (0: one frame a request)",
                           c->path, (unsigned)c->fetch_max_bytes, (unsigned)NB_AGENT_FETCH_MAX);
    if (c->timeout_s == 0 || c->poll_interval_s == 0)
        return nb_diag_set(diag, NB_EPARSE, "%s: timeout_s and poll_interval_s must be positive",
                           c->path);
    return NB_OK;
}

static bool seen(const struct parser *p, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return p->seen[i];
    return false;
}

static enum nb_err check_required(const struct parser *p, struct nb_diag *diag)
{
    const struct agent_config *c = p->cfg;
    const char *missing = c->flash[0] == '\0'      ? "flash"
                          : c->slot_size == 0      ? "slot_size"
                          : c->hw_class[0] == '\0' ? "hw_class"
                                                   : NULL;
    if (missing != NULL)
        return nb_diag_set(diag, NB_EPARSE, "%s: key '%s' is required", c->path, missing);
    /* A setting that would be silently ignored is a mistake in the file. */
    if (c->bootctl != AGENT_BOOTCTL_UBOOT && seen(p, "uboot_env_config"))
        return nb_diag_set(diag, NB_EPARSE,
                           "%s: key 'uboot_env_config' needs 'bootctl = uboot' (boot control is "
                           "in the flash)",
                           c->path);
    if (c->write_size > c->erase_size)
        return nb_diag_set(diag, NB_EPARSE, "%s: write_size %u is larger than erase_size %u",
                           c->path, c->write_size, c->erase_size);
    return check_online(c, diag);
}

enum nb_err agent_config_load(const char *path, struct agent_config *out, struct nb_diag *diag)
{
    struct agent_config *c = nb_calloc(1, sizeof *c);
    struct parser p = {.cfg = c};
    struct nb_conffile cf = {set_key, &p, "key"};
    enum nb_err err = NB_ENOMEM;
    if (c == NULL)
        goto out;
    int n = snprintf(c->path, sizeof c->path, "%s", path);
    const char *slash = strrchr(path, '/');
    int d = slash == NULL ? snprintf(p.dir, sizeof p.dir, ".")
                          : snprintf(p.dir, sizeof p.dir, "%.*s", (int)(slash - path), path);
    err = NB_ELENGTH;
    if (n < 0 || (size_t)n >= sizeof c->path || d < 0 || (size_t)d >= sizeof p.dir)
        goto out;
    if (slash == path)
        p.dir[0] = '\0'; /* "/agent.conf": relative paths start at "/" */
    set_defaults(&p);
    err = nb_conffile_read(&cf, path, AGENT_CONFIG_MAX, diag);
    if (err == NB_OK)
        err = check_required(&p, diag);
    if (err == NB_OK)
        *out = *c;
out:
    nb_free(c);
    return err;
}
