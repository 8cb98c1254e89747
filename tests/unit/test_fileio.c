/* Unit tests for lib/host/fileio.c: capped reads (including files that grow
 * while read), refusal of non-regular files, atomic and exclusive writes with
 * exact modes, and failure of each allocation. */
#include <nobrick/alloc.h>
#include <nobrick/err.h>
#include <nobrick/fileio.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = nb_calloc(1, sizeof *f);
    assert_non_null(f);
    memcpy(f->dir, "/tmp/nb-fileio-XXXXXX", 22);
    assert_non_null(mkdtemp(f->dir));
    (void)snprintf(f->path, sizeof f->path, "%s/file", f->dir);
    *state = f;
    return 0;
}

/* Removes every entry of the test directory, then the directory. */
static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    char p[512];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        (void)snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
        if (unlink(p) != 0)
            (void)rmdir(p);
    }
    if (d != NULL)
        closedir(d);
    (void)rmdir(f->dir);
    nb_alloc_fail_after(-1);
    nb_free(f);
    return 0;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

static void put(const char *path, const char *text)
{
    struct nb_diag diag = {""};
    assert_int_equal(nb_file_write_atomic(path, text, strlen(text), 0644, false, &diag), NB_OK);
}

static void test_read_roundtrip(void **state)
{
    struct fixture *f = *state;
    uint8_t *buf = NULL;
    size_t len = 0;

    put(f->path, "hello, nobrick");
    assert_int_equal(nb_file_read(f->path, 1024, &buf, &len, NULL), NB_OK);
    assert_int_equal(len, 14);
    assert_string_equal((char *)buf, "hello, nobrick"); /* NUL-terminated */
    nb_free(buf);
    put(f->path, "");
    assert_int_equal(nb_file_read(f->path, 0, &buf, &len, NULL), NB_OK);
    assert_int_equal(len, 0);
    assert_int_equal(buf[0], 0);
    nb_free(buf);
}

static void test_read_cap(void **state)
{
    struct fixture *f = *state;
    struct nb_diag diag = {""};
    uint8_t *buf = (uint8_t *)"untouched";
    size_t len = 7;

    put(f->path, "0123456789");
    assert_int_equal(nb_file_read(f->path, 9, &buf, &len, &diag), NB_ELENGTH);
    assert_non_null(strstr(diag.msg, f->path));
    assert_string_equal((char *)buf, "untouched"); /* outputs only on success */
    assert_int_equal(len, 7);
    assert_int_equal(nb_file_read(f->path, 10, &buf, &len, NULL), NB_OK);
    assert_int_equal(len, 10);
    nb_free(buf);
}

/* /proc files report size 0 and then produce data: the read must grow, and
 * still stop at the cap. */
static void test_read_growing(void **state)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct nb_diag diag = {""};
    (void)state;

    if (access("/proc/self/status", R_OK) != 0)
        skip();
    assert_int_equal(nb_file_read("/proc/self/status", 1 << 20, &buf, &len, NULL), NB_OK);
    assert_true(len > 64);
    assert_non_null(strstr((char *)buf, "Name:"));
    nb_free(buf);
    assert_int_equal(nb_file_read("/proc/self/status", 64, &buf, &len, &diag), NB_ELENGTH);
    assert_non_null(strstr(diag.msg, "limit"));
}

static void test_read_missing(void **state)
{
    struct fixture *f = *state;
    struct nb_diag diag = {""};
    uint8_t *buf = NULL;
    size_t len = 0;

    assert_int_equal(nb_file_read(f->path, 100, &buf, &len, &diag), NB_ENOENT);
    assert_non_null(strstr(diag.msg, f->path));
    assert_non_null(strstr(diag.msg, "No such file"));
    assert_null(buf);
}

static void test_read_not_regular(void **state)
{
    struct fixture *f = *state;
    struct nb_diag diag = {""};
    uint8_t *buf = NULL;
    size_t len = 0;

    assert_int_equal(nb_file_read(f->dir, 100, &buf, &len, &diag), NB_EIO);
    assert_non_null(strstr(diag.msg, "not a regular file"));
    assert_non_null(strstr(diag.msg, f->dir));
    /* A FIFO with no writer must be refused, not block the reader. */
    assert_int_equal(mkfifo(f->path, 0600), 0);
    assert_int_equal(nb_file_read(f->path, 100, &buf, &len, NULL), NB_EIO);
    assert_null(buf);
}

static void test_write_replace(void **state)
{
    struct fixture *f = *state;
    uint8_t *buf = NULL;
    size_t len = 0;

    put(f->path, "first");
    put(f->path, "second version");
    assert_int_equal(nb_file_read(f->path, 100, &buf, &len, NULL), NB_OK);
    assert_string_equal((char *)buf, "second version");
    nb_free(buf);
    assert_int_equal(count_entries(f->dir), 1); /* no temporary file left */
    assert_int_equal(nb_file_write_atomic(f->path, NULL, 0, 0600, false, NULL), NB_OK);
    assert_int_equal(nb_file_read(f->path, 100, &buf, &len, NULL), NB_OK);
    assert_int_equal(len, 0);
    nb_free(buf);
}

