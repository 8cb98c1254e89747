/* Boot control in a U-Boot environment through libubootenv: the record as
 * nobrick_* variables plus the RAUC-style BOOT_ORDER / BOOT_x_LEFT that a
 * boot script acts on. Loading is a strict parse of text a person or a
 * script may have edited: every variable is checked and every refusal names
 * it. Storing rewrites the whole environment once (libubootenv writes the
 * copy that is not current, so a power cut leaves the old or the new one). */
#include <nobrick/alloc.h>
#include <nobrick/bootctl.h>
#include <nobrick/bootctl_uboot.h>
#include <nobrick/crypto.h>
#include <nobrick/encoding.h>
#include <nobrick/fileio.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#ifdef NB_HAVE_UBOOTENV
#include <libuboot.h>

#define FORMAT "1"  /* nobrick_format: bumped by an incompatible mapping */
#define GOOD_LEFT 3 /* BOOT_x_LEFT of a good slot: what RAUC's mark-good writes */
#define MAX_VARS 32
#define NAME_CAP 24
#define VALUE_CAP (2 * NB_SHA256_LEN + 1) /* the longest value: a SHA-256 in hex */
#define PREFIX "nobrick_"

_Static_assert(NB_BOOTCTL_VERSION_MAX < VALUE_CAP, "a version fits a value");

/* Slot names in variable names (nobrick_gold_state) and in BOOT_ORDER. */
static const char *const var_slot[NB_BOOTCTL_SLOTS] = {"a", "b", "gold"};
static const char *const boot_name[NB_BOOTCTL_SLOTS] = {"A", "B", "GOLD"};
static const char *const state_name[] = {"empty", "installing", "ready", "trial", "good", "bad"};
/* The per-slot fields, present only when the slot is not empty. */
static const char *const fields[] = {"tries", "sc", "size", "sha256", "version"};
#define N_FIELDS (sizeof fields / sizeof fields[0])
static const char *const globals[] = {"format", "has_gold", "primary", "min_sc"};
_Static_assert(4 + NB_BOOTCTL_SLOTS * (1 + N_FIELDS) + 1 + NB_BOOTCTL_SLOTS <= MAX_VARS,
               "every variable a store writes fits struct vars");

struct nb_bootctl_uboot {
    struct uboot_ctx *env;
    char config[1024];
    struct nb_diag last; /* why the last store failed */
};

/* --- the mapping: record -> variables --------------------------------------- */

struct var {
    char name[NAME_CAP];
    char value[VALUE_CAP];
    bool del; /* remove the variable (U-Boot cannot hold an empty one) */
};

struct vars {
    struct var v[MAX_VARS];
    size_t n;
};

static struct var *add(struct vars *vs, const char *name)
{
    struct var *v = &vs->v[vs->n++];
    snprintf(v->name, sizeof v->name, "%s", name);
    v->value[0] = '\0';
    v->del = false;
    return v;
}

static struct var *add_slot(struct vars *vs, unsigned i, const char *field)
{
    char name[NAME_CAP];
    snprintf(name, sizeof name, PREFIX "%s_%s", var_slot[i], field);
    return add(vs, name);
}

/* Trial first, then the primary, then the other good slots (A, B, gold):
 * nb_boot_run's order. Only the state decides, so the order does not
 * change when a script counts a trial down. */
static void boot_order(const struct nb_bootctl *rec, char *out, size_t cap)
{
    size_t len = 0;
    unsigned pick[NB_BOOTCTL_SLOTS], n = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++)
        if (rec->slot[i].state == NB_BOOTCTL_TRIAL)
            pick[n++] = i;
    if (rec->primary < NB_BOOTCTL_SLOTS)
        pick[n++] = rec->primary;
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++)
        if (rec->slot[i].state == NB_BOOTCTL_GOOD && i != rec->primary)
            pick[n++] = i;
    for (unsigned k = 0; k < n; k++) {
        int w = snprintf(out + len, cap - len, "%s%s", k == 0 ? "" : " ", boot_name[pick[k]]);
        len += w > 0 ? (size_t)w : 0;
    }
}

