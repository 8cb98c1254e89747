/* The simulated fleet (fleet.h): the factory flash written once by the
 * library's factory step, cloned per device; keys derived from the seed;
 * power-on = nb_boot_run on the device's flash, then a fresh agent core
 * (nb_agent_init) told which slot booted, as nobrick-agent is by the
 * booted file. */
#include "fleet.h"
#include "move.h"

#include <nobrick/alloc.h>
#include <nobrick/bundle_file.h>
#include <nobrick/crypto.h>
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>
#include <nobrick/fileio.h>
#include <nobrick/frames.h>
#include <nobrick/provision.h>
#include <nobrick/trust.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#define BOOT_WINDOW (64u * 1024)

/* ---- clock and random of one device ------------------------------------ */

static enum nb_err dev_now_ms(void *ctx, uint64_t *out)
{
    const struct sim_device *d = ctx;
    if (!d->clock->wall) {
        *out = d->clock->now_ms;
        return NB_OK;
    }
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return NB_EIO;
    *out = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    return NB_OK;
}

/* The wall clock: virtual (plus the device's offset) when the server
 * follows the simulator's clock file (vclock.h), else real: the server
 * signs instructions with its own time, and a device whose clock ran days
 * ahead of it would find them expired. */
static enum nb_err dev_unix_s(void *ctx, int64_t *out)
{
    const struct sim_device *d = ctx;
    int64_t base = d->clock->unix_base_s;
    *out = (base != 0 ? base + (int64_t)(d->clock->now_ms / 1000) : (int64_t)time(NULL)) +
           d->clock_offset_s;
    return NB_OK;
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static enum nb_err dev_fill(void *ctx, void *buf, size_t len)
{
    struct sim_device *d = ctx;
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = (uint8_t)(next_random(&d->rng) >> 24);
    return NB_OK;
}

/* A non-zero xorshift state per device, unrelated between neighbours. */
static uint64_t seed_mix(uint64_t seed, uint32_t index)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15u + index + 1;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    x ^= x >> 31;
    return x != 0 ? x : 1;
}

static const struct nb_clock_ops dev_clock = {dev_now_ms, dev_unix_s};
static const struct nb_rng_ops dev_rng = {dev_fill};

double sim_device_random(struct sim_device *d)
{
    return (double)(next_random(&d->rng) >> 11) / 9007199254740992.0;
}

static enum nb_err dev_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    return nb_ed25519_sign(((const struct sim_device *)ctx)->ed_seed, msg, len, sig);
}

static void dev_log(void *ctx, const char *line)
{
    const struct sim_device *d = ctx;
    fprintf(stderr, "dev %u: %s\n", (unsigned)d->index, line);
}

const char *sim_device_class(const struct sim_fleet *f, const struct sim_device *d)
{
    return f->sc->classes[d->hw].name;
}

const char *sim_device_revision(const struct sim_fleet *f, const struct sim_device *d)
{
    return f->sc->classes[d->hw].revisions[d->rev];
}

void sim_fleet_group_name(const struct sim_fleet *f, uint32_t n, char out[SIM_NAME_MAX + 1])
{
    if (f->sc->group_size == 0)
        (void)snprintf(out, SIM_NAME_MAX + 1, "%s", f->sc->group);
    else
        (void)snprintf(out, SIM_NAME_MAX + 1, "%.52s-%u", f->sc->group, (unsigned)n);
}

void sim_device_group(const struct sim_fleet *f, const struct sim_device *d,
                      char out[SIM_NAME_MAX + 1])
{
    sim_fleet_group_name(f, f->sc->group_size ? d->index / f->sc->group_size : 0, out);
}

uint32_t sim_fleet_groups(const struct sim_fleet *f)
{
    uint32_t g = f->sc->group_size;
    return g == 0 ? 1 : (f->n + g - 1) / g;
}

const struct sim_release *sim_fleet_release(const struct sim_fleet *f, const char *version)
{
    for (size_t i = 0; i < f->sc->n_releases; i++)
        if (f->release_version[i][0] != '\0' && strcmp(f->release_version[i], version) == 0)
            return &f->sc->releases[i];
    return NULL;
}

/* ---- provisioning -------------------------------------------------------- */

/* The factory flash: the bundle verified against the root, then written by
 * the factory step; the root every device trusts read back from it. */
