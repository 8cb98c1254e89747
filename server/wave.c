/* Deterministic, sticky wave membership (wave.h): positions from SHA-256 of
 * the rollout's salt and the device id, waves as prefixes of the devices
 * sorted by position, so every wave contains the ones before it. Pure but
 * for the hash; the engine (rollout.c) stores who was put in which wave. */
#include "wave.h"

#include <nobrick/crypto.h>

#include <stdlib.h>
#include <string.h>

size_t wave_default_plan(struct wave_step *steps, size_t cap)
{
    static const struct wave_step plan[] = {
        {10000, 0, 10}, {50000, 0, 0}, {250000, 0, 0}, {500000, 0, 0}, {WAVE_PPM, 0, 0},
    };
    size_t n = sizeof plan / sizeof plan[0];
    n = n < cap ? n : cap;
    memcpy(steps, plan, n * sizeof plan[0]);
    return n;
}

enum nb_err wave_position(const char *salt, const char *device_id, uint32_t *out)
{
    struct nb_sha256_ctx h = {0};
    uint8_t d[NB_SHA256_LEN];
    enum nb_err err = nb_sha256_begin(&h);
    if (err == NB_OK)
        err = nb_sha256_update(&h, salt, strlen(salt));
    if (err == NB_OK)
        err = nb_sha256_update(&h, ":", 1);
    if (err == NB_OK)
        err = nb_sha256_update(&h, device_id, strlen(device_id));
    if (err == NB_OK)
        err = nb_sha256_final(&h, d);
    else
        nb_sha256_abort(&h);
    if (err == NB_OK)
        *out = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    return err;
}

/* true when position pos (a fraction of 2^32) is below share_ppm. */
static bool below(uint32_t pos, uint32_t share_ppm)
{
    return (uint64_t)pos * WAVE_PPM < (uint64_t)share_ppm << 32;
}

void wave_sizes(const struct wave_step *steps, size_t n_steps, const struct wave_member *m,
                size_t n, size_t *sizes)
{
    size_t prev = 0, under = 0;
    uint32_t share = 0;
    for (size_t k = 0; k < n_steps; k++) {
        /* Shares may only grow (a step is never below the one before), and
         * m is sorted, so "under" only moves on. */
        share = steps[k].share_ppm > share ? steps[k].share_ppm : share;
        while (under < n && below(m[under].pos, share))
            under++;
        size_t s = under;
        s = steps[k].count > s ? steps[k].count : s;
        s = steps[k].min_count > s ? steps[k].min_count : s;
        s = prev > s ? prev : s;
        s = s > n || share >= WAVE_PPM ? n : s;
        sizes[k] = prev = s;
    }
}

static int by_position(const void *a, const void *b)
{
    const struct wave_member *x = a, *y = b;
    if (x->canary != y->canary)
        return x->canary ? -1 : 1;
    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    return strcmp(x->id, y->id);
}

enum nb_err wave_assign(const char *salt, const struct wave_step *steps, size_t n_steps,
                        struct wave_member *m, size_t n)
{
    if (n_steps > WAVE_STEPS_MAX)
        return NB_EINVAL;
    for (size_t i = 0; i < n; i++) {
        enum nb_err err = wave_position(salt, m[i].id, &m[i].pos);
        if (err != NB_OK)
            return err;
    }
    if (n > 1)
        qsort(m, n, sizeof m[0], by_position);
    size_t canaries = 0;
    while (canaries < n && m[canaries].canary)
        m[canaries++].wave = 0;
    struct wave_member *rest = m + canaries;
    size_t n_rest = n - canaries, sizes[WAVE_STEPS_MAX], done = 0;
    wave_sizes(steps, n_steps, rest, n_rest, sizes);
    for (size_t k = 0; k < n_steps; k++) {
        for (; done < sizes[k]; done++)
            rest[done].wave = (unsigned)k + 1;
    }
    for (; done < n_rest; done++)
        rest[done].wave = (unsigned)n_steps + 1;
    return NB_OK;
}