static unsigned left_of(const struct nb_bootctl_slot *s)
{
    return s->state == NB_BOOTCTL_TRIAL  ? s->tries_left
           : s->state == NB_BOOTCTL_GOOD ? GOOD_LEFT
                                         : 0;
}

static void encode_slot(const struct nb_bootctl_slot *s, unsigned i, struct vars *vs)
{
    snprintf(add_slot(vs, i, "state")->value, VALUE_CAP, "%s", state_name[s->state]);
    struct var *f[N_FIELDS];
    for (size_t k = 0; k < N_FIELDS; k++) {
        f[k] = add_slot(vs, i, fields[k]);
        f[k]->del = s->state == NB_BOOTCTL_EMPTY;
    }
    snprintf(f[0]->value, VALUE_CAP, "%u", s->tries_left);
    snprintf(f[1]->value, VALUE_CAP, "%" PRIu64, s->security_counter);
    snprintf(f[2]->value, VALUE_CAP, "%" PRIu64, s->image_size);
    if (nb_hex_encode(s->sha256, NB_SHA256_LEN, f[3]->value, VALUE_CAP) != NB_OK)
        f[3]->value[0] = '\0'; /* cannot happen: VALUE_CAP holds it */
    snprintf(f[4]->value, VALUE_CAP, "%s", s->version);
    /* U-Boot drops a variable set to "": an empty version (a slot still
     * installing has none yet) is an absent variable. */
    f[4]->del = f[4]->del || s->version[0] == '\0';
}

/* NB_EINVAL (why in diag) for a record the environment cannot hold. */
static enum nb_err encode(const struct nb_bootctl *rec, struct vars *vs, struct nb_diag *diag)
{
    struct nb_diag why = {{0}};
    if (nb_bootctl_check(rec, &why) != NB_OK)
        return nb_diag_set(diag, NB_EINVAL, "refusing to store an invalid record: %s", why.msg);
    vs->n = 0;
    snprintf(add(vs, PREFIX "format")->value, VALUE_CAP, FORMAT);
    snprintf(add(vs, PREFIX "has_gold")->value, VALUE_CAP, "%d", rec->has_gold ? 1 : 0);
    snprintf(add(vs, PREFIX "primary")->value, VALUE_CAP, "%s",
             rec->primary < NB_BOOTCTL_SLOTS ? boot_name[rec->primary] : "none");
    snprintf(add(vs, PREFIX "min_sc")->value, VALUE_CAP, "%" PRIu64, rec->min_security_counter);
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++)
        encode_slot(&rec->slot[i], i, vs);
    struct var *order = add(vs, "BOOT_ORDER");
    boot_order(rec, order->value, VALUE_CAP);
    order->del = order->value[0] == '\0'; /* nothing bootable */
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++) {
        char name[NAME_CAP];
        snprintf(name, sizeof name, "BOOT_%s_LEFT", boot_name[i]);
        struct var *v = add(vs, name);
        snprintf(v->value, VALUE_CAP, "%u", left_of(&rec->slot[i]));
        v->del = i == NB_BOOTCTL_GOLD && !rec->has_gold;
    }
    return NB_OK;
}

/* --- the mapping: variables -> record --------------------------------------- */

static const char *env_get(struct uboot_ctx *env, const char *name)
{
    for (void *e = libuboot_iterator(env, NULL); e != NULL; e = libuboot_iterator(env, e)) {
        const char *n = libuboot_getname(e);
        if (n != NULL && strcmp(n, name) == 0)
            return libuboot_getvalue(e);
    }
    return NULL;
}

static const char *slot_get(struct uboot_ctx *env, unsigned i, const char *field, char *name)
{
    snprintf(name, NAME_CAP, PREFIX "%s_%s", var_slot[i], field);
    return env_get(env, name);
}

/* Decimal, no sign, no leading zero, no overflow: one spelling per value. */
static const char *parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
        return "is not a decimal number (no sign, no leading zero)";
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return "is not a decimal number (no sign, no leading zero)";
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return "is out of range"; /* a wrap would turn 2^64+1 into 1 */
        v = v * 10 + d;
    }
    if (v > max)
        return "is out of range";
    *out = v;
    return NULL;
}

