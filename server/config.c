/* Options of nobrick-server (config.h), from the command line and an
 * optional config file, with defaults. One table drives both. */
#include "config.h"

#include <nobrick/alloc.h>
#include <nobrick/conffile.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_U32, K_SIZE, K_U64 };

struct option {
    const char *name;
    enum kind kind;
    size_t off;
    const char *help;
};

#define OPT(name, kind, field, help)                                                               \
    {                                                                                              \
        name, kind, offsetof(struct srv_config, field), help                                       \
    }
static const struct option options[] = {
    OPT("db", K_STR, db_url, "store URL, sqlite:PATH"),
    OPT("data", K_STR, data_dir, "directory of the artifacts"),
    OPT("listen", K_STR, listen, "IPV4ADDR:PORT (default 127.0.0.1:8443; port 0: any free)"),
    OPT("director-key", K_STR, director_key, "the director's key file (or pkcs11: URI)"),
    OPT("root", K_STR, root_path, "the fleet's root.json, to verify uploaded bundles"),
    OPT("tls-cert", K_STR, tls_cert, "PEM certificate (with --tls-key: HTTPS)"),
    OPT("tls-key", K_STR, tls_key, "PEM private key"),
    OPT("log-level", K_STR, log_level, "debug, info (default), warn or error"),
    OPT("threads", K_U32, threads, "request threads (default 4)"),
    OPT("max-inflight", K_U32, max_inflight, "requests in flight before 503 (default 256)"),
    OPT("poll-interval", K_U32, poll_interval_s, "seconds between device check-ins (900)"),
    OPT("poll-jitter", K_U32, poll_jitter_s, "random extra seconds, at most (180)"),
    OPT("device-token-ttl", K_U32, device_token_ttl_s, "seconds a device token lives (900)"),
    OPT("instruction-ttl", K_U32, instruction_ttl_s, "seconds an instruction is valid (3600)"),
    OPT("retry-after", K_U32, retry_after_s, "Retry-After seconds when busy (30)"),
    OPT("min-checkin-interval", K_U32, min_checkin_s,
        "seconds a device must wait between check-ins, else 429 (10)"),
    OPT("rollout-tick", K_U32, rollout_tick_s, "seconds between rollout engine ticks (10; 0: off)"),
    OPT("max-downloading", K_U32, max_downloading,
        "a rollout's devices downloading at once when its spec sets none (0: no cap)"),
    OPT("clock-file", K_STR, clock_file,
        "simulator and tests only: follow the Unix time in this file (loopback only)"),
    OPT("max-json-body", K_SIZE, max_json_body, "bytes of a JSON body (65536)"),
    OPT("max-upload", K_U64, max_upload, "bytes of an uploaded bundle (4 GiB)"),
};

void srv_config_defaults(struct srv_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = "127.0.0.1:8443";
    cfg->log_level = "info";
    cfg->threads = 4;
    cfg->max_inflight = 256;
    cfg->poll_interval_s = 900;
    cfg->poll_jitter_s = 180;
    cfg->device_token_ttl_s = 900;
    cfg->challenge_ttl_s = 60;
    cfg->instruction_ttl_s = 3600;
    cfg->retry_after_s = 30;
    cfg->min_checkin_s = 10;
    cfg->max_json_body = 64 * 1024;
    cfg->max_upload = UINT64_C(4) << 30;
    cfg->rollout_tick_s = 10;
}

#define N_OPTIONS (sizeof options / sizeof options[0])
#define CONFIG_FILE_MAX (64 * 1024)

/* Copies of the config file's strings, one per option, freed by config_free. */
static char *file_strings[N_OPTIONS];

void config_free(void)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        nb_free(file_strings[i]);
        file_strings[i] = NULL;
    }
}

void config_usage(FILE *f)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        fprintf(f, "  --%-18s %s\n", options[i].name, options[i].help);
    fprintf(f, "  --%-18s %s\n", "config FILE", "read 'name = value' lines first");
}

static enum nb_err set_value(struct srv_config *cfg, const struct option *o, const char *v,
                             struct nb_diag *diag)
{
    char *field = (char *)cfg + o->off;
    if (o->kind == K_STR) {
        memcpy(field, &v, sizeof v);
        return NB_OK;
    }
    char *end = NULL;
    unsigned long long n = v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10) : 0;
    unsigned long long max = o->kind == K_U32    ? UINT32_MAX
                             : o->kind == K_SIZE ? SIZE_MAX
                                                 : UINT64_MAX;
    if (end == NULL || *end != '\0' || n > max)
        return nb_diag_set(diag, NB_EINVAL, "--%s: '%.40s' is not an integer 0..%llu", o->name, v,
                           max);
    if (o->kind == K_U32) {
        uint32_t x = (uint32_t)n;
        memcpy(field, &x, sizeof x);
    } else if (o->kind == K_SIZE) {
        size_t x = (size_t)n;
        memcpy(field, &x, sizeof x);
    } else {
        uint64_t x = (uint64_t)n;
        memcpy(field, &x, sizeof x);
    }
    return NB_OK;
}

static const struct option *find_option(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

static enum nb_err set_option(struct srv_config *cfg, const char *name, const char *v,
                              struct nb_diag *diag)
{
    const struct option *o = find_option(name);
    if (o == NULL)
        return nb_diag_set(diag, NB_EINVAL, "unknown option '%.60s'", name);
    return set_value(cfg, o, v, diag);
}

/* One line of the config file (nb_conffile_fn). The reader's text lives
 * only during the call, so a string is copied to outlive it. */
static enum nb_err set_file_option(void *ctx, const char *name, const char *v, struct nb_diag *diag)
{
    const struct option *o = find_option(name);
    if (o == NULL || o->kind != K_STR)
        return set_option(ctx, name, v, diag);
    char *copy = nb_strdup(v);
    if (copy == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    nb_free(file_strings[o - options]); /* an option given twice: the last wins */
    file_strings[o - options] = copy;
    return set_value(ctx, o, copy, diag);
}

static enum nb_err apply_args(struct srv_config *cfg, int argc, char **argv, int first,
                              struct nb_diag *diag)
{
    for (int i = first; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0)
            return nb_diag_set(diag, NB_EINVAL, "unexpected argument '%.60s'", argv[i]);
        if (i + 1 >= argc)
            return nb_diag_set(diag, NB_EINVAL, "%.60s needs a value", argv[i]);
        const char *name = argv[i] + 2, *v = argv[++i];
        if (strcmp(name, "config") == 0)
            continue;
        enum nb_err err = set_option(cfg, name, v, diag);
        if (err != NB_OK)
            return err;
    }
    return NB_OK;
}

enum nb_err config_load(struct srv_config *cfg, int argc, char **argv, int first,
                        struct nb_diag *diag)
{
    const char *path = NULL;
    for (int i = first; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--config") != 0)
            continue;
        if (path != NULL)
            return nb_diag_set(diag, NB_EINVAL, "--config given twice");
        path = argv[i + 1];
    }
    struct nb_conffile cf = {set_file_option, cfg, "option"};
    enum nb_err err = path != NULL ? nb_conffile_read(&cf, path, CONFIG_FILE_MAX, diag) : NB_OK;
    if (err == NB_OK)
        err = apply_args(cfg, argc, argv, first, diag);
    return err;
}