static void test_write_exclusive(void **state)
{
    struct fixture *f = *state;
    struct nb_diag diag = {""};
    char link_path[160];
    uint8_t *buf = NULL;
    size_t len = 0;

    assert_int_equal(nb_file_write_atomic(f->path, "key", 3, 0600, true, NULL), NB_OK);
    assert_int_equal(nb_file_write_atomic(f->path, "other", 5, 0600, true, &diag), NB_EEXIST);
    assert_non_null(strstr(diag.msg, f->path));
    assert_int_equal(nb_file_read(f->path, 100, &buf, &len, NULL), NB_OK);
    assert_string_equal((char *)buf, "key"); /* nothing overwritten */
    nb_free(buf);
    assert_int_equal(count_entries(f->dir), 1);
    /* A dangling symlink also exists: nothing is written through it. */
    (void)snprintf(link_path, sizeof link_path, "%s/link", f->dir);
    assert_int_equal(symlink("target-missing", link_path), 0);
    assert_int_equal(nb_file_write_atomic(link_path, "x", 1, 0600, true, NULL), NB_EEXIST);
    assert_int_equal(count_entries(f->dir), 2);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_write_mode(void **state)
{
    struct fixture *f = *state;
    mode_t old = umask(077);

    assert_int_equal(nb_file_write_atomic(f->path, "s", 1, 0600, false, NULL), NB_OK);
    assert_int_equal(mode_of(f->path), 0600);
    /* The mode is exact, not filtered by the umask. */
    assert_int_equal(nb_file_write_atomic(f->path, "p", 1, 0644, false, NULL), NB_OK);
    assert_int_equal(mode_of(f->path), 0644);
    umask(0);
    assert_int_equal(nb_file_write_atomic(f->path, "s", 1, 0600, false, NULL), NB_OK);
    assert_int_equal(mode_of(f->path), 0600);
    umask(old);
}

static void test_write_bad_paths(void **state)
{
    struct fixture *f = *state;
    struct nb_diag diag = {""};
    char p[160];

    (void)snprintf(p, sizeof p, "%s/missing/file", f->dir);
    assert_int_equal(nb_file_write_atomic(p, "x", 1, 0600, false, &diag), NB_ENOENT);
    assert_non_null(strstr(diag.msg, p));
    (void)snprintf(p, sizeof p, "%s/", f->dir);
    assert_int_equal(nb_file_write_atomic(p, "x", 1, 0600, false, NULL), NB_EINVAL);
    /* Replacing a directory is refused, and leaves no temporary file. */
    (void)snprintf(p, sizeof p, "%s/sub", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(nb_file_write_atomic(p, "x", 1, 0600, false, NULL), NB_EIO);
    assert_int_equal(count_entries(f->dir), 1);
}

static void test_write_relative(void **state)
{
    struct fixture *f = *state;
    char cwd[512];
    uint8_t *buf = NULL;
    size_t len = 0;

    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    assert_int_equal(nb_file_write_atomic("plain", "rel", 3, 0600, false, NULL), NB_OK);
    assert_int_equal(chdir(cwd), 0);
    (void)snprintf(f->path, sizeof f->path, "%s/plain", f->dir);
    assert_int_equal(nb_file_read(f->path, 10, &buf, &len, NULL), NB_OK);
    assert_string_equal((char *)buf, "rel");
    nb_free(buf);
}

static void test_alloc_failures(void **state)
{
    struct fixture *f = *state;
    struct nb_diag diag = {""};
    uint8_t *buf = NULL;
    size_t len = 0;

    put(f->path, "data");
    nb_alloc_fail_after(0);
    assert_int_equal(nb_file_read(f->path, 100, &buf, &len, &diag), NB_ENOMEM);
    assert_null(buf);
    assert_non_null(strstr(diag.msg, f->path));
    nb_alloc_fail_after(-1);
    assert_int_equal(nb_file_read(f->path, 100, &buf, &len, NULL), NB_OK);
    nb_free(buf);
    buf = NULL;
    /* The growth path: the first buffer is allocated, the larger one fails. */
    if (access("/proc/self/status", R_OK) == 0) {
        nb_alloc_fail_after(1);
        assert_int_equal(nb_file_read("/proc/self/status", 1 << 20, &buf, &len, NULL), NB_ENOMEM);
        assert_null(buf);
        nb_alloc_fail_after(-1);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_read_roundtrip),  T(test_read_cap),         T(test_read_growing),
        T(test_read_missing),    T(test_read_not_regular), T(test_write_replace),
        T(test_write_exclusive), T(test_write_mode),       T(test_write_bad_paths),
        T(test_write_relative),  T(test_alloc_failures),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