static enum nb_err number(const char *name, const char *val, uint64_t max, uint64_t *out,
                          struct nb_diag *diag)
{
    if (val == NULL)
        return nb_diag_set(diag, NB_EPARSE, "U-Boot environment: %s is missing", name);
    const char *why = parse_u64(val, max, out);
    if (why != NULL)
        return nb_diag_set(diag, NB_EPARSE, "U-Boot environment: %s: '%.40s' %s (0..%" PRIu64 ")",
                           name, val, why, max);
    return NB_OK;
}

static enum nb_err choice(const char *name, const char *val, const char *const *names, size_t n,
                          unsigned *out, struct nb_diag *diag)
{
    if (val == NULL)
        return nb_diag_set(diag, NB_EPARSE, "U-Boot environment: %s is missing", name);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(val, names[i]) == 0) {
            *out = (unsigned)i;
            return NB_OK;
        }
    }
    return nb_diag_set(diag, NB_EPARSE, "U-Boot environment: %s: unknown value '%.40s'", name, val);
}

/* The fields of a non-empty slot; all are required but the version, which
 * is absent when empty (a slot still installing has none yet). */
static enum nb_err decode_fields(struct uboot_ctx *env, unsigned i, struct nb_bootctl_slot *s,
                                 struct nb_diag *diag)
{
    char name[NAME_CAP];
    uint64_t tries = 0;
    enum nb_err err =
        number(name, slot_get(env, i, "tries", name), NB_BOOTCTL_MAX_TRIES, &tries, diag);
    if (err == NB_OK && tries != 0 && s->state != NB_BOOTCTL_TRIAL)
        err = nb_diag_set(diag, NB_EPARSE,
                          "U-Boot environment: %s is %" PRIu64 " but slot %s is %s: only a trial "
                          "counts tries",
                          name, tries, boot_name[i], state_name[s->state]);
    if (err == NB_OK)
        err = number(name, slot_get(env, i, "sc", name), UINT64_MAX, &s->security_counter, diag);
    if (err == NB_OK)
        err = number(name, slot_get(env, i, "size", name), UINT64_MAX, &s->image_size, diag);
    if (err != NB_OK)
        return err;
    s->tries_left = (uint8_t)tries;
    const char *sha = slot_get(env, i, "sha256", name);
    if (sha == NULL)
        return nb_diag_set(diag, NB_EPARSE, "U-Boot environment: %s is missing", name);
    if (nb_hex_decode(sha, strlen(sha), s->sha256, NB_SHA256_LEN) != NB_OK)
        return nb_diag_set(diag, NB_EPARSE,
                           "U-Boot environment: %s is not 64 lowercase hex characters", name);
    const char *ver = slot_get(env, i, "version", name);
    size_t len = ver == NULL ? 0 : strlen(ver);
    if (ver != NULL && (len == 0 || len > NB_BOOTCTL_VERSION_MAX))
        return nb_diag_set(diag, NB_EPARSE, "U-Boot environment: %s: length %zu not in 1..%d", name,
                           len, NB_BOOTCTL_VERSION_MAX);
    for (size_t k = 0; k < len; k++)
        if (ver[k] < 0x20 || ver[k] > 0x7E)
            return nb_diag_set(diag, NB_EPARSE, "U-Boot environment: %s: not printable ASCII",
                               name);
    if (len > 0)
        memcpy(s->version, ver, len); /* the rest stays zero, as the record wants */
    return NB_OK;
}

