/* What `nobrick bench run` found, written three ways from one struct
 * bench_run: a table per device for people, JSON (--json) and JUnit XML
 * (--junit) for CI pipelines. A failed update carries the device's code,
 * its message and the remedy sentence of nobrick/remedy.h. */
#include "bench.h"
#include "table.h"

#include <nobrick/alloc.h>
#include <nobrick/remedy.h>

#include <string.h>

void bench_run_fini(struct bench_run *run)
{
    for (size_t i = 0; run->dev != NULL && i < run->n_dev; i++)
        nb_free(run->dev[i].tests);
    nb_free(run->dev);
    nb_free(run->tests);
    run->dev = NULL;
    run->tests = NULL;
    run->n_dev = run->n_tests = 0;
}

const char *bench_outcome_name(enum bench_outcome o)
{
    switch (o) {
    case BENCH_PASS:
        return "pass";
    case BENCH_FAIL:
        return "fail";
    case BENCH_TIMEOUT:
        return "timeout";
    case BENCH_NOT_RUN:
        break;
    }
    return "not run";
}

bool bench_run_passed(const struct bench_run *run)
{
    if (run->interrupted || run->n_dev == 0)
        return false;
    for (size_t i = 0; i < run->n_dev; i++) {
        if (!run->dev[i].updated)
            return false;
        for (size_t t = 0; t < run->n_tests; t++) {
            if (run->dev[i].tests[t].outcome != BENCH_PASS)
                return false;
        }
    }
    return true;
}

/* The remedy of a reported code ("E_HEALTH"); "" for no or unknown code. */
static const char *remedy_of(const char *code)
{
    size_t n = 0;
    const struct nb_remedy *t = nb_remedy_table(&n);
    for (size_t i = 0; code[0] != '\0' && i < n; i++) {
        if (strcmp(nb_errname(t[i].code), code) == 0)
            return t[i].what_to_do;
    }
    return "";
}

struct counts {
    size_t updated, tests, pass, fail, timeout, not_run;
};

static struct counts count(const struct bench_run *run)
{
    struct counts c = {0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < run->n_dev; i++) {
        c.updated += run->dev[i].updated;
        for (size_t t = 0; t < run->n_tests; t++) {
            enum bench_outcome o = run->dev[i].tests[t].outcome;
            c.tests++;
            c.pass += o == BENCH_PASS;
            c.fail += o == BENCH_FAIL;
            c.timeout += o == BENCH_TIMEOUT;
            c.not_run += o == BENCH_NOT_RUN;
        }
    }
    return c;
}

/* ---- XML ------------------------------------------------------------------------------ */

/* The length of the valid UTF-8 sequence at s (1..4), or 0. Overlong forms,
 * surrogates and code points past U+10FFFF are invalid (RFC 3629). */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    }
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

static const char *entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&apos;";
    default:
        return NULL;
    }
}

size_t bench_xml_escape(const char *s, char *out, size_t size)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p != '\0') {
        const char *ent = entity((char)*p);
        size_t take = *p < 0x80 ? 1 : utf8_len(p), n = 1;
        const char *from = (const char *)p;
        if (ent != NULL) {
            from = ent;
            n = strlen(ent);
        } else if (take == 0 || (*p < ' ' && *p != '\t' && *p != '\n' && *p != '\r')) {
            from = "?";
            take = 1;
        } else {
            n = take;
        }
        if (o + n + 1 > size)
            break;
        memcpy(out + o, from, n);
        o += n;
        p += take;
    }
    if (size > 0)
        out[o] = '\0';
    return o;
}

static void put_xml(FILE *f, const char *s)
{
    char buf[BENCH_TAIL_MAX * 6 + 1]; /* the longest entity per byte */
    (void)bench_xml_escape(s, buf, sizeof buf);
    fputs(buf, f);
}

