/* Unit tests for lib/hal/posix/bootctl_uboot.c: boot control in a redundant
 * U-Boot environment (two files, as libubootenv's fw_env.config names
 * them). Round trips of every kind of record, the RAUC-style variables a
 * boot script reads, hand-edited variables (each refused, naming the
 * variable), a boot script counting a trial down, torn and corrupted copies
 * (the old environment wins), and fw_printenv / fw_setenv reading and
 * editing what the backend wrote. */
#include <nobrick/bootctl.h>
#include <nobrick/bootctl_uboot.h>
#include <nobrick/crc.h>
#include <nobrick/encoding.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libuboot.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENV_SIZE 0x4000u /* bytes of one copy */
#define REDUND_HDR 5     /* CRC-32, then the flag byte */

static char dir[64];
static char env_path[2][96];
static char config[96];

static const uint8_t sha_x[32] = {0xde, 0xad, 0xbe, 0xef, 1,  2,  3,  4,  5,  6,   7,
                                  8,    9,    10,   11,   12, 13, 14, 15, 16, 17,  18,
                                  19,   20,   21,   22,   23, 24, 25, 26, 27, 0xff};

/* --- the environment files ---------------------------------------------------- */

/* One redundant copy as U-Boot writes it: CRC-32 of the data area, the flag
 * byte (the higher one is newer), then "name=value\0" pairs and a final NUL. */
static void write_copy(int copy, uint8_t flag, const char *const *pairs)
{
    static uint8_t img[ENV_SIZE];
    memset(img, 0, sizeof img);
    size_t off = REDUND_HDR;
    for (size_t i = 0; pairs != NULL && pairs[i] != NULL; i++) {
        size_t n = strlen(pairs[i]) + 1;
        assert_true(off + n < sizeof img);
        memcpy(img + off, pairs[i], n);
        off += n;
    }
    nb_put_le32(img, nb_crc32(0, img + REDUND_HDR, ENV_SIZE - REDUND_HDR));
    img[4] = flag;
    FILE *f = fopen(env_path[copy], "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(img, 1, sizeof img, f), sizeof img);
    assert_int_equal(fclose(f), 0);
}

static void read_file(const char *path, uint8_t out[ENV_SIZE])
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(out, 1, ENV_SIZE, f), ENV_SIZE);
    assert_int_equal(fclose(f), 0);
}

static void write_file(const char *path, const uint8_t in[ENV_SIZE])
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(in, 1, ENV_SIZE, f), ENV_SIZE);
    assert_int_equal(fclose(f), 0);
}

/* A device as U-Boot left it: a valid default environment in copy 0 and
 * nothing valid in copy 1 (never saved twice). */