static enum nb_err decode_slot(struct uboot_ctx *env, unsigned i, struct nb_bootctl *rec,
                               struct nb_diag *diag)
{
    char name[NAME_CAP];
    unsigned state = 0;
    struct nb_bootctl_slot *s = &rec->slot[i];
    enum nb_err err = choice(name, slot_get(env, i, "state", name), state_name,
                             sizeof state_name / sizeof state_name[0], &state, diag);
    if (err != NB_OK)
        return err;
    s->state = (enum nb_bootctl_state)state;
    if (i == NB_BOOTCTL_GOLD && !rec->has_gold && s->state != NB_BOOTCTL_EMPTY)
        return nb_diag_set(diag, NB_EPARSE,
                           "U-Boot environment: %s is '%s' but nobrick_has_gold is 0", name,
                           state_name[state]);
    if (s->state != NB_BOOTCTL_EMPTY)
        return decode_fields(env, i, s, diag);
    for (size_t k = 0; k < N_FIELDS; k++)
        if (slot_get(env, i, fields[k], name) != NULL)
            return nb_diag_set(diag, NB_EPARSE,
                               "U-Boot environment: %s is set but slot %s is empty", name,
                               boot_name[i]);
    return NB_OK;
}

/* True when name is one of the variables this mapping writes. */
static bool known(const char *name)
{
    char buf[NAME_CAP];
    for (size_t g = 0; g < sizeof globals / sizeof globals[0]; g++) {
        snprintf(buf, sizeof buf, PREFIX "%s", globals[g]);
        if (strcmp(buf, name) == 0)
            return true;
    }
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++) {
        for (size_t k = 0; k <= N_FIELDS; k++) {
            snprintf(buf, sizeof buf, PREFIX "%s_%s", var_slot[i],
                     k == N_FIELDS ? "state" : fields[k]);
            if (strcmp(buf, name) == 0)
                return true;
        }
    }
    return false;
}

/* A nobrick_* variable this format does not know is a typo or a newer
 * format's: refused rather than ignored, so no state is silently lost. */
/* The first nobrick_* variable this format does not write, or NULL. */
static const char *first_unknown(struct uboot_ctx *env)
{
    for (void *e = libuboot_iterator(env, NULL); e != NULL; e = libuboot_iterator(env, e)) {
        const char *n = libuboot_getname(e);
        if (n != NULL && strncmp(n, PREFIX, strlen(PREFIX)) == 0 && !known(n))
            return n;
    }
    return NULL;
}

static enum nb_err no_unknown(struct uboot_ctx *env, struct nb_diag *diag)
{
    const char *n = first_unknown(env);
    if (n != NULL)
        return nb_diag_set(diag, NB_EPARSE,
                           "U-Boot environment: unknown variable %.40s (the nobrick_ prefix is "
                           "reserved)",
                           n);
    return NB_OK;
}

static enum nb_err decode_globals(struct uboot_ctx *env, struct nb_bootctl *rec,
                                  struct nb_diag *diag)
{
    const char *fmt = env_get(env, PREFIX "format");
    if (fmt == NULL)
        return nb_diag_set(diag, NB_EPARSE,
                           "U-Boot environment: nobrick_format is missing: no boot control was "
                           "ever stored in it (provision the device)");
    if (strcmp(fmt, FORMAT) != 0)
        return nb_diag_set(diag, NB_EPARSE,
                           "U-Boot environment: nobrick_format is '%.20s', this nobrick reads "
                           "format " FORMAT,
                           fmt);
    uint64_t gold = 0;
    enum nb_err err = no_unknown(env, diag);
    if (err == NB_OK)
        err = number(PREFIX "has_gold", env_get(env, PREFIX "has_gold"), 1, &gold, diag);
    if (err == NB_OK)
        err = number(PREFIX "min_sc", env_get(env, PREFIX "min_sc"), UINT64_MAX,
                     &rec->min_security_counter, diag);
    rec->has_gold = gold == 1;
    return err;
}

static enum nb_err decode_primary(struct uboot_ctx *env, struct nb_bootctl *rec,
                                  struct nb_diag *diag)
{
    static const char *const names[] = {"A", "B", "GOLD", "none"};
    unsigned p = 0;
    enum nb_err err = choice(PREFIX "primary", env_get(env, PREFIX "primary"), names, 4, &p, diag);
    if (err != NB_OK)
        return err;
    if (p < NB_BOOTCTL_SLOTS && rec->slot[p].state != NB_BOOTCTL_GOOD)
        return nb_diag_set(diag, NB_EPARSE,
                           "U-Boot environment: nobrick_primary is %s but slot %s is %s, not good",
                           names[p], names[p], state_name[rec->slot[p].state]);
    rec->primary = p < NB_BOOTCTL_SLOTS ? (uint8_t)p : NB_BOOTCTL_NONE;
    return NB_OK;
}

