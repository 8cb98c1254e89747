/* Unit tests for the test bench's pure parts and its process handling
 * (cli/bench_report.c, cli/bench_tests.c): XML escaping (entities, control
 * bytes, invalid UTF-8, cuts at whole characters), the battery listed
 * sorted without hidden or non-executable files, a test's argv, environment,
 * exit status and timeout, and the JUnit and JSON reports' counts. */
#include "bench.h"

#include <nobrick/alloc.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- XML escaping ------------------------------------------------------------------ */

static void escape_is(const char *in, const char *want)
{
    char out[256];
    size_t n = bench_xml_escape(in, out, sizeof out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_xml_escape(void **state)
{
    (void)state;
    escape_is("a<b>&\"c'", "a&lt;b&gt;&amp;&quot;c&apos;");
    escape_is("tab\there\nline\r", "tab\there\nline\r");
    escape_is("bell\a esc\x1b del", "bell? esc? del");
    escape_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    escape_is("\xc0\xaf", "??");           /* overlong '/' */
    escape_is("\xed\xa0\x80", "???");      /* a UTF-16 surrogate */
    escape_is("\xf4\x90\x80\x80", "????"); /* past U+10FFFF */
    escape_is("cut \xe2\x82", "cut ??");   /* a sequence cut short */
    escape_is("\xff\xfe", "??");
    escape_is("", "");
}

static void test_xml_escape_cut(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(bench_xml_escape("ab&cd", out, 5), 2); /* "&amp;" does not fit: cut before */
    assert_string_equal(out, "ab");
    assert_int_equal(bench_xml_escape("a\xe2\x82\xac", out, 4), 1); /* nor half a character */
    assert_string_equal(out, "a");
    assert_int_equal(bench_xml_escape("abc", out, 1), 0);
    assert_string_equal(out, "");
}

/* ---- the battery -------------------------------------------------------------------- */

static char dir[64];

static void put(const char *name, const char *text, mode_t mode)
{
    char path[256];
    (void)snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static int make_dir(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    (void)snprintf(dir, sizeof dir, "%s/bench.XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_list(void **state)
{
    (void)state;
    struct bench_run run;
    memset(&run, 0, sizeof run);
    struct nb_diag diag = {{0}};
    assert_int_equal(bench_tests_list(&run, dir, &diag), NB_EINVAL); /* empty */
    put("20-b", "#!/bin/sh\n", 0755);
    put("10-a", "#!/bin/sh\n", 0755);
    put(".hidden", "#!/bin/sh\n", 0755);
    put("README", "notes\n", 0644);
    char sub[128];
    (void)snprintf(sub, sizeof sub, "%s/30-dir", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(bench_tests_list(&run, dir, &diag), NB_OK);
    assert_int_equal(run.n_tests, 2);
    nb_diag_clear(&diag);
    assert_string_equal(run.tests[0], "10-a");
    assert_string_equal(run.tests[1], "20-b");
    bench_run_fini(&run);
    assert_int_equal(bench_tests_list(&run, "/nonexistent/bench", &diag), NB_ENOENT);
    assert_non_null(strstr(diag.msg, "/nonexistent/bench"));
    bench_run_fini(&run);
}

static void run_one(const char *name, long timeout_s, struct bench_test *t)
{
    static volatile const sig_atomic_t no_stop = 0;
    char log[128];
    (void)snprintf(log, sizeof log, "%s/%s.log", dir, name);
    struct bench_env env = {"d1d2", "10.0.0.7", "1.2.0", "http://127.0.0.1:1", timeout_s, log};
    struct nb_diag diag = {{0}};
    memset(t, 0, sizeof *t);
    assert_int_equal(bench_test_run(dir, name, &env, &no_stop, t, &diag), NB_OK);
}

static void test_run(void **state)
{
    (void)state;
    struct bench_test t;
    put("env",
        "#!/bin/sh\necho \"$1|$NOBRICK_DEVICE_ID|$NOBRICK_DEVICE_ADDRESS|$NOBRICK_RELEASE|"
        "$NOBRICK_SERVER\"\necho oops >&2\n",
        0755);
    run_one("env", 10, &t);
    assert_int_equal(t.outcome, BENCH_PASS);
    assert_string_equal(t.tail, "d1d2|d1d2|10.0.0.7|1.2.0|http://127.0.0.1:1\noops\n");
    put("fails", "#!/bin/sh\necho broken\nexit 7\n", 0755);
    run_one("fails", 10, &t);
    assert_int_equal(t.outcome, BENCH_FAIL);
    assert_int_equal(t.exit_status, 7);
    assert_string_equal(t.tail, "broken\n");
    put("killed", "#!/bin/sh\nkill -9 $$\n", 0755);
    run_one("killed", 10, &t);
    assert_int_equal(t.outcome, BENCH_FAIL);
    assert_int_equal(t.exit_status, 128 + 9);
    put("slow", "#!/bin/sh\necho started\nsleep 30 &\nwait\n", 0755); /* a child too */
    run_one("slow", 1, &t);
    assert_int_equal(t.outcome, BENCH_TIMEOUT);
    assert_true(t.duration_ms >= 1000 && t.duration_ms < 5000);
    assert_string_equal(t.tail, "started\n");
}

/* ---- reports -------------------------------------------------------------------------- */

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* d0 updated: test 0 passes, test 1 fails; d1 rolled back with E_HEALTH. */
static void sample(struct bench_run *run, struct bench_device dev[2], struct bench_test t[4])
{
    static char names[2][BENCH_NAME_MAX + 1] = {"10-ping", "20-<sensor>"};
    memset(run, 0, sizeof *run);
    memset(dev, 0, 2 * sizeof *dev);
    memset(t, 0, 4 * sizeof *t);
    run->release_id = 3;
    (void)snprintf(run->version, sizeof run->version, "%s", "1.2.0");
    run->tests = names;
    run->n_tests = 2;
    run->dev = dev;
    run->n_dev = 2;
    (void)snprintf(dev[0].id, sizeof dev[0].id, "%s", "aa");
    (void)snprintf(dev[0].state, sizeof dev[0].state, "%s", "succeeded");
    dev[0].updated = true;
    dev[0].tests = t;
    t[0].outcome = BENCH_PASS;
    t[1].outcome = BENCH_FAIL;
    t[1].exit_status = 1;
    (void)snprintf(t[1].tail, sizeof t[1].tail, "%s", "value < 3 & \x01\n");
    (void)snprintf(dev[1].id, sizeof dev[1].id, "%s", "bb");
    (void)snprintf(dev[1].state, sizeof dev[1].state, "%s", "rolled_back");
    (void)snprintf(dev[1].code, sizeof dev[1].code, "%s", "E_HEALTH");
    dev[1].tests = t + 2;
}

static void test_junit(void **state)
{
    (void)state;
    struct bench_run run;
    struct bench_device dev[2];
    struct bench_test t[4];
    sample(&run, dev, t);
    assert_false(bench_run_passed(&run));
    char buf[8192];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_non_null(f);
    assert_int_equal(bench_report_junit(&run, f), NB_OK);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(buf, "<testsuites name=\"nobrick bench\" tests=\"6\" failures=\"2\" "
                                "skipped=\"2\">"));
    assert_int_equal(count(buf, "<testcase "), 6);
    assert_int_equal(count(buf, "<failure "), 2);
    assert_int_equal(count(buf, "<skipped "), 2);
    assert_non_null(strstr(buf, "name=\"20-&lt;sensor&gt;\""));
    assert_non_null(strstr(buf, ">value &lt; 3 &amp; ?\n</failure>"));
    assert_non_null(strstr(buf, "<failure type=\"E_HEALTH\" message=\"rolled_back\">"));
    assert_null(strstr(buf, "<sensor>"));
}

static void test_json(void **state)
{
    (void)state;
    struct bench_run run;
    struct bench_device dev[2];
    struct bench_test t[4];
    sample(&run, dev, t);
    json_t *doc = bench_report_json(&run);
    assert_non_null(doc);
    const json_t *s = json_object_get(doc, "summary");
    assert_int_equal(json_integer_value(json_object_get(s, "devices")), 2);
    assert_int_equal(json_integer_value(json_object_get(s, "updated")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "passed")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "failed")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "not_run")), 2);
    assert_true(json_is_false(json_object_get(doc, "passed")));
    const json_t *u = json_object_get(json_array_get(json_object_get(doc, "devices"), 1), "update");
    assert_string_equal(json_string_value(json_object_get(u, "code")), "E_HEALTH");
    assert_true(strlen(json_string_value(json_object_get(u, "remedy"))) > 10);
    json_decref(doc);
    t[1].outcome = BENCH_PASS; /* all pass on d0, d1 not updated: still failed */
    assert_false(bench_run_passed(&run));
    run.n_dev = 1;
    assert_true(bench_run_passed(&run));
    run.interrupted = true;
    assert_false(bench_run_passed(&run));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_escape),
        cmocka_unit_test(test_xml_escape_cut),
        cmocka_unit_test_setup_teardown(test_list, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_run, make_dir, remove_dir),
        cmocka_unit_test(test_junit),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