static void junit_update(const struct bench_run *run, const struct bench_device *d, FILE *f)
{
    fputs("    <testcase classname=\"", f);
    put_xml(f, d->id);
    fputs("\" name=\"update to ", f);
    put_xml(f, run->version);
    fputs("\">\n", f);
    if (!d->updated) {
        fputs("      <failure type=\"", f);
        put_xml(f, d->code[0] != '\0' ? d->code : d->state);
        fputs("\" message=\"", f);
        put_xml(f, d->state);
        if (d->message[0] != '\0') {
            fputs(": ", f);
            put_xml(f, d->message);
        }
        fputs("\">", f);
        put_xml(f, remedy_of(d->code));
        fputs("</failure>\n", f);
    }
    fputs("    </testcase>\n", f);
}

static void junit_test(const struct bench_device *d, const char *name, const struct bench_test *t,
                       FILE *f)
{
    fputs("    <testcase classname=\"", f);
    put_xml(f, d->id);
    fputs("\" name=\"", f);
    put_xml(f, name);
    fprintf(f, "\" time=\"%ld.%03ld\">\n", t->duration_ms / 1000, t->duration_ms % 1000);
    if (t->outcome == BENCH_NOT_RUN) {
        fprintf(f, "      <skipped message=\"%s\"/>\n",
                d->updated ? "interrupted" : "the device did not update");
    } else if (t->outcome != BENCH_PASS) {
        if (t->outcome == BENCH_TIMEOUT)
            fputs("      <failure type=\"timeout\" message=\"killed at its timeout\">", f);
        else
            fprintf(f, "      <failure type=\"exit\" message=\"exit status %d\">", t->exit_status);
        put_xml(f, t->tail);
        fputs("</failure>\n", f);
    }
    if (t->outcome == BENCH_PASS) {
        fputs("      <system-out>", f);
        put_xml(f, t->tail);
        fputs("</system-out>\n", f);
    }
    fputs("    </testcase>\n", f);
}

enum nb_err bench_report_junit(const struct bench_run *run, FILE *f)
{
    struct counts c = count(run);
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"nobrick bench\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n",
            run->n_dev + c.tests, run->n_dev - c.updated + c.fail + c.timeout, c.not_run);
    for (size_t i = 0; i < run->n_dev; i++) {
        const struct bench_device *d = &run->dev[i];
        size_t failures = !d->updated, skipped = 0;
        for (size_t t = 0; t < run->n_tests; t++) {
            failures += d->tests[t].outcome == BENCH_FAIL || d->tests[t].outcome == BENCH_TIMEOUT;
            skipped += d->tests[t].outcome == BENCH_NOT_RUN;
        }
        fputs("  <testsuite name=\"", f);
        put_xml(f, d->id);
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n", run->n_tests + 1,
                failures, skipped);
        junit_update(run, d, f);
        for (size_t t = 0; t < run->n_tests; t++)
            junit_test(d, run->tests[t], &d->tests[t], f);
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
    return fflush(f) == 0 && !ferror(f) ? NB_OK : NB_EIO;
}

/* ---- JSON ----------------------------------------------------------------------------- */

static json_t *device_json(const struct bench_run *run, const struct bench_device *d)
{
    json_t *tests = json_array();
    for (size_t t = 0; tests != NULL && t < run->n_tests; t++) {
        const struct bench_test *x = &d->tests[t];
        json_array_append_new(tests, json_pack("{s:s, s:s, s:i, s:I, s:s}", "name", run->tests[t],
                                               "result", bench_outcome_name(x->outcome),
                                               "exit_status", x->exit_status, "duration_ms",
                                               (json_int_t)x->duration_ms, "output_tail", x->tail));
    }
    return json_pack("{s:s, s:s, s:s, s:I, s:{s:b, s:s, s:s, s:s, s:s}, s:s, s:o*}", "id", d->id,
                     "hw_class", d->hw_class, "address", d->address, "deployment_id",
                     (json_int_t)d->deployment, "update", "succeeded", d->updated, "state",
                     d->state, "code", d->code, "message", d->message, "remedy", remedy_of(d->code),
                     "log_dir", d->log_dir, "tests", tests);
}