static int setup(void **state)
{
    (void)state;
    static const char *const defaults[] = {"bootcmd=run boot_ab", "bootdelay=2", NULL};
    memcpy(dir, "/tmp/nb_uboot_XXXXXX", sizeof "/tmp/nb_uboot_XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    for (int i = 0; i < 2; i++)
        snprintf(env_path[i], sizeof env_path[i], "%s/uboot.env%d", dir, i);
    snprintf(config, sizeof config, "%s/fw_env.config", dir);
    FILE *f = fopen(config, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "# two copies: a redundant environment\n%s 0 0x%x\n%s\t0x0  0x%x 0x%x 1\n",
            env_path[0], ENV_SIZE, env_path[1], ENV_SIZE, ENV_SIZE);
    fclose(f);
    write_copy(0, 1, defaults);
    static const uint8_t zero[ENV_SIZE];
    write_file(env_path[1], zero);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char path[128];
    unlink(env_path[0]);
    unlink(env_path[1]);
    unlink(config);
    snprintf(path, sizeof path, "%s/printenv.out", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

/* --- the backend and hand edits ------------------------------------------------- */

static struct nb_bootctl_uboot *open_env(struct nb_boot_control *bc)
{
    struct nb_bootctl_uboot *u = NULL;
    struct nb_diag diag = {{0}};
    assert_int_equal(nb_bootctl_uboot_open(config, &u, &diag), NB_OK);
    *bc = nb_bootctl_uboot_control(u);
    return u;
}

/* Stores rec with one backend and loads it with a new one (a reboot). */
static void store_and_reload(const struct nb_bootctl *rec, struct nb_bootctl *back)
{
    struct nb_boot_control bc;
    struct nb_bootctl_uboot *u = open_env(&bc);
    enum nb_err err = nb_boot_control_store(&bc, rec);
    if (err != NB_OK)
        fail_msg("store: %s: %s", nb_errname(err), nb_bootctl_uboot_last_error(u));
    assert_string_equal(nb_bootctl_uboot_last_error(u), "");
    nb_bootctl_uboot_close(u);
    u = open_env(&bc);
    struct nb_diag diag = {{0}};
    err = nb_boot_control_load(&bc, back, &diag);
    if (err != NB_OK)
        fail_msg("load after store: %s", diag.msg);
    nb_bootctl_uboot_close(u);
}

/* What a person (fw_setenv) or a boot script does: one variable changed or
 * removed (value NULL) in a full rewrite of the environment. */
static void hand_edit(const char *name, const char *value)
{
    struct uboot_ctx *ctx = NULL;
    assert_int_equal(libuboot_initialize(&ctx, NULL), 0);
    assert_int_equal(libuboot_read_config(ctx, config), 0);
    assert_int_equal(libuboot_open(ctx), 0);
    assert_int_equal(libuboot_set_env(ctx, name, value), 0);
    assert_int_equal(libuboot_env_store(ctx), 0);
    libuboot_close(ctx);
    libuboot_exit(ctx);
}

/* The value of name in the current environment, or "(unset)". */
static void env_value(const char *name, char *out, size_t cap)
{
    struct uboot_ctx *ctx = NULL;
    assert_int_equal(libuboot_initialize(&ctx, NULL), 0);
    assert_int_equal(libuboot_read_config(ctx, config), 0);
    assert_int_equal(libuboot_open(ctx), 0);
    snprintf(out, cap, "(unset)");
    for (void *e = libuboot_iterator(ctx, NULL); e != NULL; e = libuboot_iterator(ctx, e))
        if (strcmp(libuboot_getname(e), name) == 0)
            snprintf(out, cap, "%s", libuboot_getvalue(e));
    libuboot_close(ctx);
    libuboot_exit(ctx);
}

static void assert_env(const char *name, const char *want)
{
    char have[128];
    env_value(name, have, sizeof have);
    if (strcmp(have, want) != 0)
        fail_msg("%s is '%s', want '%s'", name, have, want);
}

static enum nb_err load_diag(struct nb_bootctl *out, struct nb_diag *diag)
{
    struct nb_boot_control bc;
    struct nb_bootctl_uboot *u = open_env(&bc);
    enum nb_err err = nb_boot_control_load(&bc, out, diag);
    nb_bootctl_uboot_close(u);
    return err;
}

/* --- records ------------------------------------------------------------------------ */

static void install(struct nb_bootctl *rec, enum nb_bootctl_slot_id id, const char *version,
                    uint64_t sc, uint8_t tries, bool commit)
{
    assert_int_equal(nb_bootctl_mark_installing(rec, id), NB_OK);
    assert_int_equal(nb_bootctl_mark_ready(rec, id, version, sc, 4096 * sc + 17, sha_x), NB_OK);
    assert_int_equal(nb_bootctl_mark_trial(rec, id, tries), NB_OK);
    if (commit)
        assert_int_equal(nb_bootctl_mark_good(rec, id), NB_OK);
}

/* One record per kind of state, with what a boot script must read. */
struct kase {
    const char *what;
    struct nb_bootctl rec;
    const char *order, *a_left, *b_left, *gold_left;
};

static size_t make_cases(struct kase *k)
{
    size_t n = 0;
    struct nb_bootctl r;

    nb_bootctl_init(&r, false);
    k[n++] = (struct kase){"fresh: nothing bootable", r, "(unset)", "0", "0", "(unset)"};
    install(&r, NB_BOOTCTL_A, "1.0.0", 1, 3, true);
    k[n++] = (struct kase){"factory: A good", r, "A", "3", "0", "(unset)"};
    assert_int_equal(nb_bootctl_mark_installing(&r, NB_BOOTCTL_B), NB_OK);
    k[n++] = (struct kase){"installing B (no version yet)", r, "A", "3", "0", "(unset)"};
    struct nb_bootctl torn = r;
    assert_int_equal(nb_bootctl_mark_bad(&torn, NB_BOOTCTL_B), NB_OK);
    k[n++] = (struct kase){"B bad before it had a version", torn, "A", "3", "0", "(unset)"};
    assert_int_equal(nb_bootctl_mark_ready(&r, NB_BOOTCTL_B, "2.0.0-rc.1+build 7", 2, 99, sha_x),
                     NB_OK);
    k[n++] = (struct kase){"B ready", r, "A", "3", "0", "(unset)"};
    assert_int_equal(nb_bootctl_mark_trial(&r, NB_BOOTCTL_B, 5), NB_OK);
    k[n++] = (struct kase){"B in trial", r, "B A", "3", "5", "(unset)"};
    struct nb_bootctl bad = r;
    assert_int_equal(nb_bootctl_mark_bad(&bad, NB_BOOTCTL_B), NB_OK);
    k[n++] = (struct kase){"B bad", bad, "A", "3", "0", "(unset)"};
    assert_int_equal(nb_bootctl_mark_good(&r, NB_BOOTCTL_B), NB_OK);
    k[n++] = (struct kase){"B good (committed)", r, "B A", "3", "3", "(unset)"};

    nb_bootctl_init(&r, true);
    install(&r, NB_BOOTCTL_GOLD, "1.0.0-gold", UINT64_MAX, 1, true); /* the largest counter */
    k[n++] = (struct kase){"gold only", r, "GOLD", "0", "0", "3"};
    install(&r, NB_BOOTCTL_A, "1.1.0", UINT64_MAX, 7, false);
    k[n++] = (struct kase){"gold good, A in trial", r, "A GOLD", "7", "0", "3"};
    assert_int_equal(nb_bootctl_mark_bad(&r, NB_BOOTCTL_A), NB_OK);
    assert_int_equal(nb_bootctl_mark_bad(&r, NB_BOOTCTL_GOLD), NB_OK);
    k[n++] = (struct kase){"all bad", r, "(unset)", "0", "0", "0"};
    return n;
}

/* --- tests ----------------------------------------------------------------------------- */

static void test_round_trip_and_script_variables(void **state)
{
    (void)state;
    static struct kase k[12];
    size_t n = make_cases(k);
    for (size_t i = 0; i < n; i++) {
        struct nb_bootctl back;
        memset(&back, 0x5A, sizeof back);
        store_and_reload(&k[i].rec, &back);
        if (!nb_bootctl_equal(&back, &k[i].rec))
            fail_msg("%s: the record loaded differs from the one stored", k[i].what);
        assert_env("BOOT_ORDER", k[i].order);
        assert_env("BOOT_A_LEFT", k[i].a_left);
        assert_env("BOOT_B_LEFT", k[i].b_left);
        assert_env("BOOT_GOLD_LEFT", k[i].gold_left);
        assert_env("bootcmd", "run boot_ab"); /* the rest of the environment is kept */
    }
}

static void test_mapping_of_one_record(void **state)
{
    (void)state;
    static struct kase k[12];
    make_cases(k);
    struct nb_bootctl back;
    char hex[65];
    store_and_reload(&k[5].rec, &back); /* B in trial */
    assert_int_equal(nb_hex_encode(sha_x, 32, hex, sizeof hex), NB_OK);
    assert_env("nobrick_format", "1");
    assert_env("nobrick_has_gold", "0");
    assert_env("nobrick_primary", "A");
    assert_env("nobrick_min_sc", "1");
    assert_env("nobrick_a_state", "good");
    assert_env("nobrick_a_tries", "0");
    assert_env("nobrick_a_sc", "1");
    assert_env("nobrick_a_size", "4113");
    assert_env("nobrick_a_sha256", hex);
    assert_env("nobrick_a_version", "1.0.0");
    assert_env("nobrick_b_state", "trial");
    assert_env("nobrick_b_tries", "5");
    assert_env("nobrick_b_version", "2.0.0-rc.1+build 7");
    assert_env("nobrick_gold_state", "empty");
    assert_env("nobrick_gold_sc", "(unset)"); /* an empty slot has no fields */
    assert_env("nobrick_gold_version", "(unset)");
}

static void test_fresh_environment(void **state)
{
    (void)state;
    struct nb_bootctl rec, back;
    struct nb_diag diag = {{0}};
    assert_int_equal(load_diag(&back, &diag), NB_EPARSE);
    assert_non_null(strstr(diag.msg, "nobrick_format is missing"));
    /* Provisioning is a store into U-Boot's own environment. */
    nb_bootctl_init(&rec, false);
    install(&rec, NB_BOOTCTL_A, "1.0.0", 0, 1, true);
    store_and_reload(&rec, &back);
    assert_true(nb_bootctl_equal(&rec, &back));
    assert_env("bootdelay", "2");
}

static void test_no_valid_copy(void **state)
{
    (void)state;
    static const uint8_t zero[ENV_SIZE];
    struct nb_bootctl rec, back;
    struct nb_diag diag = {{0}};
    write_file(env_path[0], zero);
    assert_int_equal(load_diag(&back, &diag), NB_EPARSE);
    assert_non_null(strstr(diag.msg, "no valid copy"));
    /* Storing would replace U-Boot's default environment (bootcmd and all)
     * with ours alone: refused. */
    struct nb_boot_control bc;
    struct nb_bootctl_uboot *u = open_env(&bc);
    nb_bootctl_init(&rec, false);
    assert_int_equal(nb_boot_control_store(&bc, &rec), NB_EPARSE);
    assert_non_null(strstr(nb_bootctl_uboot_last_error(u), "no valid copy"));
    nb_bootctl_uboot_close(u);
    uint8_t img[ENV_SIZE];
    read_file(env_path[0], img);
    assert_memory_equal(img, zero, ENV_SIZE);
    read_file(env_path[1], img);
    assert_memory_equal(img, zero, ENV_SIZE);
}

static void test_store_refuses_invalid_records(void **state)
{
    (void)state;
    uint8_t before[2][ENV_SIZE], after[ENV_SIZE];
    struct nb_bootctl rec;
    struct nb_boot_control bc;
    struct nb_bootctl_uboot *u = open_env(&bc);
    read_file(env_path[0], before[0]);
    read_file(env_path[1], before[1]);

    nb_bootctl_init(&rec, false);
    rec.primary = NB_BOOTCTL_B; /* not a good slot */
    assert_int_equal(nb_boot_control_store(&bc, &rec), NB_EINVAL);
    assert_non_null(strstr(nb_bootctl_uboot_last_error(u), "primary"));

    nb_bootctl_init(&rec, false);
    install(&rec, NB_BOOTCTL_A, "1.0.0", 1, 1, false);
    rec.slot[NB_BOOTCTL_B] = rec.slot[NB_BOOTCTL_A]; /* two trials */
    assert_int_equal(nb_boot_control_store(&bc, &rec), NB_EINVAL);
    assert_non_null(strstr(nb_bootctl_uboot_last_error(u), "2 slots in trial"));
    nb_bootctl_uboot_close(u);
    for (int i = 0; i < 2; i++) {
        read_file(env_path[i], after);
        assert_memory_equal(after, before[i], ENV_SIZE);
    }
}

/* One hand edit of a stored record and the variable the refusal names. */
struct edit {
    int base; /* index in make_cases */
    const char *name, *value, *named;
};

static const struct edit edits[] = {
    {5, "nobrick_b_sc", "12x", "nobrick_b_sc: '12x' is not a decimal"},
    {5, "nobrick_b_sc", "-1", "nobrick_b_sc"},
    {5, "nobrick_b_sc", " 2", "nobrick_b_sc"},
    {5, "nobrick_b_sc", "02", "nobrick_b_sc"},
    {5, "nobrick_b_sc", "18446744073709551616", "nobrick_b_sc: '18446744073709551616' is out"},
    {5, "nobrick_b_size", "99999999999999999999999", "nobrick_b_size"},
    {5, "nobrick_b_size", NULL, "nobrick_b_size is missing"},
    {5, "nobrick_min_sc", "0x10", "nobrick_min_sc"},
    {5, "nobrick_b_tries", "8", "nobrick_b_tries: '8' is out of range"},
    {5, "nobrick_a_tries", "2", "nobrick_a_tries is 2 but slot A is good"},
    {5, "nobrick_b_state", "booting", "nobrick_b_state: unknown value 'booting'"},
    {5, "nobrick_b_state", NULL, "nobrick_b_state is missing"},
    {5, "nobrick_b_sha256", "DEADBEEF", "nobrick_b_sha256"},
    {5, "nobrick_b_sha256", NULL, "nobrick_b_sha256 is missing"},
    {5, "nobrick_b_version", "1234567890123456789012345678901234567890123456789012345678901234",
     "nobrick_b_version"},
    {5, "nobrick_b_version", "", "nobrick_b_version: length 0"},
    {5, "nobrick_b_version", "2.0\t", "nobrick_b_version: not printable"},
    {5, "nobrick_primary", "C", "nobrick_primary: unknown value 'C'"},
    {5, "nobrick_primary", "B", "nobrick_primary is B but slot B is trial"},
    {5, "nobrick_has_gold", "2", "nobrick_has_gold"},
    {5, "nobrick_has_gold", "yes", "nobrick_has_gold"},
    {5, "nobrick_gold_state", "good", "nobrick_gold_state is 'good' but nobrick_has_gold is 0"},
    {5, "nobrick_format", "2", "nobrick_format is '2'"},
    {5, "nobrick_b_tried", "1", "unknown variable nobrick_b_tried"},
    {5, "BOOT_ORDER", "A B", "BOOT_ORDER is 'A B' but the nobrick record says 'B A'"},
    {5, "BOOT_ORDER", NULL, "BOOT_ORDER is missing"},
    {5, "BOOT_B_LEFT", "two", "BOOT_B_LEFT"},
    {5, "BOOT_B_LEFT", NULL, "BOOT_B_LEFT is missing"},
    {5, "BOOT_A_LEFT", "-3", "BOOT_A_LEFT"},
    {1, "nobrick_b_sc", "0", "nobrick_b_sc is set but slot B is empty"},
    {1, "nobrick_a_state", "trial", "nobrick_primary is A but slot A is trial"},
    {9, "nobrick_gold_state", "trial", "nobrick_a_state and nobrick_gold_state are both trial"},
    {0, "BOOT_ORDER", "A", "BOOT_ORDER is 'A' but the nobrick record says ''"},
};

static void test_hand_edits_are_refused(void **state)
{
    (void)state;
    static struct kase k[12];
    make_cases(k);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        const struct edit *e = &edits[i];
        struct nb_bootctl back, untouched;
        struct nb_diag diag = {{0}};
        store_and_reload(&k[e->base].rec, &back);
        hand_edit(e->name, e->value);
        memset(&untouched, 0x33, sizeof untouched);
        back = untouched;
        enum nb_err err = load_diag(&back, &diag);
        if (err != NB_EPARSE || strstr(diag.msg, e->named) == NULL)
            fail_msg("%s=%s: got %s '%s', want E_PARSE naming '%s'", e->name,
                     e->value ? e->value : "(removed)", nb_errname(err), diag.msg, e->named);
        assert_memory_equal(&back, &untouched, sizeof back); /* written only on success */
    }
}

/* The nobrick_ prefix is reserved: a store writes the whole record and
 * removes a stray variable under it, so the next load succeeds. */
static void test_store_removes_stray_variables(void **state)
{
    (void)state;
    static struct kase k[12];
    make_cases(k);
    struct nb_bootctl back;
    struct nb_diag diag = {{0}};
    store_and_reload(&k[1].rec, &back);
    hand_edit("nobrick_b_tried", "1");
    hand_edit("nobrick_", "x");
    hand_edit("nobrick_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_sc", "1");
    hand_edit("nobrickish", "kept");
    assert_int_equal(load_diag(&back, &diag), NB_EPARSE);
    store_and_reload(&k[5].rec, &back);
    assert_true(nb_bootctl_equal(&back, &k[5].rec));
    assert_env("nobrick_b_tried", "(unset)");
    assert_env("nobrick_", "(unset)");
    assert_env("nobrickish", "kept");
}

/* The boot script counts the trial down in BOOT_B_LEFT; nobrick_b_tries
 * keeps what the agent armed. The lower one wins. */
static void test_script_counts_trial_down(void **state)
{
    (void)state;
    static struct kase k[12];
    make_cases(k);
    struct nb_bootctl back;
    struct nb_diag diag = {{0}};
    store_and_reload(&k[5].rec, &back); /* B in trial, 5 tries */
    static const struct {
        const char *left;
        uint8_t tries;
    } steps[] = {{"4", 4}, {"1", 1}, {"0", 0}, {"7", 5}, {"4294967295", 5}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        hand_edit("BOOT_B_LEFT", steps[i].left);
        assert_int_equal(load_diag(&back, &diag), NB_OK);
        assert_int_equal(back.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_TRIAL);
        assert_int_equal(back.slot[NB_BOOTCTL_B].tries_left, steps[i].tries);
    }
    /* A good slot's count is the script's business: it changes nothing. */
    hand_edit("BOOT_A_LEFT", "0");
    assert_int_equal(load_diag(&back, &diag), NB_OK);
    assert_int_equal(back.slot[NB_BOOTCTL_A].state, NB_BOOTCTL_GOOD);
    hand_edit("BOOT_B_LEFT", "4294967296");
    assert_int_equal(load_diag(&back, &diag), NB_EPARSE);
    assert_non_null(strstr(diag.msg, "BOOT_B_LEFT"));
}

/* A store writes only the copy that is not current; tearing that write
 * or corrupting the newest copy gives back the previous record, whole. */
static void test_store_writes_the_other_copy(void **state)
{
    (void)state;
    static struct kase k[12];
    make_cases(k);
    const struct nb_bootctl *old = &k[5].rec, *new = &k[7].rec; /* trial B, then B good */
    uint8_t s1[2][ENV_SIZE], s2[2][ENV_SIZE], torn[ENV_SIZE];
    struct nb_bootctl back;
    struct nb_diag diag = {{0}};
    store_and_reload(old, &back);
    read_file(env_path[0], s1[0]);
    read_file(env_path[1], s1[1]);
    store_and_reload(new, &back);
    read_file(env_path[0], s2[0]);
    read_file(env_path[1], s2[1]);
    int changed = memcmp(s1[0], s2[0], ENV_SIZE) != 0 ? 0 : 1;
    assert_memory_equal(s1[1 - changed], s2[1 - changed], ENV_SIZE); /* the old one untouched */
    assert_memory_not_equal(s1[changed], s2[changed], ENV_SIZE);
    assert_true(s2[changed][4] == (uint8_t)(s1[1 - changed][4] + 1)); /* the newer flag */

    static const size_t cuts[] = {1, 4, 5, 64, 200, 400};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        memcpy(torn, s2[changed], cuts[i]); /* a prefix of the new copy, the rest old */
        memcpy(torn + cuts[i], s1[changed] + cuts[i], ENV_SIZE - cuts[i]);
        assert_memory_not_equal(torn, s2[changed], ENV_SIZE); /* the cut is inside the data */
        write_file(env_path[changed], torn);
        assert_int_equal(load_diag(&back, &diag), NB_OK);
        if (!nb_bootctl_equal(&back, old))
            fail_msg("write torn after %zu bytes: not the old record", cuts[i]);
    }
    write_file(env_path[changed], s2[changed]);
    assert_int_equal(load_diag(&back, &diag), NB_OK);
    assert_true(nb_bootctl_equal(&back, new));
    memcpy(torn, s2[changed], ENV_SIZE);
    torn[REDUND_HDR + 3] ^= 0x01; /* rot one bit of the newest copy */
    write_file(env_path[changed], torn);
    assert_int_equal(load_diag(&back, &diag), NB_OK);
    assert_true(nb_bootctl_equal(&back, old));
}

/* Runs a shell command, fails the test unless it exits 0. */
static void run(const char *cmd)
{
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
        fail_msg("'%s' failed (status %d): is libubootenv-tool installed (scripts/setup)?", cmd,
                 rc);
}

/* fw_printenv reads what the backend wrote; fw_setenv edits it the way a
 * person or U-Boot's own saveenv would, and the backend reads that. */
static void test_fw_printenv_and_fw_setenv(void **state)
{
    (void)state;
    static struct kase k[12];
    make_cases(k);
    struct nb_bootctl back;
    struct nb_diag diag = {{0}};
    char cmd[512], out[128], text[4096];
    store_and_reload(&k[5].rec, &back); /* B in trial */
    snprintf(out, sizeof out, "%s/printenv.out", dir);
    snprintf(cmd, sizeof cmd, "fw_printenv -c %s > %s", config, out);
    run(cmd);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    text[0] = '\n'; /* so that every line, the first too, follows a newline */
    size_t n = fread(text + 1, 1, sizeof text - 2, f);
    fclose(f);
    text[n + 1] = '\0';
    static const char *const want[] = {"\nBOOT_ORDER=B A\n",    "\nBOOT_A_LEFT=3\n",
                                       "\nBOOT_B_LEFT=5\n",     "\nnobrick_b_state=trial\n",
                                       "\nnobrick_primary=A\n", "bootcmd=run boot_ab\n"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(text, want[i]) == NULL)
            fail_msg("fw_printenv output lacks '%s':\n%s", want[i], text);

    snprintf(cmd, sizeof cmd, "fw_setenv -c %s BOOT_B_LEFT 2", config);
    run(cmd);
    assert_int_equal(load_diag(&back, &diag), NB_OK);
    assert_int_equal(back.slot[NB_BOOTCTL_B].tries_left, 2);
    snprintf(cmd, sizeof cmd, "fw_setenv -c %s nobrick_b_sc 1x", config);
    run(cmd);
    assert_int_equal(load_diag(&back, &diag), NB_EPARSE);
    assert_non_null(strstr(diag.msg, "nobrick_b_sc"));
}

static void test_open_errors(void **state)
{
    (void)state;
    struct nb_bootctl_uboot *u = NULL;
    struct nb_diag diag = {{0}};
    char path[128];
    snprintf(path, sizeof path, "%s/missing.config", dir);
    assert_int_equal(nb_bootctl_uboot_open(path, &u, &diag), NB_ENOENT);
    assert_null(u);
    assert_non_null(strstr(diag.msg, "missing.config"));

    /* One copy: no store could survive a power cut. */
    FILE *f = fopen(config, "w");
    assert_non_null(f);
    fprintf(f, "# one copy\n%s 0x0 0x%x\n\n", env_path[0], ENV_SIZE);
    fclose(f);
    nb_diag_clear(&diag);
    assert_int_equal(nb_bootctl_uboot_open(config, &u, &diag), NB_EUNSUPPORTED);
    assert_null(u);
    assert_non_null(strstr(diag.msg, "redundant"));

    /* A configuration naming a copy that does not exist: open succeeds
     * (nothing is read yet) and load says it cannot read, or libubootenv
     * refuses the configuration at once. */
    f = fopen(config, "w");
    assert_non_null(f);
    fprintf(f, "%s 0x0 0x%x\n%s/nope 0x0 0x%x\n", env_path[0], ENV_SIZE, dir, ENV_SIZE);
    fclose(f);
    struct nb_boot_control bc;
    struct nb_bootctl back;
    nb_diag_clear(&diag);
    enum nb_err err = nb_bootctl_uboot_open(config, &u, &diag);
    if (err == NB_OK) {
        bc = nb_bootctl_uboot_control(u);
        err = nb_boot_control_load(&bc, &back, &diag);
        nb_bootctl_uboot_close(u);
    }
    assert_true(err == NB_EIO || err == NB_EPARSE);
    assert_non_null(strstr(diag.msg, "U-Boot environment"));
    nb_bootctl_uboot_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_and_script_variables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapping_of_one_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_valid_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_refuses_invalid_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hand_edits_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_removes_stray_variables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_script_counts_trial_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_writes_the_other_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fw_printenv_and_fw_setenv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
