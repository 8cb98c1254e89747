/* Unit tests for lib/host/conffile.c, the "name = value" reader of the
 * agent, the server and the CLI: blanks, comments, CRLF and a missing final
 * newline; the first '=' splits; its refusals (no '=', an empty name, a NUL
 * byte) and the callback's, each with "FILE:LINE: " (or "line N: ") first;
 * files through nb_file_read with a cap; a failed allocation. */
#include <nobrick/alloc.h>
#include <nobrick/conffile.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the callback saw; "bad" as a name makes it refuse. */
struct seen {
    int n;
    char names[8][32], values[8][32];
};

static enum nb_err collect(void *ctx, const char *name, const char *value, struct nb_diag *diag)
{
    struct seen *s = ctx;
    if (strcmp(name, "bad") == 0)
        return nb_diag_set(diag, NB_EINVAL, "'%s' is no good", value);
    if (strcmp(name, "silent") == 0)
        return NB_EUNSUPPORTED; /* an error without a message */
    assert_true(s->n < 8);
    (void)snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
    (void)snprintf(s->values[s->n], sizeof s->values[0], "%s", value);
    s->n++;
    return NB_OK;
}

static enum nb_err parse(const char *origin, const char *text, size_t len, struct seen *s,
                         struct nb_diag *d)
{
    struct nb_conffile cf = {collect, s, "key"};
    memset(s, 0, sizeof *s);
    nb_diag_clear(d);
    return nb_conffile_parse(&cf, origin, text, len, d);
}

static void test_parse(void **state)
{
    (void)state;
    struct seen s;
    struct nb_diag d;
    const char text[] = "# a comment\n\n  a =  1  \r\n\t# indented comment\nb=2\n"
                        "url = http://x/?q=1\nempty =\n \t\r\nlast = no newline";
    assert_int_equal(parse("x.conf", text, strlen(text), &s, &d), NB_OK);
    assert_int_equal(s.n, 5);
    const char *names[] = {"a", "b", "url", "empty", "last"};
    const char *values[] = {"1", "2", "http://x/?q=1", "", "no newline"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(s.names[i], names[i]);
        assert_string_equal(s.values[i], values[i]);
    }
    assert_int_equal(parse("x.conf", "", 0, &s, &d), NB_OK);
    assert_int_equal(s.n, 0);
    /* The text need not be NUL-terminated: only len bytes are read. */
    assert_int_equal(parse("x.conf", "a = 1\nb = 2", 5, &s, &d), NB_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.values[0], "1");
}

static void refused(const char *origin, const char *text, size_t len, enum nb_err want,
                    const char *msg, int settings_before)
{
    struct seen s;
    struct nb_diag d;
    assert_int_equal(parse(origin, text, len, &s, &d), want);
    assert_string_equal(d.msg, msg);
    assert_int_equal(s.n, settings_before); /* stopped at the bad line */
}

static void test_refused(void **state)
{
    (void)state;
    const char *t = "a = 1\n\n# c\nno equals sign\nb = 2\n";
    refused("x.conf", t, strlen(t), NB_EPARSE, "x.conf:4: not 'name = value'", 1);
    refused(NULL, t, strlen(t), NB_EPARSE, "line 4: not 'name = value'", 1);
    refused("x.conf", "a = 1\n = 2\n", 11, NB_EPARSE, "x.conf:2: unknown key ''", 1);
    refused("x.conf", "a = 1\nb = x\0y\n", 14, NB_EPARSE, "x.conf:2: NUL byte", 1);
    refused("x.conf", "# \0 in a comment\n", 17, NB_EPARSE, "x.conf:1: NUL byte", 0);
    refused("x.conf", "a = 1\r\nbad = v\nc = 3\n", 21, NB_EINVAL, "x.conf:2: 'v' is no good", 1);
    refused("x.conf", "silent = 1\n", 11, NB_EUNSUPPORTED, "x.conf:1: not supported", 0);
    refused(NULL, "silent = 1\n", 11, NB_EUNSUPPORTED, "line 1: not supported", 0);
}

static void test_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/nb-conffile-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof path, "%s/a.conf", dir);
    struct seen s = {0};
    struct nb_conffile cf = {collect, &s, "key"};
    struct nb_diag d = {{0}};
    assert_int_equal(nb_conffile_read(&cf, path, 1024, &d), NB_ENOENT);
    assert_non_null(strstr(d.msg, path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("a = 1\nbad = 2\n", f);
    assert_int_equal(fclose(f), 0);
    nb_diag_clear(&d);
    assert_int_equal(nb_conffile_read(&cf, path, 1024, &d), NB_EINVAL);
    char want[128];
    (void)snprintf(want, sizeof want, "%s:2: '2' is no good", path);
    assert_string_equal(d.msg, want);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.names[0], "a");
    nb_diag_clear(&d);
    assert_int_equal(nb_conffile_read(&cf, path, 10, &d), NB_ELENGTH); /* 14 bytes */
    unlink(path);
    rmdir(dir);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    struct seen s;
    struct nb_diag d;
    nb_alloc_fail_after(0);
    enum nb_err err = parse("x.conf", "a = 1\n", 6, &s, &d);
    nb_alloc_fail_after(-1);
    assert_int_equal(err, NB_ENOMEM);
    assert_int_equal(s.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
