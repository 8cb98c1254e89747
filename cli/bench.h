/* The test bench, `nobrick bench run` (cmd_bench.c): what one run found
 * for each device (its update, then each test of the battery), how the
 * battery is found and run (bench_tests.c), and how the result is written
 * for people and CI pipelines (bench_report.c: a table, JSON, JUnit XML). */
#ifndef NOBRICK_CLI_BENCH_H
#define NOBRICK_CLI_BENCH_H

#include <nobrick/err.h>

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BENCH_MAX_DEVICES 1000 /* one page of the device list */
#define BENCH_MAX_TESTS 256
#define BENCH_NAME_MAX 255       /* a test's file name */
#define BENCH_TAIL_MAX 1024      /* the end of a test's output kept for the report */
#define BENCH_EXIT_UNREACHABLE 3 /* the server did not answer */

enum bench_outcome {
    BENCH_NOT_RUN, /* its device did not update, or the run was interrupted */
    BENCH_PASS,
    BENCH_FAIL,    /* non-zero exit, killed by a signal, or could not start */
    BENCH_TIMEOUT, /* killed after the per-test timeout */
};

/* One test on one device. */
struct bench_test {
    enum bench_outcome outcome;
    int exit_status; /* BENCH_FAIL: the exit status, or 128 + signal */
    long duration_ms;
    char tail[BENCH_TAIL_MAX]; /* last bytes of its output (stdout and stderr) */
};

/* One device: its update, then one bench_test per name of the battery. */
struct bench_device {
    char id[65];
    char hw_class[64];
    char address[256];        /* as the server knows it; "" when it does not */
    long long deployment;     /* 0: not deployed */
    char state[24];           /* the assignment's last state; "timed out" when it never ended */
    char code[32];            /* the error code the device reported ("E_HEALTH"), or "" */
    char message[256];        /* the device's message for that code */
    bool updated;             /* succeeded: committed and checked in on the release */
    char log_dir[1024];       /* where its tests' output went */
    struct bench_test *tests; /* n_tests of bench_run, in the battery's order */
};

/* A whole run. Owned arrays, released by bench_run_fini. */
struct bench_run {
    long long release_id;
    char version[64];
    char tests_dir[1024];
    char (*tests)[BENCH_NAME_MAX + 1]; /* the battery, sorted by name */
    size_t n_tests;
    struct bench_device *dev;
    size_t n_dev;
    bool interrupted; /* Ctrl-C (or SIGTERM) stopped it */
};

void bench_run_fini(struct bench_run *run);

/* The outcome's word in reports: "pass", "fail", "timeout", "not run". */
const char *bench_outcome_name(enum bench_outcome o);

/* True when every device updated and every test of every device passed. */
bool bench_run_passed(const struct bench_run *run);

/* ---- the battery (bench_tests.c) ----------------------------------------------------- */

/* Lists the executables of dir, sorted by name (bytewise), into run->tests;
 * names starting with '.' are ignored, other entries that are not
 * executable regular files are skipped with a warning on stderr.
 * NB_ENOENT (no such directory), NB_EIO (not readable), NB_EINVAL (no
 * executable in it), NB_ELENGTH (more than BENCH_MAX_TESTS, or a name
 * past BENCH_NAME_MAX), NB_ENOMEM; diag says which. */
NB_MUST_CHECK enum nb_err bench_tests_list(struct bench_run *run, const char *dir,
                                           struct nb_diag *diag);

/* What a test receives: its device, the release, the server. */
struct bench_env {
    const char *device_id, *address, *release, *server;
    long timeout_s;
    const char *log_path; /* stdout and stderr go here (created, truncated) */
};

/* Runs dir/name with argv[1] = the device id and NOBRICK_DEVICE_ID,
 * NOBRICK_DEVICE_ADDRESS, NOBRICK_RELEASE and NOBRICK_SERVER in its
 * environment, in its own process group, stdin from /dev/null; kills the
 * group (SIGTERM, then SIGKILL after 2 s) at the timeout or when *stop
 * becomes true. Fills *out. NB_EIO when the log cannot be created or the
 * process cannot be started. */
NB_MUST_CHECK enum nb_err bench_test_run(const char *dir, const char *name,
                                         const struct bench_env *env,
                                         volatile const sig_atomic_t *stop, struct bench_test *out,
                                         struct nb_diag *diag);

/* ---- deploying and waiting (bench_wait.c) ------------------------------------------------ */

struct cli_remote;

/* Deploys run->release_id to each device of run (one deployment each, as
 * `nobrick deploy --device` does), then polls the deployments, with a
 * progress line on stderr, until every assignment is final or timeout_s
 * has passed, filling each device's state, code, message and updated.
 * When *stop becomes true, cancels the deployments not yet final, sets
 * run->interrupted and returns. CLI_EXIT_OK, CLI_EXIT_FAIL or
 * BENCH_EXIT_UNREACHABLE after printing what failed. */
int bench_deploy_and_wait(struct cli_remote *r, struct bench_run *run, long timeout_s,
                          volatile const sig_atomic_t *stop);

/* The monotonic clock in milliseconds, and a sleep that a signal cuts
 * short (the caller checks its stop flag next); in bench_tests.c. */
long bench_now_ms(void);
void bench_nap_ms(long ms);

/* ---- reports (bench_report.c) --------------------------------------------------------- */

/* Escapes s for XML text and attribute values: & < > " ' as entities,
 * control bytes other than tab, newline and carriage return, and bytes
 * that are not valid UTF-8, as '?' (XML 1.0 cannot carry them). Writes at
 * most size bytes with the NUL, cutting at a whole character; returns the
 * length written. */
size_t bench_xml_escape(const char *s, char *out, size_t size);

/* The per-device table and the summary line, for people. */
void bench_report_print(const struct bench_run *run, FILE *f);

/* The same as JSON: {"release":{...},"passed":bool,"devices":[...]}. NULL
 * when out of memory. */
json_t *bench_report_json(const struct bench_run *run);

/* JUnit XML: one <testsuite> per device, an "update" testcase first, then
 * one per test. NB_EIO when f fails. */
NB_MUST_CHECK enum nb_err bench_report_junit(const struct bench_run *run, FILE *f);

#endif
