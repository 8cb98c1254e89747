/* Unit tests for lib/hal/posix/flash_file.c: a plain file as flash (no
 * erase needed, overwrite allowed), bounds and alignment, sizes at open,
 * sync and cache dropping, and the two-copy boot-control store on it. */
#include <nobrick/bootctl.h>
#include <nobrick/flash_file.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR 4096u
#define SIZE (8u * SECTOR)

static char path[64];

static int setup(void **state)
{
    (void)state;
    memcpy(path, "/tmp/nb_flash_file_XXXXXX", sizeof "/tmp/nb_flash_file_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static struct nb_flash_file *open_file(uint64_t size, uint32_t write_size, bool create)
{
    struct nb_flash_file_config cfg = {
        .size = size, .erase_size = SECTOR, .write_size = write_size, .create = create};
    struct nb_flash_file *ff = NULL;
    assert_int_equal(nb_flash_file_open(path, &cfg, &ff, NULL), NB_OK);
    return ff;
}

static void test_program_overwrites_without_erase(void **state)
{
    (void)state;
    struct nb_flash_file *ff = open_file(SIZE, 1, true);
    struct nb_flash f = nb_flash_file_flash(ff);
    struct nb_flash_geometry g;
    uint8_t a[100], b[100], back[100];

    nb_flash_geometry(&f, &g);
    assert_int_equal(g.size, SIZE);
    assert_false(g.needs_erase);
    memset(a, 0x11, sizeof a);
    memset(b, 0x22, sizeof b);
    assert_int_equal(nb_flash_program(&f, 7, a, sizeof a), NB_OK);
    assert_int_equal(nb_flash_program(&f, 7, b, sizeof b), NB_OK);
    /* Erase is a no-op: the data stays. */
    assert_int_equal(nb_flash_erase(&f, 0, SECTOR), NB_OK);
    assert_int_equal(nb_flash_read(&f, 7, back, sizeof back), NB_OK);
    assert_memory_equal(back, b, sizeof b);
    assert_int_equal(nb_flash_sync(&f), NB_OK);
    assert_int_equal(nb_flash_file_drop_cache(ff), NB_OK);
    assert_int_equal(nb_flash_read(&f, 7, back, sizeof back), NB_OK);
    assert_memory_equal(back, b, sizeof b);
    nb_flash_file_close(ff);

    /* Reopen with size 0: the file's own size. */
    ff = open_file(0, 1, false);
    f = nb_flash_file_flash(ff);
    nb_flash_geometry(&f, &g);
    assert_int_equal(g.size, SIZE);
    assert_int_equal(nb_flash_read(&f, 7, back, sizeof back), NB_OK);
    assert_memory_equal(back, b, sizeof b);
    nb_flash_file_close(ff);
}

static void test_bounds_and_alignment(void **state)
{
    (void)state;
    struct nb_flash_file *ff = open_file(SIZE, 512, true);
    struct nb_flash f = nb_flash_file_flash(ff);
    uint8_t buf[1024];

    memset(buf, 0, sizeof buf);
    assert_int_equal(nb_flash_program(&f, 100, buf, 512), NB_EINVAL);
    assert_int_equal(nb_flash_program(&f, 0, buf, 100), NB_EINVAL);
    assert_int_equal(nb_flash_program(&f, SIZE - 512, buf, 1024), NB_EINVAL);
    assert_int_equal(nb_flash_program(&f, SIZE - 512, buf, 512), NB_OK);
    assert_int_equal(nb_flash_erase(&f, 512, SECTOR), NB_EINVAL);
    assert_int_equal(nb_flash_erase(&f, SIZE, SECTOR), NB_EINVAL);
    assert_int_equal(nb_flash_read(&f, SIZE - 1, buf, 2), NB_EINVAL);
    assert_int_equal(nb_flash_read(&f, UINT64_MAX, buf, 1), NB_EINVAL);
    assert_int_equal(nb_flash_read(&f, 1, buf, 3), NB_OK);
    nb_flash_file_close(ff);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct nb_flash_file *ff = NULL;
    struct nb_diag d;
    struct nb_flash_file_config cfg = {
        .size = SIZE, .erase_size = SECTOR, .write_size = 1, .create = false};

    /* The empty temporary file, no size asked. */
    cfg.size = 0;
    assert_int_equal(nb_flash_file_open(path, &cfg, &ff, NULL), NB_EINVAL);
    /* Too small and not allowed to grow. */
    cfg.size = SIZE;
    nb_diag_clear(&d);
    assert_int_equal(nb_flash_file_open(path, &cfg, &ff, &d), NB_ENOSPC);
    assert_non_null(strstr(d.msg, path));
    cfg.erase_size = 1000;
    assert_int_equal(nb_flash_file_open(path, &cfg, &ff, NULL), NB_EINVAL);
    cfg.erase_size = SECTOR;
    assert_int_equal(nb_flash_file_open("/nonexistent/dir/flash", &cfg, &ff, NULL), NB_ENOENT);
    assert_null(ff);
    nb_flash_file_close(NULL);
}

/* The boot-control store works on a medium without erase, and provisioning
 * a used file is not fooled by a stale copy with a higher sequence. */
static void test_bootctl_on_file(void **state)
{
    (void)state;
    struct nb_flash_file *ff = open_file(SIZE, 1, true);
    struct nb_flash f = nb_flash_file_flash(ff);
    struct nb_bootctl_flash bf;
    struct nb_bootctl rec, back;
    struct nb_region c0 = {.off = 0, .len = SECTOR}, c1 = {.off = SECTOR, .len = SECTOR};

    assert_int_equal(nb_bootctl_flash_init(&bf, &f, c0, c1), NB_OK);
    nb_bootctl_init(&rec, false);
    assert_int_equal(nb_bootctl_provision(&bf, &rec), NB_OK);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(nb_bootctl_mark_installing(&rec, NB_BOOTCTL_A), NB_OK);
        assert_int_equal(nb_bootctl_store(&bf, &rec), NB_OK);
    }
    assert_int_equal(bf.current, 1); /* seq 6 sits in copy 1 */

    nb_bootctl_init(&rec, true);
    assert_int_equal(nb_bootctl_provision(&bf, &rec), NB_OK);
    assert_int_equal(nb_bootctl_flash_init(&bf, &f, c0, c1), NB_OK);
    assert_int_equal(nb_bootctl_load(&bf, &back, NULL), NB_OK);
    assert_true(nb_bootctl_equal(&back, &rec));
    assert_int_equal(bf.seq, 1);
    nb_flash_file_close(ff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_program_overwrites_without_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds_and_alignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bootctl_on_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
