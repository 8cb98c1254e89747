/* The test bench's battery: the executables of a directory, sorted by
 * name, each run once per device in its own process group with the
 * device's identity in argv and the environment, its output captured to a
 * log file, and killed at its timeout. */
#include "bench.h"

#include <nobrick/alloc.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- listing ----------------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* An executable regular file (following symlinks), or a warning. */
static bool is_test(const char *dir, const char *name)
{
    char path[2048];
    struct stat st;
    (void)snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "nobrick: bench run: warning: skipping %s: not a regular file\n", path);
        return false;
    }
    if (access(path, X_OK) != 0) {
        fprintf(stderr,
                "nobrick: bench run: warning: skipping %s: not executable (chmod +x it to run "
                "it)\n",
                path);
        return false;
    }
    return true;
}

static enum nb_err add_test(struct bench_run *run, const char *name, struct nb_diag *diag)
{
    if (strlen(name) > BENCH_NAME_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "test name '%.40s...' is too long", name);
    if (run->n_tests == BENCH_MAX_TESTS)
        return nb_diag_set(diag, NB_ELENGTH, "more than %d tests", BENCH_MAX_TESTS);
    void *p = nb_realloc(run->tests, (run->n_tests + 1) * sizeof run->tests[0]);
    if (p == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory listing tests");
    run->tests = p;
    (void)snprintf(run->tests[run->n_tests++], BENCH_NAME_MAX + 1, "%s", name);
    return NB_OK;
}

enum nb_err bench_tests_list(struct bench_run *run, const char *dir, struct nb_diag *diag)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return nb_diag_set(diag, errno == ENOENT || errno == ENOTDIR ? NB_ENOENT : NB_EIO,
                           "test directory %s: %s", dir, strerror(errno));
    enum nb_err err = NB_OK;
    const struct dirent *e;
    while (err == NB_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.' && is_test(dir, e->d_name))
            err = add_test(run, e->d_name, diag);
    }
    (void)closedir(d);
    if (err == NB_OK && run->n_tests == 0)
        err = nb_diag_set(diag, NB_EINVAL, "test directory %s holds no executable test", dir);
    if (err == NB_OK)
        qsort(run->tests, run->n_tests, sizeof run->tests[0], by_name);
    return err;
}

/* ---- running one test -------------------------------------------------------------- */

long bench_now_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bench_nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    (void)nanosleep(&ts, NULL);
}

/* In the child: never returns. 126 when the test cannot be executed, as a
 * shell would say. */
static void child(const char *path, const struct bench_env *env, int log_fd)
{
    int in = open("/dev/null", O_RDONLY);
    (void)setpgid(0, 0);
    if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0)
        _exit(126);
    if (setenv("NOBRICK_DEVICE_ID", env->device_id, 1) != 0 ||
        setenv("NOBRICK_DEVICE_ADDRESS", env->address, 1) != 0 ||
        setenv("NOBRICK_RELEASE", env->release, 1) != 0 ||
        setenv("NOBRICK_SERVER", env->server, 1) != 0)
        _exit(126);
    char *argv[] = {(char *)path, (char *)env->device_id, NULL};
    execv(path, argv);
    fprintf(stderr, "nobrick bench: cannot execute %s: %s\n", path, strerror(errno));
    _exit(126);
}

/* Waits for pid, killing its group at the deadline or on *stop. */
static int reap(pid_t pid, long deadline_ms, volatile const sig_atomic_t *stop, bool *timed_out)
{
    int status = 0;
    long kill_at = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            return w == pid ? status : -1;
        long t = bench_now_ms();
        if (kill_at == 0 && (t >= deadline_ms || *stop)) {
            *timed_out = !*stop;
            (void)kill(-pid, SIGTERM);
            kill_at = t + 2000;
        } else if (kill_at != 0 && t >= kill_at) {
            (void)kill(-pid, SIGKILL);
            kill_at = t + 60000;
        }
        bench_nap_ms(20);
    }
}

/* The last bytes of the log, from a line start when one is in reach. */
static void read_tail(const char *log_path, char *out, size_t size)
{
    out[0] = '\0';
    FILE *f = fopen(log_path, "rb");
    if (f == NULL)
        return;
    if (fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        long from = end > (long)size - 1 ? end - (long)size + 1 : 0;
        if (fseek(f, from, SEEK_SET) == 0) {
            size_t n = fread(out, 1, size - 1, f);
            out[n] = '\0';
            char *nl = from > 0 ? strchr(out, '\n') : NULL;
            if (nl != NULL)
                memmove(out, nl + 1, strlen(nl + 1) + 1);
        }
    }
    (void)fclose(f);
}

static void settle(struct bench_test *out, int status, bool timed_out)
{
    if (timed_out)
        out->outcome = BENCH_TIMEOUT;
    else if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        out->outcome = BENCH_PASS;
    else
        out->outcome = BENCH_FAIL;
    if (status >= 0 && WIFEXITED(status))
        out->exit_status = WEXITSTATUS(status);
    else if (status >= 0 && WIFSIGNALED(status))
        out->exit_status = 128 + WTERMSIG(status);
    else
        out->exit_status = -1;
}

enum nb_err bench_test_run(const char *dir, const char *name, const struct bench_env *env,
                           volatile const sig_atomic_t *stop, struct bench_test *out,
                           struct nb_diag *diag)
{
    char path[2048];
    (void)snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(env->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return nb_diag_set(diag, NB_EIO, "test log %s: %s", env->log_path, strerror(errno));
    (void)fflush(NULL); /* the child must not write our buffers again */
    long start = bench_now_ms();
    pid_t pid = fork();
    if (pid == 0)
        child(path, env, fd);
    (void)close(fd);
    if (pid < 0)
        return nb_diag_set(diag, NB_EIO, "cannot start test %s: %s", path, strerror(errno));
    (void)setpgid(pid, pid); /* also here: kill(-pid) must find the group at once */
    bool timed_out = false;
    int status = reap(pid, start + env->timeout_s * 1000, stop, &timed_out);
    out->duration_ms = bench_now_ms() - start;
    settle(out, status, timed_out);
    if (*stop && !timed_out && out->outcome == BENCH_FAIL)
        out->outcome = BENCH_NOT_RUN; /* killed by the interruption, not failed */
    read_tail(env->log_path, out->tail, sizeof out->tail);
    return NB_OK;
}
