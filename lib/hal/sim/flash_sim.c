/* Simulated NOR flash on a file: pread/pwrite, so the flash need not fit in
 * RAM and survives the process (reopen = reboot). Enforces the HAL contract
 * strictly (alignment, erase-before-program) and injects power cuts that can
 * tear the operation in progress. Torn lengths come from a seeded PRNG, so
 * every failing case replays exactly. */
#include "powercut.h"

#include <nobrick/alloc.h>
#include <nobrick/flash_sim.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ERASED 0xFF
#define CHUNK 4096 /* bounce-buffer size for checks and fills */

struct nb_flash_sim {
    int fd;
    struct nb_flash_geometry geo;
    uint32_t *wear; /* erase count per sector */
    uint64_t sectors;
    struct nb__powercut pc; /* powercut.h, shared with flash_mem.c */
    struct nb_flash_sim_stats stats;
    struct nb_diag diag;
};

static enum nb_err fail(struct nb_flash_sim *sim, enum nb_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum nb_err fail(struct nb_flash_sim *sim, enum nb_err err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(sim->diag.msg, sizeof sim->diag.msg, fmt, ap);
    va_end(ap);
    return err;
}

static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static enum nb_err pread_all(struct nb_flash_sim *sim, uint64_t off, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(sim->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(sim, NB_EIO, "flash sim: read at %llu: %s", (unsigned long long)off,
                        n < 0 ? strerror(errno) : "file too short");
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return NB_OK;
}

static enum nb_err pwrite_all(struct nb_flash_sim *sim, uint64_t off, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(sim->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(sim, NB_EIO, "flash sim: write at %llu: %s", (unsigned long long)off,
                        n < 0 ? strerror(errno) : "no progress");
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return NB_OK;
}

/* Writes len bytes of ERASED at off. */
static enum nb_err fill_erased(struct nb_flash_sim *sim, uint64_t off, uint64_t len)
{
    uint8_t ff[CHUNK];
    memset(ff, ERASED, sizeof ff);
    while (len > 0) {
        size_t n = len < CHUNK ? (size_t)len : CHUNK;
        enum nb_err err = pwrite_all(sim, off, ff, n);
        if (err != NB_OK)
            return err;
        off += n;
        len -= n;
    }
    return NB_OK;
}

static enum nb_err check_range(struct nb_flash_sim *sim, const char *op, uint64_t off, uint64_t len,
                               uint32_t align)
{
    if (off > sim->geo.size || len > sim->geo.size - off)
        return fail(sim, NB_EINVAL, "flash sim: %s [%llu, +%llu) outside the %llu-byte flash", op,
                    (unsigned long long)off, (unsigned long long)len,
                    (unsigned long long)sim->geo.size);
    if (off % align != 0 || len % align != 0)
        return fail(sim, NB_EINVAL, "flash sim: %s [%llu, +%llu) not aligned to %u", op,
                    (unsigned long long)off, (unsigned long long)len, align);
    return NB_OK;
}

static enum nb_err power_off(struct nb_flash_sim *sim, const char *op)
{
    return fail(sim, NB_EIO, "flash sim: %s after a power cut", op);
}

static enum nb_err sim_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct nb_flash_sim *sim = ctx;
    if (sim->pc.lost)
        return power_off(sim, "read");
    enum nb_err err = check_range(sim, "read", off, len, 1);
    if (err != NB_OK)
        return err;
    err = pread_all(sim, off, buf, len);
    if (err != NB_OK)
        return err;
    sim->stats.reads++;
    sim->stats.bytes_read += len;
    return NB_OK;
}

/* NOR programs only erased bytes; anything else is a bug in the caller, as
 * in MCUboot's simflash ("Write to unerased location"). */
static enum nb_err check_erased(struct nb_flash_sim *sim, uint64_t off, size_t len)
{
    uint8_t cur[CHUNK];
    for (size_t done = 0; done < len;) {
        size_t n = len - done < CHUNK ? len - done : CHUNK;
        enum nb_err err = pread_all(sim, off + done, cur, n);
        if (err != NB_OK)
            return err;
        for (size_t i = 0; i < n; i++) {
            if (cur[i] != ERASED) {
                sim->stats.violations++;
                return fail(sim, NB_EIO, "flash sim: program on unerased byte at %llu",
                            (unsigned long long)(off + done + i));
            }
        }
        done += n;
    }
    return NB_OK;
}

/* A torn program: the prefix is programmed, the next byte only partly (some
 * of its 0 bits cleared, as a cell cut mid-pulse), the rest stays erased. */
static enum nb_err tear_program(struct nb_flash_sim *sim, uint64_t off, const uint8_t *buf,
                                size_t len)
{
    size_t t = (size_t)nb__powercut_torn_len(&sim->pc, len);
    enum nb_err err = pwrite_all(sim, off, buf, t);
    if (err == NB_OK && sim->pc.tear && t < len) {
        uint8_t half = nb__powercut_half_program(&sim->pc, buf[t]);
        err = pwrite_all(sim, off + t, &half, 1);
    }
    sim->stats.programs++;
    sim->stats.bytes_programmed += t;
    sim->stats.torn++;
    sim->stats.last_torn_len = t;
    return err != NB_OK ? err : fail(sim, NB_EIO, "flash sim: power cut during program");
}

static enum nb_err sim_program(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct nb_flash_sim *sim = ctx;
    if (sim->pc.lost)
        return power_off(sim, "program");
    enum nb_err err = check_range(sim, "program", off, len, sim->geo.write_size);
    if (err == NB_OK)
        err = check_erased(sim, off, len);
    if (err != NB_OK || len == 0)
        return err;
    if (nb__powercut_hit(&sim->pc))
        return tear_program(sim, off, buf, len);
    err = pwrite_all(sim, off, buf, len);
    if (err != NB_OK)
        return err;
    sim->stats.programs++;
    sim->stats.bytes_programmed += len;
    return NB_OK;
}

/* Every sector an erase touched counts as worn, even when a cut stopped it
 * early: the cells were stressed. bytes is what was actually erased. */
static void count_erase(struct nb_flash_sim *sim, uint64_t off, uint64_t len, uint64_t bytes)
{
    for (uint64_t s = off / sim->geo.erase_size; s < (off + len) / sim->geo.erase_size; s++)
        sim->wear[s]++;
    sim->stats.erases++;
    sim->stats.bytes_erased += bytes;
}

/* A torn erase: a prefix of the range is erased, the byte after it has only
 * some bits set back to 1, the rest keeps its old contents. */
static enum nb_err tear_erase(struct nb_flash_sim *sim, uint64_t off, uint64_t len)
{
    uint64_t t = nb__powercut_torn_len(&sim->pc, len);
    enum nb_err err = fill_erased(sim, off, t);
    if (err == NB_OK && sim->pc.tear && t < len) {
        uint8_t old;
        err = pread_all(sim, off + t, &old, 1);
        old = nb__powercut_half_erase(&sim->pc, old);
        if (err == NB_OK)
            err = pwrite_all(sim, off + t, &old, 1);
    }
    count_erase(sim, off, len, t);
    sim->stats.torn++;
    sim->stats.last_torn_len = t;
    return err != NB_OK ? err : fail(sim, NB_EIO, "flash sim: power cut during erase");
}

static enum nb_err sim_erase(void *ctx, uint64_t off, uint64_t len)
{
    struct nb_flash_sim *sim = ctx;
    if (sim->pc.lost)
        return power_off(sim, "erase");
    enum nb_err err = check_range(sim, "erase", off, len, sim->geo.erase_size);
    if (err != NB_OK || len == 0)
        return err;
    if (nb__powercut_hit(&sim->pc))
        return tear_erase(sim, off, len);
    err = fill_erased(sim, off, len);
    if (err != NB_OK)
        return err;
    count_erase(sim, off, len, len);
    return NB_OK;
}

/* Durability of the file itself is not what the simulator models: the power
 * cut is simulated, the host does not crash. */
static enum nb_err sim_sync(void *ctx)
{
    struct nb_flash_sim *sim = ctx;
    return sim->pc.lost ? power_off(sim, "sync") : NB_OK;
}

static void sim_geometry(void *ctx, struct nb_flash_geometry *out)
{
    const struct nb_flash_sim *sim = ctx;
    *out = sim->geo;
}

static const struct nb_flash_ops sim_ops = {
    .read = sim_read,
    .program = sim_program,
    .erase = sim_erase,
    .sync = sim_sync,
    .geometry = sim_geometry,
};

static enum nb_err check_config(const struct nb_flash_sim_config *cfg, struct nb_diag *diag)
{
    if (!is_pow2(cfg->erase_size) || !is_pow2(cfg->write_size) || cfg->write_size > cfg->erase_size)
        return nb_diag_set(diag, NB_EINVAL, "flash sim: erase size %u / write size %u",
                           cfg->erase_size, cfg->write_size);
    if (cfg->size == 0 || cfg->size % cfg->erase_size != 0)
        return nb_diag_set(diag, NB_EINVAL, "flash sim: size %llu not a multiple of %u",
                           (unsigned long long)cfg->size, cfg->erase_size);
    return NB_OK;
}

/* Opens the file and, for an existing one, checks its size. */
static enum nb_err open_file(struct nb_flash_sim *sim, const char *path,
                             const struct nb_flash_sim_config *cfg, struct nb_diag *diag)
{
    int flags = O_RDWR | O_CLOEXEC | (cfg->create ? O_CREAT | O_TRUNC : 0);
    sim->fd = open(path, flags, 0644);
    if (sim->fd < 0)
        return nb_diag_set(diag, NB_EIO, "flash sim: %s: %s", path, strerror(errno));
    if (cfg->create)
        return fill_erased(sim, 0, cfg->size) == NB_OK
                   ? NB_OK
                   : nb_diag_set(diag, NB_EIO, "flash sim: %s: %s", path, sim->diag.msg);
    off_t end = lseek(sim->fd, 0, SEEK_END);
    if (end < 0 || (uint64_t)end != cfg->size)
        return nb_diag_set(diag, NB_EINVAL, "flash sim: %s is %lld bytes, expected %llu", path,
                           (long long)end, (unsigned long long)cfg->size);
    return NB_OK;
}

enum nb_err nb_flash_sim_open(const char *path, const struct nb_flash_sim_config *cfg,
                              struct nb_flash_sim **out, struct nb_diag *diag)
{
    enum nb_err err = check_config(cfg, diag);
    if (err != NB_OK)
        return err;
    struct nb_flash_sim *sim = nb_calloc(1, sizeof *sim);
    if (sim == NULL)
        return NB_ENOMEM;
    sim->fd = -1;
    sim->geo = (struct nb_flash_geometry){.size = cfg->size,
                                          .erase_size = cfg->erase_size,
                                          .write_size = cfg->write_size,
                                          .erased_val = ERASED,
                                          .needs_erase = true};
    sim->sectors = cfg->size / cfg->erase_size;
    sim->wear = sim->sectors <= SIZE_MAX / sizeof *sim->wear
                    ? nb_calloc((size_t)sim->sectors, sizeof *sim->wear)
                    : NULL;
    if (sim->wear == NULL)
        err = NB_ENOMEM;
    else
        err = open_file(sim, path, cfg, diag);
    if (err != NB_OK) {
        nb_flash_sim_close(sim);
        return err;
    }
    *out = sim;
    return NB_OK;
}

void nb_flash_sim_close(struct nb_flash_sim *sim)
{
    if (sim == NULL)
        return;
    if (sim->fd >= 0)
        (void)close(sim->fd);
    nb_free(sim->wear);
    nb_free(sim);
}

struct nb_flash nb_flash_sim_flash(struct nb_flash_sim *sim)
{
    return (struct nb_flash){.ops = &sim_ops, .ctx = sim};
}

void nb_flash_sim_cut_after(struct nb_flash_sim *sim, uint64_t n_ops, bool tear, uint64_t seed)
{
    nb__powercut_arm(&sim->pc, n_ops, tear, seed);
}

void nb_flash_sim_disarm(struct nb_flash_sim *sim)
{
    sim->pc.armed = false;
}

bool nb_flash_sim_power_lost(const struct nb_flash_sim *sim)
{
    return sim->pc.lost;
}

void nb_flash_sim_restore_power(struct nb_flash_sim *sim)
{
    nb__powercut_restore(&sim->pc);
}

void nb_flash_sim_stats(const struct nb_flash_sim *sim, struct nb_flash_sim_stats *out)
{
    *out = sim->stats;
}

void nb_flash_sim_reset_stats(struct nb_flash_sim *sim)
{
    memset(&sim->stats, 0, sizeof sim->stats);
}

uint32_t nb_flash_sim_erase_count(const struct nb_flash_sim *sim, uint64_t sector)
{
    return sector < sim->sectors ? sim->wear[sector] : 0;
}

uint32_t nb_flash_sim_max_erase_count(const struct nb_flash_sim *sim)
{
    uint32_t max = 0;
    for (uint64_t s = 0; s < sim->sectors; s++)
        max = sim->wear[s] > max ? sim->wear[s] : max;
    return max;
}

const char *nb_flash_sim_last_error(const struct nb_flash_sim *sim)
{
    return sim->diag.msg;
}