static enum nb_err check_trials(const struct nb_bootctl *rec, struct nb_diag *diag)
{
    int first = -1;
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++) {
        if (rec->slot[i].state != NB_BOOTCTL_TRIAL)
            continue;
        if (first >= 0)
            return nb_diag_set(diag, NB_EPARSE,
                               "U-Boot environment: nobrick_%s_state and nobrick_%s_state are "
                               "both trial",
                               var_slot[first], var_slot[i]);
        first = (int)i;
    }
    return NB_OK;
}

/* What the boot script may have changed: it counts the trial down in
 * BOOT_x_LEFT. The lower of the two counts wins, so a script that resets
 * its counters (RAUC's "no valid slot" branch) never gives a trial tries
 * back. The other slots' counts are only checked for being numbers. */
static enum nb_err decode_left(struct uboot_ctx *env, struct nb_bootctl *rec, struct nb_diag *diag)
{
    for (unsigned i = 0; i < NB_BOOTCTL_SLOTS; i++) {
        struct nb_bootctl_slot *s = &rec->slot[i];
        if (i == NB_BOOTCTL_GOLD && !rec->has_gold)
            break;
        char name[NAME_CAP];
        uint64_t left = 0;
        snprintf(name, sizeof name, "BOOT_%s_LEFT", boot_name[i]);
        enum nb_err err = number(name, env_get(env, name), UINT32_MAX, &left, diag);
        if (err != NB_OK)
            return err;
        if (s->state == NB_BOOTCTL_TRIAL && left < s->tries_left)
            s->tries_left = (uint8_t)left;
    }
    return NB_OK;
}

/* BOOT_ORDER is derived from the states: a different one means another
 * tool or a person changed what U-Boot boots behind the record's back. */
static enum nb_err check_order(struct uboot_ctx *env, const struct nb_bootctl *rec,
                               struct nb_diag *diag)
{
    char want[VALUE_CAP];
    boot_order(rec, want, sizeof want);
    const char *have = env_get(env, "BOOT_ORDER");
    if (have == NULL && want[0] != '\0')
        return nb_diag_set(diag, NB_EPARSE, "U-Boot environment: BOOT_ORDER is missing (want '%s')",
                           want);
    if (have != NULL && strcmp(have, want) != 0)
        return nb_diag_set(diag, NB_EPARSE,
                           "U-Boot environment: BOOT_ORDER is '%.20s' but the nobrick record says "
                           "'%s'",
                           have, want);
    return NB_OK;
}

static enum nb_err decode(struct uboot_ctx *env, struct nb_bootctl *out, struct nb_diag *diag)
{
    struct nb_bootctl rec;
    memset(&rec, 0, sizeof rec);
    enum nb_err err = decode_globals(env, &rec, diag);
    for (unsigned i = 0; err == NB_OK && i < NB_BOOTCTL_SLOTS; i++)
        err = decode_slot(env, i, &rec, diag);
    if (err == NB_OK)
        err = check_trials(&rec, diag);
    if (err == NB_OK)
        err = decode_primary(env, &rec, diag);
    if (err == NB_OK)
        err = decode_left(env, &rec, diag);
    if (err == NB_OK)
        err = check_order(env, &rec, diag);
    if (err != NB_OK)
        return err;
    /* Every invariant has its own message above; this is the backstop. */
    struct nb_diag why = {{0}};
    if (nb_bootctl_check(&rec, &why) != NB_OK)
        return nb_diag_set(diag, NB_EPARSE, "U-Boot environment: nobrick_* variables: %s", why.msg);
    *out = rec;
    return NB_OK;
}

/* --- libubootenv ------------------------------------------------------------- */

/* libuboot_open takes libubootenv's lock and reads both copies; the caller
 * always calls libuboot_close after it, which drops both. */
