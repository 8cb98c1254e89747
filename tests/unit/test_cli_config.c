/* Unit tests for cli/cli_config.c: the `name = value` parser (blanks,
 * comments, CRLF, a missing final newline), its refusals (unknown names,
 * repeats, no '=', empty and oversized values) naming the line, and the
 * loader's permission check: a token in a file others may read is refused
 * with a chmod 600 hint, while a file without a token may be 0644. */
#include "cli_config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum nb_err parse(const char *text, struct cli_config *c, struct nb_diag *d)
{
    nb_diag_clear(d);
    return cli_config_parse(text, strlen(text), c, d);
}

static void test_parse(void **state)
{
    (void)state;
    struct cli_config c;
    struct nb_diag d;
    const char *text = "# the fleet\n\n  server =  https://ota.example.com:8443  \r\n"
                       "token=nbt_abc\nca = /etc/nobrick/ca.pem\n\t# indented comment\n"
                       "timeout = 30";
    assert_int_equal(parse(text, &c, &d), NB_OK);
    assert_string_equal(c.server, "https://ota.example.com:8443");
    assert_string_equal(c.token, "nbt_abc");
    assert_string_equal(c.ca, "/etc/nobrick/ca.pem");
    assert_string_equal(c.timeout, "30");
    assert_int_equal(parse("", &c, &d), NB_OK);
    assert_string_equal(c.server, "");
    assert_int_equal(parse("server = http://a=b\n", &c, &d), NB_OK); /* first '=' splits */
    assert_string_equal(c.server, "http://a=b");
}

static void refused(const char *text, enum nb_err want, const char *msg)
{
    struct cli_config c;
    struct nb_diag d;
    memset(&c, 0x55, sizeof c);
    assert_int_equal(parse(text, &c, &d), want);
    if (strstr(d.msg, msg) == NULL)
        fail_msg("'%s' not in '%s'", msg, d.msg);
}

static void test_refused(void **state)
{
    (void)state;
    refused("server = a\nsever = b\n", NB_EPARSE, "line 2: unknown setting 'sever'");
    refused("token = a\ntoken = b\n", NB_EPARSE, "line 2: token set twice");
    refused("\n\nserver\n", NB_EPARSE, "line 3: not 'name = value'");
    refused("ca =   \n", NB_EPARSE, "line 1: ca has no value");
    refused(" = x\n", NB_EPARSE, "unknown setting ''");
    char big[400];
    memset(big, 'a', sizeof big);
    (void)snprintf(big, sizeof big, "token = %0300d\n", 1);
    refused(big, NB_ELENGTH, "line 1: token longer than 159 bytes");
    struct cli_config c;
    struct nb_diag d;
    assert_int_equal(cli_config_parse("ca = a\0b\n", 9, &c, &d), NB_EPARSE);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/nb-cli-config-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof path, "%s/cli.conf", dir);
    struct cli_config c;
    struct nb_diag d = {{0}};
    bool found = true;
    assert_int_equal(cli_config_load(path, &c, &found, &d), NB_OK); /* none: fine */
    assert_false(found);
    write_file(path, "server = https://s\n", 0644); /* no secret: may be public */
    assert_int_equal(cli_config_load(path, &c, &found, &d), NB_OK);
    assert_true(found);
    assert_string_equal(c.server, "https://s");
    write_file(path, "server = https://s\ntoken = nbt_x\n", 0644);
    assert_int_equal(cli_config_load(path, &c, &found, &d), NB_EUNAUTHORIZED);
    assert_non_null(strstr(d.msg, "chmod 600"));
    assert_string_equal(c.token, ""); /* not handed out */
    chmod(path, 0640);
    nb_diag_clear(&d);
    assert_int_equal(cli_config_load(path, &c, &found, &d), NB_EUNAUTHORIZED);
    chmod(path, 0600);
    assert_int_equal(cli_config_load(path, &c, &found, &d), NB_OK);
    assert_string_equal(c.token, "nbt_x");
    write_file(path, "timeout = 5\nbad\n", 0600);
    nb_diag_clear(&d);
    assert_int_equal(cli_config_load(path, &c, &found, &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "cli.conf: line 2"));
    unlink(path);
    rmdir(dir);
}

static void test_default_path(void **state)
{
    (void)state;
    char p[256];
    setenv("HOME", "/home/op", 1);
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    assert_true(cli_config_default_path(p, sizeof p));
    assert_string_equal(p, "/xdg/nobrick/cli.conf");
    setenv("XDG_CONFIG_HOME", "relative", 1); /* invalid per the spec: ignored */
    assert_true(cli_config_default_path(p, sizeof p));
    assert_string_equal(p, "/home/op/.config/nobrick/cli.conf");
    unsetenv("XDG_CONFIG_HOME");
    assert_true(cli_config_default_path(p, sizeof p));
    assert_string_equal(p, "/home/op/.config/nobrick/cli.conf");
    assert_false(cli_config_default_path(p, 10));
    unsetenv("HOME");
    assert_false(cli_config_default_path(p, sizeof p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_default_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