static enum nb_err provision_factory(struct sim_fleet *f, struct nb_diag *diag)
{
    const struct sim_scenario *sc = f->sc;
    const char *paths[] = {sc->root};
    struct nb_root root;
    struct nb_factory fac;
    struct nb_bundle_reader r;
    uint8_t *text = NULL;
    size_t len = 0;
    memset(&r, 0, sizeof r);
    memset(&fac, 0, sizeof fac);
    enum nb_err err = nb_file_read(sc->root, NB_TRUST_ROOT_MAX, &text, &len, diag);
    if (err == NB_OK)
        err = nb_bundle_file_load_roots(paths, 1, (int64_t)time(NULL), &root, diag);
    if (err == NB_OK)
        err = nb_bundle_reader_open_file(&r, sc->factory, diag);
    if (err == NB_OK)
        err = nb_factory_load(&root, &r, &fac, diag);
    if (err == NB_OK)
        err = nb_layout_compute(sc->erase_size, sc->slot_size, sc->meta_size, false, &f->layout);
    struct nb_flash_mem_config mc = {f->layout.end, sc->erase_size, sc->write_size};
    if (err == NB_OK)
        err = nb_flash_mem_store_new(sc->erase_size, &f->store);
    if (err == NB_OK)
        err = nb_flash_mem_new(f->store, &mc, &f->factory);
    if (err == NB_OK) {
        struct nb_flash fl = nb_flash_mem_flash(f->factory);
        err = nb_factory_write(&fac, &r, &fl, &f->layout, text, len, diag);
        (void)snprintf(f->factory_version, sizeof f->factory_version, "%s", fac.rel.version);
    }
    nb_factory_fini(&fac);
    nb_bundle_reader_close(&r);
    nb_free(text);
    return err;
}

static enum nb_err load_root(struct sim_fleet *f, struct nb_diag *diag)
{
    struct nb_dualrec trust;
    struct nb_flash fl = nb_flash_mem_flash(f->factory);
    size_t len = 0;
    enum nb_err err =
        nb_dualrec_init(&trust, &fl, f->layout.trust[0], f->layout.trust[1], NB_TRUST_MAGIC);
    if (err == NB_OK)
        err = nb_trust_load(&trust, f->trust_text, NB_TRUST_ROOT_MAX, &len, f->scratch,
                            NB_ENVELOPE_SCRATCH_LEN, &f->root, diag);
    return err;
}

/* 32 bytes derived from the fleet's seed, the device and a label. */
static enum nb_err derive(uint64_t seed, uint32_t index, const char *label, uint8_t out[32])
{
    char msg[96];
    int n = snprintf(msg, sizeof msg, "nobrick-sim %llu %u %s", (unsigned long long)seed,
                     (unsigned)index, label);
    return nb_sha256(msg, (size_t)n, out);
}

static enum nb_err device_keys(struct sim_device *d, uint64_t seed)
{
    uint8_t pub[NB_ED25519_PUB_LEN];
    enum nb_err err = derive(seed, d->index, "ed25519", d->ed_seed);
    if (err == NB_OK)
        err = derive(seed, d->index, "x25519", d->x_priv);
    if (err == NB_OK)
        err = nb_ed25519_public(d->ed_seed, pub);
    if (err == NB_OK)
        err = nb_x25519_public(d->x_priv, d->x_pub);
    if (err == NB_OK)
        err = nb_keyid(pub, d->id);
    if (err == NB_OK)
        err = nb_hex_encode(pub, sizeof pub, d->pub_hex, sizeof d->pub_hex);
    return err;
}

/* Class by weight, revision round-robin within the class. */
static void assign_class(const struct sim_scenario *sc, struct sim_device *d)
{
    uint32_t total = 0, at = 0;
    for (size_t i = 0; i < sc->n_classes; i++)
        total += sc->classes[i].weight;
    uint32_t k = d->index % total;
    size_t c = 0;
    while (c + 1 < sc->n_classes && k >= at + sc->classes[c].weight)
        at += sc->classes[c++].weight;
    d->hw = (uint16_t)c;
    d->rev = (uint16_t)((d->index / total) % sc->classes[c].n_revisions);
}