static enum nb_err env_open(struct nb_bootctl_uboot *u, struct nb_diag *diag)
{
    int r = libuboot_open(u->env);
    if (r == -ENODATA)
        return nb_diag_set(diag, NB_EPARSE,
                           "U-Boot environment of %s: no valid copy (CRC mismatch): U-Boot would "
                           "boot its built-in default; write that first (saveenv)",
                           u->config);
    if (r < 0)
        return nb_diag_set(diag, NB_EIO, "U-Boot environment of %s: cannot read it: %s", u->config,
                           strerror(-r));
    return NB_OK;
}

static enum nb_err uboot_load(void *ctx, struct nb_bootctl *out, struct nb_diag *diag)
{
    struct nb_bootctl_uboot *u = ctx;
    enum nb_err err = env_open(u, diag);
    if (err == NB_OK)
        err = decode(u->env, out, diag);
    libuboot_close(u->env);
    return err;
}

static enum nb_err set_all(struct nb_bootctl_uboot *u, const struct vars *vs)
{
    for (size_t i = 0; i < vs->n; i++) {
        const struct var *v = &vs->v[i];
        int r = libuboot_set_env(u->env, v->name, v->del ? NULL : v->value);
        if (r < 0)
            return nb_diag_set(&u->last, r == -ENOMEM ? NB_ENOMEM : NB_EIO,
                               "U-Boot environment: cannot set %s: %s", v->name, strerror(-r));
    }
    return NB_OK;
}

/* The store writes the whole record: a stray variable under the reserved
 * prefix (a typo, an older tool) goes, so the next load succeeds. */
static enum nb_err drop_unknown(struct nb_bootctl_uboot *u)
{
    for (const char *n = first_unknown(u->env); n != NULL; n = first_unknown(u->env)) {
        char *name = nb_strdup(n); /* libubootenv frees n with the variable */
        int r = name == NULL ? -ENOMEM : libuboot_set_env(u->env, name, NULL);
        enum nb_err err = r == 0 ? NB_OK
                                 : nb_diag_set(&u->last, r == -ENOMEM ? NB_ENOMEM : NB_EIO,
                                               "U-Boot environment: cannot remove %.40s: %s",
                                               name != NULL ? name : n, strerror(-r));
        nb_free(name);
        if (err != NB_OK)
            return err;
    }
    return NB_OK;
}

static enum nb_err write_env(struct nb_bootctl_uboot *u, const struct vars *vs)
{
    enum nb_err err = env_open(u, &u->last);
    if (err == NB_OK)
        err = drop_unknown(u);
    if (err == NB_OK)
        err = set_all(u, vs);
    if (err == NB_OK) {
        /* One write of the whole environment into the copy that is not
         * current, with the next flag value: the old copy stays valid
         * until the new one is complete. */
        int r = libuboot_env_store(u->env);
        if (r == -ENOMEM)
            err = nb_diag_set(&u->last, NB_ENOSPC,
                              "U-Boot environment of %s: the variables do not fit its size",
                              u->config);
        else if (r < 0)
            err = nb_diag_set(&u->last, NB_EIO, "U-Boot environment of %s: write failed: %s",
                              u->config, strerror(-r));
    }
    libuboot_close(u->env);
    return err;
}

static enum nb_err uboot_store(void *ctx, const struct nb_bootctl *rec)
{
    struct nb_bootctl_uboot *u = ctx;
    struct vars *vs = nb_malloc(sizeof *vs);
    struct nb_bootctl back;
    nb_diag_clear(&u->last);
    enum nb_err err =
        vs == NULL ? nb_diag_set(&u->last, NB_ENOMEM, "out of memory") : encode(rec, vs, &u->last);
    if (err == NB_OK)
        err = write_env(u, vs);
    nb_free(vs);
    if (err != NB_OK)
        return err;
    /* Read back: what the bootloader will see must be what was stored. A
     * copy that does not parse now was written wrong: an I/O error. */
    err = uboot_load(u, &back, &u->last);
    if (err == NB_OK && !nb_bootctl_equal(&back, rec))
        err =
            nb_diag_set(&u->last, NB_EIO, "U-Boot environment of %s: read back differs", u->config);
    return err == NB_EPARSE ? NB_EIO : err;
}