json_t *bench_report_json(const struct bench_run *run)
{
    struct counts c = count(run);
    json_t *devs = json_array();
    for (size_t i = 0; devs != NULL && i < run->n_dev; i++)
        json_array_append_new(devs, device_json(run, &run->dev[i]));
    return json_pack("{s:{s:I, s:s}, s:s, s:b, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o*}",
                     "release", "id", (json_int_t)run->release_id, "version", run->version,
                     "tests_dir", run->tests_dir, "passed", bench_run_passed(run), "interrupted",
                     run->interrupted, "summary", "devices", (json_int_t)run->n_dev, "updated",
                     (json_int_t)c.updated, "tests", (json_int_t)c.tests, "passed",
                     (json_int_t)c.pass, "failed", (json_int_t)c.fail, "timed_out",
                     (json_int_t)c.timeout, "not_run", (json_int_t)c.not_run, "devices", devs);
}

/* ---- people --------------------------------------------------------------------------- */

static void print_update(const struct bench_run *run, const struct bench_device *d, FILE *f)
{
    fprintf(f, "\ndevice %s (%s): ", d->id, d->hw_class);
    if (d->updated) {
        fprintf(f, "updated to %s (deployment %lld)\n", run->version, d->deployment);
        return;
    }
    fprintf(f, "update %s", d->state);
    if (d->code[0] != '\0')
        fprintf(f, ": %s", d->code);
    if (d->message[0] != '\0')
        fprintf(f, ": %s", d->message);
    fputc('\n', f);
    if (remedy_of(d->code)[0] != '\0')
        fprintf(f, "  what to do: %s\n", remedy_of(d->code));
}

/* The last line of a test's output, for the table. */
static void last_line(const char *tail, char *out, size_t size)
{
    size_t n = strlen(tail);
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
        n--;
    size_t b = n;
    while (b > 0 && tail[b - 1] != '\n')
        b--;
    size_t len = n - b < size - 1 ? n - b : size - 1;
    for (size_t i = 0; i < len; i++)
        out[i] = tail[b + i] >= ' ' && tail[b + i] <= '~' ? tail[b + i] : '?';
    out[len] = '\0';
}

static enum nb_err print_tests(const struct bench_run *run, const struct bench_device *d, FILE *f)
{
    static const char *const head[] = {"  TEST", "RESULT", "TIME", "OUTPUT (last line)"};
    struct cli_table *t = cli_table_new(4, head);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    for (size_t i = 0; err == NB_OK && i < run->n_tests; i++) {
        const struct bench_test *x = &d->tests[i];
        char name[BENCH_NAME_MAX + 3], res[32], time[32], line[120];
        (void)snprintf(name, sizeof name, "  %s", run->tests[i]);
        if (x->outcome == BENCH_FAIL)
            (void)snprintf(res, sizeof res, "fail (%d)", x->exit_status);
        else
            (void)snprintf(res, sizeof res, "%s", bench_outcome_name(x->outcome));
        (void)snprintf(time, sizeof time, "%ld.%01lds", x->duration_ms / 1000,
                       x->duration_ms % 1000 / 100);
        last_line(x->tail, line, sizeof line);
        const char *cells[] = {name, res, x->outcome == BENCH_NOT_RUN ? "" : time, line};
        err = cli_table_add(t, cells);
    }
    if (err == NB_OK && run->n_tests > 0)
        cli_table_print(t, f);
    if (err == NB_OK && run->n_tests > 0 && d->log_dir[0] != '\0')
        fprintf(f, "  logs: %s\n", d->log_dir);
    cli_table_free(t);
    return err;
}

void bench_report_print(const struct bench_run *run, FILE *f)
{
    struct counts c = count(run);
    for (size_t i = 0; i < run->n_dev; i++) {
        print_update(run, &run->dev[i], f);
        if (print_tests(run, &run->dev[i], f) != NB_OK)
            fprintf(f, "  (out of memory printing the tests)\n");
    }
    fprintf(f, "\nbench: release %s: %zu of %zu device%s updated", run->version, c.updated,
            run->n_dev, run->n_dev == 1 ? "" : "s");
    if (run->n_tests > 0)
        fprintf(f, "; tests: %zu passed, %zu failed, %zu timed out, %zu not run", c.pass, c.fail,
                c.timeout, c.not_run);
    fprintf(f, "%s: %s\n", run->interrupted ? " (interrupted)" : "",
            bench_run_passed(run) ? "PASSED" : "FAILED");
}
