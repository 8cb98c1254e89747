/* Health checks: fork/exec each executable of the health directory with a
 * deadline; kill its whole process group when it overruns, so a check that
 * hangs (or leaves children behind) can never hang the commit decision. */
#include "health.h"

#include <nobrick/alloc.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 10

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nb_free(names[i]);
    nb_free(names);
}

/* The executable regular files of dir, sorted; hidden files are skipped. */
static enum nb_err list_checks(const char *dir, char ***out, size_t *n, struct nb_diag *diag)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT
                   ? NB_OK
                   : nb_diag_set(diag, NB_EIO, "health checks: %s: %s", dir, strerror(errno));
    char **names = nb_calloc(AGENT_HEALTH_MAX_CHECKS, sizeof *names);
    enum nb_err err = names == NULL ? NB_ENOMEM : NB_OK;
    for (struct dirent *e; err == NB_OK && (e = readdir(d)) != NULL;) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.' ||
            (size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path)
            continue;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0)
            continue;
        if (*n == AGENT_HEALTH_MAX_CHECKS)
            err = nb_diag_set(diag, NB_ELENGTH, "health checks: more than %d in %s",
                              AGENT_HEALTH_MAX_CHECKS, dir);
        else if ((names[*n] = nb_strdup(e->d_name)) == NULL)
            err = NB_ENOMEM;
        else
            ++*n;
    }
    closedir(d);
    if (err != NB_OK) {
        free_names(names, *n);
        *n = 0;
        return err;
    }
    qsort(names, *n, sizeof *names, cmp_names);
    *out = names;
    return NB_OK;
}

static void child(const char *path, const struct agent_health_env *env)
{
    (void)setpgid(0, 0);
    (void)dup2(STDERR_FILENO, STDOUT_FILENO); /* keep the agent's stdout for its report */
    if (env != NULL) {
        (void)setenv("NOBRICK_SLOT", env->slot, 1);
        (void)setenv("NOBRICK_VERSION", env->version, 1);
        (void)setenv("NOBRICK_STATE", env->state, 1);
    }
    char *const argv[] = {(char *)path, NULL};
    execv(path, argv);
    fprintf(stderr, "health check %s: cannot run: %s\n", path, strerror(errno));
    _exit(127);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits for pid until the deadline; kills its group when it overruns. */
static void wait_check(pid_t pid, uint32_t timeout_s, struct agent_health_result *out)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000u;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            snprintf(out->why, sizeof out->why, "lost track of it: %s", strerror(errno));
            out->ok = false;
            return;
        }
        if (now_ms() >= deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            (void)waitpid(pid, &status, 0);
            snprintf(out->why, sizeof out->why, "timed out after %u s (killed)", timeout_s);
            out->ok = false;
            return;
        }
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(-pid, SIGKILL); /* whatever it left running in its group */
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    out->ok = false;
    if (WIFEXITED(status))
        snprintf(out->why, sizeof out->why, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(out->why, sizeof out->why, "killed by signal %d", WTERMSIG(status));
}

enum nb_err agent_health_run(const char *dir, uint32_t timeout_s,
                             const struct agent_health_env *env, struct agent_health_result *out,
                             struct nb_diag *diag)
{
    char **names = NULL;
    size_t n = 0;
    memset(out, 0, sizeof *out);
    out->ok = true;
    enum nb_err err = list_checks(dir, &names, &n, diag);
    for (size_t i = 0; err == NB_OK && out->ok && i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            err = nb_diag_set(diag, NB_EIO, "health check %s: cannot start: %s", names[i],
                              strerror(errno));
            break;
        }
        if (pid == 0)
            child(path, env);
        (void)setpgid(pid, pid); /* also here: no race with the kill */
        out->n_run++;
        wait_check(pid, timeout_s, out);
        if (!out->ok)
            snprintf(out->check, sizeof out->check, "%s", names[i]);
    }
    free_names(names, n);
    return err;
}