static const struct nb_boot_control_ops uboot_ops = {
    .load = uboot_load,
    .store = uboot_store,
};

/* Lines naming a copy, as libubootenv counts them: at least a device, an
 * offset and a size. */
static unsigned count_copies(char *text)
{
    unsigned n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        unsigned words = 0;
        for (const char *p = line; *p != '\0'; p++)
            words += !isspace((unsigned char)*p) && (p == line || isspace((unsigned char)p[-1]));
        n += line[0] != '#' && words >= 3;
    }
    return n;
}

/* One copy cannot be rewritten safely: a power cut in the middle leaves no
 * valid environment, and U-Boot then boots its built-in default. */
static enum nb_err check_redundant(const char *config_path, struct nb_diag *diag)
{
    uint8_t *text = NULL;
    size_t len = 0;
    enum nb_err err = nb_file_read(config_path, 64 * 1024, &text, &len, diag);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "U-Boot environment: cannot read %s", config_path);
    unsigned copies = count_copies((char *)text);
    nb_free(text);
    if (copies < 2)
        return nb_diag_set(diag, NB_EUNSUPPORTED,
                           "U-Boot environment: %s names %u copy: a power cut while rewriting "
                           "it would lose it; configure a redundant environment (two lines)",
                           config_path, copies);
    return NB_OK;
}

enum nb_err nb_bootctl_uboot_open(const char *config_path, struct nb_bootctl_uboot **out,
                                  struct nb_diag *diag)
{
    enum nb_err err = check_redundant(config_path, diag);
    if (err != NB_OK)
        return err;
    struct nb_bootctl_uboot *u = nb_calloc(1, sizeof *u);
    if (u == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    int n = snprintf(u->config, sizeof u->config, "%s", config_path);
    if (n < 0 || (size_t)n >= sizeof u->config)
        err = nb_diag_set(diag, NB_ELENGTH, "U-Boot environment: configuration path too long");
    else if (libuboot_initialize(&u->env, NULL) < 0)
        err = nb_diag_set(diag, NB_ENOMEM, "U-Boot environment: libubootenv failed to start");
    else if (libuboot_read_config(u->env, config_path) < 0)
        err = nb_diag_set(diag, NB_EPARSE,
                          "U-Boot environment: %s is not a usable fw_env.config (missing, or a "
                          "line is not 'DEVICE OFFSET SIZE [SECTOR_SIZE [SECTORS]]')",
                          config_path);
    if (err != NB_OK) {
        nb_bootctl_uboot_close(u);
        return err;
    }
    *out = u;
    return NB_OK;
}

void nb_bootctl_uboot_close(struct nb_bootctl_uboot *u)
{
    if (u == NULL)
        return;
    if (u->env != NULL)
        libuboot_exit(u->env);
    nb_free(u);
}

struct nb_boot_control nb_bootctl_uboot_control(struct nb_bootctl_uboot *u)
{
    return (struct nb_boot_control){.ops = &uboot_ops, .ctx = u};
}

const char *nb_bootctl_uboot_last_error(const struct nb_bootctl_uboot *u)
{
    return u->last.msg;
}

#else /* built without libubootenv: the backend is absent, and says so */

enum nb_err nb_bootctl_uboot_open(const char *config_path, struct nb_bootctl_uboot **out,
                                  struct nb_diag *diag)
{
    (void)out;
    return nb_diag_set(diag, NB_EUNSUPPORTED,
                       "U-Boot environment (%s): nobrick was built without libubootenv "
                       "(install libubootenv-dev and rebuild)",
                       config_path);
}

void nb_bootctl_uboot_close(struct nb_bootctl_uboot *u)
{
    (void)u;
}

struct nb_boot_control nb_bootctl_uboot_control(struct nb_bootctl_uboot *u)
{
    (void)u;
    return (struct nb_boot_control){.ops = NULL, .ctx = NULL};
}

const char *nb_bootctl_uboot_last_error(const struct nb_bootctl_uboot *u)
{
    (void)u;
    return "nobrick was built without libubootenv";
}

#endif
