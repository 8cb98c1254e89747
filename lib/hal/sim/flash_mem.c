/* Simulated NOR flash in memory (flash_mem.h): a table of erase sectors,
 * each erased (NULL), shared (a content of flash_mem_store.c) or private
 * (written since the last share, owned by this flash). The NOR rules and
 * the power-cut model (powercut.c) are flash_sim's; only the storage
 * differs. A program on a shared sector copies it first (copy on write). */
#include "flash_mem_store.h"
#include "powercut.h"

#include <nobrick/alloc.h>
#include <nobrick/flash_mem.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERASED 0xFF

struct nb_flash_mem {
    struct nb_flash_mem_store *store;
    struct nb_flash_geometry geo;
    uint64_t n_sectors;
    void **sec;     /* NULL: erased; else uint8_t[erase_size] or struct nb__mem_sector */
    uint8_t *owned; /* bit per sector: sec[i] is private */
    uint64_t n_owned;
    struct nb__powercut pc;
    struct nb_flash_sim_stats stats;
    char error[160];
};

static enum nb_err fail(struct nb_flash_mem *m, enum nb_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum nb_err fail(struct nb_flash_mem *m, enum nb_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(m->error, sizeof m->error, fmt, ap);
    va_end(ap);
    return err;
}

static bool is_owned(const struct nb_flash_mem *m, uint64_t i)
{
    return ((unsigned)m->owned[i / 8] >> (i % 8)) & 1u;
}

static void set_owned(struct nb_flash_mem *m, uint64_t i, bool on)
{
    if (on == is_owned(m, i))
        return;
    m->owned[i / 8] ^= (uint8_t)(1u << (i % 8));
    m->n_owned = on ? m->n_owned + 1 : m->n_owned - 1;
}

/* The bytes of sector i, or NULL when it is erased. */
static const uint8_t *sector_data(const struct nb_flash_mem *m, uint64_t i)
{
    if (m->sec[i] == NULL)
        return NULL;
    return is_owned(m, i) ? m->sec[i] : ((struct nb__mem_sector *)m->sec[i])->data;
}

/* Back to erased, releasing what the sector held. */
static void sector_drop(struct nb_flash_mem *m, uint64_t i)
{
    if (m->sec[i] != NULL && is_owned(m, i))
        nb_free(m->sec[i]);
    else if (m->sec[i] != NULL)
        nb__mem_store_unref(m->store, m->sec[i]);
    m->sec[i] = NULL;
    set_owned(m, i, false);
}

/* Sector i as a private, writable copy (erased or copied on write). */
static uint8_t *sector_writable(struct nb_flash_mem *m, uint64_t i)
{
    if (m->sec[i] != NULL && is_owned(m, i))
        return m->sec[i];
    uint8_t *p = nb_malloc(m->geo.erase_size);
    if (p == NULL)
        return NULL;
    const uint8_t *old = sector_data(m, i);
    if (old != NULL)
        memcpy(p, old, m->geo.erase_size);
    else
        memset(p, ERASED, m->geo.erase_size);
    sector_drop(m, i);
    m->sec[i] = p;
    set_owned(m, i, true);
    return p;
}

/* Writes len bytes at off: from src, or erased bytes when src is NULL. A
 * whole sector erased is dropped rather than filled. */
static enum nb_err apply(struct nb_flash_mem *m, uint64_t off, const uint8_t *src, uint64_t len)
{
    uint32_t es = m->geo.erase_size;
    while (len > 0) {
        uint64_t i = off / es;
        uint32_t in = (uint32_t)(off % es);
        uint64_t n = len < es - in ? len : es - in;
        if (src == NULL && n == es) {
            sector_drop(m, i);
        } else if (src != NULL || m->sec[i] != NULL) {
            uint8_t *p = sector_writable(m, i);
            if (p == NULL)
                return fail(m, NB_ENOMEM, "flash mem: out of memory for a sector");
            if (src != NULL)
                memcpy(p + in, src, (size_t)n);
            else
                memset(p + in, ERASED, (size_t)n);
        }
        off += n;
        len -= n;
        src = src != NULL ? src + n : NULL;
    }
    return NB_OK;
}

static uint8_t byte_at(const struct nb_flash_mem *m, uint64_t off)
{
    const uint8_t *d = sector_data(m, off / m->geo.erase_size);
    return d != NULL ? d[off % m->geo.erase_size] : ERASED;
}

static enum nb_err check_range(struct nb_flash_mem *m, const char *op, uint64_t off, uint64_t len,
                               uint32_t align)
{
    if (off > m->geo.size || len > m->geo.size - off)
        return fail(m, NB_EINVAL, "flash mem: %s [%llu, +%llu) outside the %llu-byte flash", op,
                    (unsigned long long)off, (unsigned long long)len,
                    (unsigned long long)m->geo.size);
    if (off % align != 0 || len % align != 0)
        return fail(m, NB_EINVAL, "flash mem: %s [%llu, +%llu) not aligned to %u", op,
                    (unsigned long long)off, (unsigned long long)len, align);
    return NB_OK;
}

static enum nb_err power_off(struct nb_flash_mem *m, const char *op)
{
    return fail(m, NB_EIO, "flash mem: %s after a power cut", op);
}

static enum nb_err mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct nb_flash_mem *m = ctx;
    if (m->pc.lost)
        return power_off(m, "read");
    enum nb_err err = check_range(m, "read", off, len, 1);
    if (err != NB_OK)
        return err;
    uint8_t *out = buf;
    uint32_t es = m->geo.erase_size;
    for (size_t done = 0; done < len;) {
        uint64_t at = off + done;
        uint32_t in = (uint32_t)(at % es);
        size_t n = len - done < es - in ? len - done : es - in;
        const uint8_t *d = sector_data(m, at / es);
        if (d != NULL)
            memcpy(out + done, d + in, n);
        else
            memset(out + done, ERASED, n);
        done += n;
    }
    m->stats.reads++;
    m->stats.bytes_read += len;
    return NB_OK;
}

