/* The CLI's configuration file: a strict table of settings over the shared
 * `name = value` reader (unknown names and repeated settings are errors,
 * not silently ignored), the default path under XDG_CONFIG_HOME, and the
 * check that a file holding a token is readable by its owner only, made on
 * the open descriptor (so the file is read here, not by nb_conffile_read). */
#include "cli_config.h"

#include <nobrick/alloc.h>
#include <nobrick/conffile.h>
#include <nobrick/crypto.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct setting {
    const char *name;
    size_t off, size;
};

static const struct setting settings[] = {
    {"server", offsetof(struct cli_config, server), sizeof((struct cli_config *)0)->server},
    {"token", offsetof(struct cli_config, token), sizeof((struct cli_config *)0)->token},
    {"ca", offsetof(struct cli_config, ca), sizeof((struct cli_config *)0)->ca},
    {"timeout", offsetof(struct cli_config, timeout), sizeof((struct cli_config *)0)->timeout},
};

/* One setting (nb_conffile_fn) into the struct cli_config ctx; the reader
 * puts "line N: " first. */
static enum nb_err set_setting(void *ctx, const char *name, const char *value, struct nb_diag *diag)
{
    size_t k = 0, vlen = strlen(value);
    while (k < sizeof settings / sizeof settings[0] && strcmp(settings[k].name, name) != 0)
        k++;
    if (k == sizeof settings / sizeof settings[0])
        return nb_diag_set(diag, NB_EPARSE, "unknown setting '%.40s' (server, token, ca, timeout)",
                           name);
    char *dst = (char *)ctx + settings[k].off;
    if (dst[0] != '\0')
        return nb_diag_set(diag, NB_EPARSE, "%s set twice", settings[k].name);
    if (vlen == 0)
        return nb_diag_set(diag, NB_EPARSE, "%s has no value", settings[k].name);
    if (vlen >= settings[k].size)
        return nb_diag_set(diag, NB_ELENGTH, "%s longer than %zu bytes", settings[k].name,
                           settings[k].size - 1);
    memcpy(dst, value, vlen + 1);
    return NB_OK;
}

enum nb_err cli_config_parse(const char *text, size_t len, struct cli_config *c,
                             struct nb_diag *diag)
{
    struct cli_config tmp;
    memset(&tmp, 0, sizeof tmp);
    struct nb_conffile cf = {set_setting, &tmp, "setting"};
    enum nb_err err = nb_conffile_parse(&cf, NULL, text, len, diag);
    if (err == NB_OK)
        *c = tmp;
    nb_wipe(&tmp, sizeof tmp); /* may hold a token */
    return err;
}

/* Reads the whole open file (at most CLI_CONFIG_MAX_FILE bytes) into buf. */
static enum nb_err read_all(int fd, const char *path, char *buf, size_t *len, struct nb_diag *diag)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, CLI_CONFIG_MAX_FILE + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return nb_diag_set(diag, NB_EIO, "%s: %s", path, strerror(errno));
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > CLI_CONFIG_MAX_FILE)
            return nb_diag_set(diag, NB_ELENGTH, "%s: larger than %u bytes", path,
                               CLI_CONFIG_MAX_FILE);
    }
    *len = n;
    return NB_OK;
}

static enum nb_err check_private(const char *path, const struct stat *st,
                                 const struct cli_config *c, struct nb_diag *diag)
{
    if (c->token[0] == '\0' || (st->st_mode & 077) == 0)
        return NB_OK;
    return nb_diag_set(diag, NB_EUNAUTHORIZED,
                       "%s holds a token but others may read it (mode %03o): run "
                       "'chmod 600 %s'",
                       path, (unsigned)(st->st_mode & 0777), path);
}

enum nb_err cli_config_load(const char *path, struct cli_config *c, bool *found,
                            struct nb_diag *diag)
{
    memset(c, 0, sizeof *c);
    *found = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return NB_OK;
    if (fd < 0)
        return nb_diag_set(diag, NB_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    char *buf = nb_malloc(CLI_CONFIG_MAX_FILE + 1);
    size_t len = 0;
    enum nb_err err = buf == NULL ? nb_diag_set(diag, NB_ENOMEM, "out of memory") : NB_OK;
    if (err == NB_OK && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)))
        err = nb_diag_set(diag, NB_EIO, "%s: not a regular file", path);
    if (err == NB_OK)
        err = read_all(fd, path, buf, &len, diag);
    if (err == NB_OK)
        err = cli_config_parse(buf, len, c, diag);
    if (err != NB_OK && diag != NULL && strncmp(diag->msg, "line ", 5) == 0) {
        char line[sizeof diag->msg];
        (void)snprintf(line, sizeof line, "%s", diag->msg);
        nb_diag_clear(diag);
        err = nb_diag_set(diag, err, "%s: %s", path, line);
    }
    if (err == NB_OK)
        err = check_private(path, &st, c, diag);
    if (err != NB_OK)
        memset(c, 0, sizeof *c);
    if (buf != NULL)
        memset(buf, 0, len);
    nb_free(buf);
    (void)close(fd);
    *found = err == NB_OK;
    return err;
}

bool cli_config_default_path(char *out, size_t size)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int n;
    /* The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored. */
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(out, size, "%s/nobrick/cli.conf", xdg);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(out, size, "%s/.config/nobrick/cli.conf", home);
    else
        return false;
    return n > 0 && (size_t)n < size;
}