static enum nb_err device_new(struct sim_fleet *f, struct sim_device *d, uint32_t i)
{
    const struct sim_scenario *sc = f->sc;
    d->index = i;
    d->clock = &f->clock;
    d->rng = seed_mix(sc->seed, i);
    d->running = NB_BOOTCTL_A;
    d->online = SIM_ALWAYS_ONLINE;
    assign_class(sc, d);
    if (sc->clock_offset_max_s > 0)
        d->clock_offset_s = (int64_t)(next_random(&d->rng) % (2u * sc->clock_offset_max_s + 1)) -
                            (int64_t)sc->clock_offset_max_s;
    d->table = nb_malloc(f->table_cap);
    if (d->table == NULL)
        return NB_ENOMEM;
    enum nb_err err = device_keys(d, sc->seed);
    if (err == NB_OK)
        err = nb_flash_mem_clone(f->factory, &d->mem);
    if (err == NB_OK)
        d->flash = nb_flash_mem_flash(d->mem);
    return err;
}

static enum nb_err shared_buffers(struct sim_fleet *f)
{
    uint64_t frames = f->sc->slot_size / NB_FRAME_SIZE_MIN + 1;
    f->table_cap = (size_t)nb_frame_table_len(frames > NB_FRAMES_MAX_COUNT ? NB_FRAMES_MAX_COUNT
                                                                           : (uint32_t)frames);
    f->scratch = nb_malloc(NB_ENVELOPE_SCRATCH_LEN);
    f->window = nb_malloc(NB_FRAME_SIZE_MAX);
    f->envelope = nb_malloc(NB_ENVELOPE_MAX);
    f->trust_text = nb_malloc(NB_TRUST_ROOT_MAX);
    if (f->scratch == NULL || f->window == NULL || f->envelope == NULL || f->trust_text == NULL)
        return NB_ENOMEM;
    return nb_codec_init(&f->codec);
}

enum nb_err sim_fleet_new(const struct sim_scenario *sc, struct sim_fleet *f, struct nb_diag *diag)
{
    memset(f, 0, sizeof *f);
    f->sc = sc;
    f->clock.wall = sc->wall_clock;
    enum nb_err err = shared_buffers(f);
    if (err == NB_OK)
        err = provision_factory(f, diag);
    if (err == NB_OK)
        err = load_root(f, diag);
    if (err == NB_OK && (f->dev = nb_calloc(sc->count, sizeof *f->dev)) == NULL)
        err = NB_ENOMEM;
    for (uint32_t i = 0; err == NB_OK && i < sc->count; i++, f->n++)
        err = device_new(f, &f->dev[i], i);
    if (err != NB_OK && diag->msg[0] == '\0')
        nb_diag_set(diag, err, "provisioning the fleet: %s", nb_strerror(err));
    return err;
}

void sim_fleet_free(struct sim_fleet *f)
{
    for (uint32_t i = 0; f->dev != NULL && i < f->n; i++) {
        sim_device_power_off(&f->dev[i]);
        nb_flash_mem_free(f->dev[i].mem);
        nb_free(f->dev[i].table);
        nb_wipe(f->dev[i].ed_seed, sizeof f->dev[i].ed_seed);
        nb_free(f->dev[i].root);
    }
    sim_move_free(f);
    nb_free(f->dev);
    nb_flash_mem_free(f->factory);
    nb_flash_mem_store_free(f->store);
    nb_codec_fini(&f->codec);
    nb_free(f->trust_text);
    nb_free(f->envelope);
    nb_free(f->window);
    nb_free(f->scratch);
}

/* ---- power ------------------------------------------------------------- */

/* The stores of a flash as a power-on finds them: nothing cached. */
static enum nb_err bind(struct sim_fleet *f, const struct nb_flash *fl,
                        struct nb_bootctl_flash *bcf, struct nb_dualrec *journal,
                        struct nb_dualrec *trust)
{
    const struct nb_layout *l = &f->layout;
    enum nb_err err = nb_bootctl_flash_init(bcf, fl, l->bootctl[0], l->bootctl[1]);
    if (err == NB_OK && journal != NULL)
        err = nb_dualrec_init(journal, fl, l->journal[0], l->journal[1], NB_JOURNAL_MAGIC);
    if (err == NB_OK)
        err = nb_dualrec_init(trust, fl, l->trust[0], l->trust[1], NB_TRUST_MAGIC);
    return err;
}