/* NOR programs only erased bytes (MCUboot's simflash rule). */
static enum nb_err check_erased(struct nb_flash_mem *m, uint64_t off, size_t len)
{
    uint32_t es = m->geo.erase_size;
    for (size_t done = 0; done < len;) {
        uint64_t at = off + done;
        uint32_t in = (uint32_t)(at % es);
        size_t n = len - done < es - in ? len - done : es - in;
        const uint8_t *d = sector_data(m, at / es);
        for (size_t k = 0; d != NULL && k < n; k++) {
            if (d[in + k] != ERASED) {
                m->stats.violations++;
                return fail(m, NB_EIO, "flash mem: program on unerased byte at %llu",
                            (unsigned long long)(at + k));
            }
        }
        done += n;
    }
    return NB_OK;
}

/* A torn program: the prefix programmed, the next byte half-programmed,
 * the rest left erased. */
static enum nb_err tear_program(struct nb_flash_mem *m, uint64_t off, const uint8_t *buf,
                                size_t len)
{
    uint64_t t = nb__powercut_torn_len(&m->pc, len);
    enum nb_err err = apply(m, off, buf, t);
    if (err == NB_OK && m->pc.tear && t < len) {
        uint8_t half = nb__powercut_half_program(&m->pc, buf[t]);
        err = apply(m, off + t, &half, 1);
    }
    m->stats.programs++;
    m->stats.bytes_programmed += t;
    m->stats.torn++;
    m->stats.last_torn_len = t;
    return err != NB_OK ? err : fail(m, NB_EIO, "flash mem: power cut during program");
}

static enum nb_err mem_program(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct nb_flash_mem *m = ctx;
    if (m->pc.lost)
        return power_off(m, "program");
    enum nb_err err = check_range(m, "program", off, len, m->geo.write_size);
    if (err == NB_OK)
        err = check_erased(m, off, len);
    if (err != NB_OK || len == 0)
        return err;
    if (nb__powercut_hit(&m->pc))
        return tear_program(m, off, buf, len);
    err = apply(m, off, buf, len);
    if (err != NB_OK)
        return err;
    m->stats.programs++;
    m->stats.bytes_programmed += len;
    return NB_OK;
}

/* A torn erase: a prefix erased, the byte after it half-erased, the rest
 * as it was. */
static enum nb_err tear_erase(struct nb_flash_mem *m, uint64_t off, uint64_t len)
{
    uint64_t t = nb__powercut_torn_len(&m->pc, len);
    enum nb_err err = apply(m, off, NULL, t);
    if (err == NB_OK && m->pc.tear && t < len) {
        uint8_t half = nb__powercut_half_erase(&m->pc, byte_at(m, off + t));
        uint8_t *p = sector_writable(m, (off + t) / m->geo.erase_size);
        if (p == NULL)
            err = fail(m, NB_ENOMEM, "flash mem: out of memory for a sector");
        else
            p[(off + t) % m->geo.erase_size] = half;
    }
    m->stats.erases++;
    m->stats.bytes_erased += t;
    m->stats.torn++;
    m->stats.last_torn_len = t;
    return err != NB_OK ? err : fail(m, NB_EIO, "flash mem: power cut during erase");
}

static enum nb_err mem_erase(void *ctx, uint64_t off, uint64_t len)
{
    struct nb_flash_mem *m = ctx;
    if (m->pc.lost)
        return power_off(m, "erase");
    enum nb_err err = check_range(m, "erase", off, len, m->geo.erase_size);
    if (err != NB_OK || len == 0)
        return err;
    if (nb__powercut_hit(&m->pc))
        return tear_erase(m, off, len);
    err = apply(m, off, NULL, len);
    if (err != NB_OK)
        return err;
    m->stats.erases++;
    m->stats.bytes_erased += len;
    return NB_OK;
}

static enum nb_err mem_sync(void *ctx)
{
    struct nb_flash_mem *m = ctx;
    return m->pc.lost ? power_off(m, "sync") : NB_OK;
}

static void mem_geometry(void *ctx, struct nb_flash_geometry *out)
{
    const struct nb_flash_mem *m = ctx;
    *out = m->geo;
}