static enum nb_err boot(struct sim_fleet *f, const struct nb_flash *fl, struct nb_boot_result *res)
{
    struct nb_bootctl_flash bcf;
    struct nb_dualrec trust;
    enum nb_err err = bind(f, fl, &bcf, NULL, &trust);
    struct nb_boot_device bd = {fl, &f->layout, nb_bootctl_flash_control(&bcf), &trust};
    struct nb_boot_bufs bufs = {
        f->scratch,    NB_ENVELOPE_SCRATCH_LEN, f->envelope, NB_ENVELOPE_MAX,
        f->trust_text, NB_TRUST_ROOT_MAX,       f->window,   BOOT_WINDOW};
    if (err == NB_OK)
        err = nb_boot_run(&bd, &bufs, res);
    return err;
}

static void start_core(struct sim_fleet *f, struct sim_device *d)
{
    const struct sim_scenario *sc = f->sc;
    struct nb_agent_config ac = {
        .device_id = d->id,
        .public_key = d->pub_hex,
        .poll_interval_s = sc->poll_interval_s,
        .poll_jitter_s = sc->poll_jitter_s,
        .backoff_min_s = 10,
        .backoff_max_s = 600,
        .frame_retries = 3,
        .fetch_max_bytes = NB_AGENT_FETCH_DEFAULT,
        .running_known = true,
        .running = d->running,
        .policy = NB_AGENT_POLICY_AUTO,
        .server = sc->server,
        .failover = d->root != NULL,
    };
    struct nb_agent_env env = {
        .clock = {&dev_clock, d},
        .rng = {&dev_rng, d},
        .dev = {&d->flash, &f->layout, nb_bootctl_flash_control(&d->bcf), &d->journal,
                d->root != NULL ? d->root : &f->root, sim_device_class(f, d), NULL, d->x_priv,
                d->x_pub, 0},
        .sign = dev_sign,
        .sign_ctx = d,
        .log = f->verbose ? dev_log : NULL,
        .log_ctx = d,
        .event = f->event,
        .event_ctx = d,
        .scratch = f->scratch,
        .scratch_len = NB_ENVELOPE_SCRATCH_LEN,
        .window = f->window,
        .window_cap = NB_FRAME_SIZE_MAX,
        .table = d->table,
        .table_cap = f->table_cap,
        .codec = &f->codec,
        .trust = d->root != NULL ? &d->trust : NULL,
        .root = d->root,
        .envelope = f->envelope,
        .envelope_cap = NB_ENVELOPE_MAX,
    };
    nb_agent_init(d->agent, &ac, &env);
}

bool sim_device_power_on(struct sim_fleet *f, struct sim_device *d)
{
    struct nb_boot_result res;
    sim_device_power_off(d);
    nb_flash_mem_restore_power(d->mem);
    /* Out of memory here only leaves the overlay private: not fatal. */
    if (nb_flash_mem_share(d->mem) != NB_OK)
        fprintf(stderr, "dev %u: sharing its flash: out of memory\n", (unsigned)d->index);
    f->reboots++;
    enum nb_err err = boot(f, &d->flash, &res);
    if (err == NB_OK)
        err = bind(f, &d->flash, &d->bcf, &d->journal, &d->trust);
    if (err == NB_OK && !sim_move_power_on(f, d))
        err = NB_EBOOT_VERIFY;
    if (err == NB_OK && (d->agent = nb_calloc(1, sizeof *d->agent)) == NULL)
        err = NB_ENOMEM;
    if (err != NB_OK) {
        d->outcome = SIM_BRICKED;
        return false;
    }
    d->running = res.slot;
    start_core(f, d);
    return true;
}

void sim_device_power_off(struct sim_device *d)
{
    if (d->agent == NULL)
        return;
    nb_agent_fini(d->agent);
    nb_free(d->agent);
    d->agent = NULL;
}

enum nb_err sim_device_probe(struct sim_fleet *f, struct sim_device *d,
                             char version[NB_BOOTCTL_VERSION_MAX + 1])
{
    struct nb_flash_mem *copy = NULL;
    struct nb_boot_result res;
    enum nb_err err = nb_flash_mem_clone(d->mem, &copy);
    if (err != NB_OK)
        return err;
    struct nb_flash fl = nb_flash_mem_flash(copy);
    err = boot(f, &fl, &res);
    if (err == NB_OK)
        (void)snprintf(version, NB_BOOTCTL_VERSION_MAX + 1, "%s", res.version);
    nb_flash_mem_free(copy);
    return err;
}