static const struct nb_flash_ops mem_ops = {
    .read = mem_read,
    .program = mem_program,
    .erase = mem_erase,
    .sync = mem_sync,
    .geometry = mem_geometry,
};

static struct nb_flash_mem *alloc_mem(struct nb_flash_mem_store *st,
                                      const struct nb_flash_geometry *g)
{
    uint64_t n = g->size / g->erase_size;
    if (n > SIZE_MAX / sizeof(void *))
        return NULL;
    struct nb_flash_mem *m = nb_calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->sec = nb_calloc((size_t)n, sizeof *m->sec);
    m->owned = nb_calloc((size_t)(n + 7) / 8, 1);
    if (m->sec == NULL || m->owned == NULL) {
        nb_free(m->sec);
        nb_free(m->owned);
        nb_free(m);
        return NULL;
    }
    m->store = st;
    m->geo = *g;
    m->n_sectors = n;
    return m;
}

enum nb_err nb_flash_mem_new(struct nb_flash_mem_store *st, const struct nb_flash_mem_config *cfg,
                             struct nb_flash_mem **out)
{
    uint32_t ws = cfg->write_size, es = cfg->erase_size;
    if (st == NULL || es != nb__mem_store_erase_size(st) || ws == 0 || (ws & (ws - 1)) != 0 ||
        ws > es || es % 8 != 0 || cfg->size == 0 || cfg->size % es != 0)
        return NB_EINVAL;
    struct nb_flash_geometry g = {cfg->size, es, ws, ERASED, true};
    struct nb_flash_mem *m = alloc_mem(st, &g);
    if (m == NULL)
        return NB_ENOMEM;
    *out = m;
    return NB_OK;
}

enum nb_err nb_flash_mem_clone(struct nb_flash_mem *src, struct nb_flash_mem **out)
{
    enum nb_err err = nb_flash_mem_share(src);
    if (err != NB_OK)
        return err;
    struct nb_flash_mem *m = alloc_mem(src->store, &src->geo);
    if (m == NULL)
        return NB_ENOMEM;
    for (uint64_t i = 0; i < m->n_sectors; i++) {
        m->sec[i] = src->sec[i];
        if (m->sec[i] != NULL)
            nb__mem_store_ref(m->store, m->sec[i]);
    }
    *out = m;
    return NB_OK;
}

void nb_flash_mem_free(struct nb_flash_mem *m)
{
    if (m == NULL)
        return;
    for (uint64_t i = 0; i < m->n_sectors; i++)
        sector_drop(m, i);
    nb_free(m->owned);
    nb_free(m->sec);
    nb_free(m);
}

struct nb_flash nb_flash_mem_flash(struct nb_flash_mem *m)
{
    return (struct nb_flash){.ops = &mem_ops, .ctx = m};
}

static bool all_erased(const uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        if (p[i] != ERASED)
            return false;
    return true;
}

enum nb_err nb_flash_mem_share(struct nb_flash_mem *m)
{
    for (uint64_t i = 0; m->n_owned > 0 && i < m->n_sectors; i++) {
        if (!is_owned(m, i))
            continue;
        uint8_t *p = m->sec[i];
        if (all_erased(p, m->geo.erase_size)) {
            sector_drop(m, i);
            continue;
        }
        struct nb__mem_sector *s = nb__mem_store_intern(m->store, p);
        if (s == NULL)
            return NB_ENOMEM;
        nb_free(p);
        m->sec[i] = s;
        set_owned(m, i, false);
    }
    return NB_OK;
}

void nb_flash_mem_cut_after(struct nb_flash_mem *m, uint64_t n_ops, bool tear, uint64_t seed)
{
    nb__powercut_arm(&m->pc, n_ops, tear, seed);
}

void nb_flash_mem_disarm(struct nb_flash_mem *m)
{
    m->pc.armed = false;
}

bool nb_flash_mem_power_lost(const struct nb_flash_mem *m)
{
    return m->pc.lost;
}

void nb_flash_mem_restore_power(struct nb_flash_mem *m)
{
    nb__powercut_restore(&m->pc);
}

void nb_flash_mem_stats(const struct nb_flash_mem *m, struct nb_flash_sim_stats *out)
{
    *out = m->stats;
}

void nb_flash_mem_reset_stats(struct nb_flash_mem *m)
{
    memset(&m->stats, 0, sizeof m->stats);
}

void nb_flash_mem_usage(const struct nb_flash_mem *m, struct nb_flash_mem_usage *out)
{
    uint64_t present = 0;
    for (uint64_t i = 0; i < m->n_sectors; i++)
        present += m->sec[i] != NULL;
    out->private_sectors = m->n_owned;
    out->shared_sectors = present - m->n_owned;
    out->bytes = sizeof *m + m->n_sectors * sizeof *m->sec + (m->n_sectors + 7) / 8 +
                 m->n_owned * m->geo.erase_size;
}

const char *nb_flash_mem_last_error(const struct nb_flash_mem *m)
{
    return m->error;
}
