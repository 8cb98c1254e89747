/* `nobrick root new|rotate|verify`: creating the fleet's first root,
 * rotating it (v N+1 signed by v N's root keys and its own), and walking a
 * chain of root files the way a device does. The tool checks every root it
 * writes with the same library calls devices use before writing it. */
#include "cli.h"

#include <nobrick/alloc.h>
#include <nobrick/envelope.h>
#include <nobrick/fileio.h>
#include <nobrick/keyfile.h>
#include <nobrick/root.h>
#include <nobrick/signer.h>

#include <string.h>
#include <time.h>

#define OPT_MAX_VALUES NB_ROLE_MAX_KEYS
#define MAX_SIGNERS (2 * NB_ROLE_MAX_KEYS)
#define DEFAULT_ROTATE_DAYS 365
#define MAX_DAYS 36500

_Static_assert(NB_ROOT_MAX_ENDPOINTS <= OPT_MAX_VALUES, "endpoint list fits the option table");
_Static_assert(MAX_SIGNERS <= NB_ENVELOPE_MAX_SIGS, "every signer fits one envelope");

/* ---- options ---------------------------------------------------------------- */

enum opt {
    O_KEY,
    O_THRESHOLD,
    O_RELEASE_KEY,
    O_RELEASE_THRESHOLD,
    O_DIRECTOR_KEY,
    O_DIRECTOR_THRESHOLD,
    O_ENDPOINT,
    O_EXPIRES_DAYS,
    O_OUT,
    O_FORCE,
    O_FROM,
    O_SIGN_OLD,
    O_SIGN_NEW,
    O_TRUSTED,
    O_ALLOW_EXPIRED,
    O_COUNT
};

struct opt_spec {
    const char *name;
    bool has_arg;
    size_t max; /* 1 for a single value, more for a repeatable option */
};

static const struct opt_spec specs[O_COUNT] = {
    [O_KEY] = {"--key", true, NB_ROLE_MAX_KEYS},
    [O_THRESHOLD] = {"--threshold", true, 1},
    [O_RELEASE_KEY] = {"--release-key", true, NB_ROLE_MAX_KEYS},
    [O_RELEASE_THRESHOLD] = {"--release-threshold", true, 1},
    [O_DIRECTOR_KEY] = {"--director-key", true, NB_ROLE_MAX_KEYS},
    [O_DIRECTOR_THRESHOLD] = {"--director-threshold", true, 1},
    [O_ENDPOINT] = {"--endpoint", true, NB_ROOT_MAX_ENDPOINTS},
    [O_EXPIRES_DAYS] = {"--expires-days", true, 1},
    [O_OUT] = {"--out", true, 1},
    [O_FORCE] = {"--force", false, 1},
    [O_FROM] = {"--from", true, 1},
    [O_SIGN_OLD] = {"--sign-old", true, NB_ROLE_MAX_KEYS},
    [O_SIGN_NEW] = {"--sign-new", true, NB_ROLE_MAX_KEYS},
    [O_TRUSTED] = {"--trusted", true, 1},
    [O_ALLOW_EXPIRED] = {"--allow-expired", false, 1},
};

#define BIT(o) (1u << (o))
#define ROLE_OPTS                                                                                  \
    (BIT(O_THRESHOLD) | BIT(O_RELEASE_KEY) | BIT(O_RELEASE_THRESHOLD) | BIT(O_DIRECTOR_KEY) |      \
     BIT(O_DIRECTOR_THRESHOLD) | BIT(O_ENDPOINT) | BIT(O_EXPIRES_DAYS) | BIT(O_OUT) |              \
     BIT(O_FORCE))

struct opts {
    const char *v[O_COUNT][OPT_MAX_VALUES];
    size_t n[O_COUNT];
    char **pos;
    int n_pos;
};

static int find_opt(const char *arg, size_t name_len, unsigned allowed)
{
    for (int o = 0; o < O_COUNT; o++) {
        if ((allowed & BIT(o)) && strlen(specs[o].name) == name_len &&
            strncmp(arg, specs[o].name, name_len) == 0)
            return o;
    }
    return -1;
}

/* Records one option (argv[*i], maybe with its value in argv[*i + 1]). */
static int take_opt(const char *cmd, int argc, char **argv, int *i, unsigned allowed,
                    struct opts *o)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    int id = find_opt(arg, eq ? (size_t)(eq - arg) : strlen(arg), allowed);
    if (id < 0)
        return cli_usage_error(cmd, "%s: unknown option '%s'", cmd, arg);
    const char *val = "";
    if (specs[id].has_arg && eq != NULL)
        val = eq + 1;
    else if (specs[id].has_arg && *i + 1 < argc)
        val = argv[++*i];
    else if (specs[id].has_arg || eq != NULL)
        return cli_usage_error(cmd, "%s: option %s %s", cmd, specs[id].name,
                               eq ? "takes no value" : "needs a value");
    if (o->n[id] == specs[id].max)
        return specs[id].max == 1 ? cli_usage_error(cmd, "%s: %s given twice", cmd, specs[id].name)
                                  : cli_usage_error(cmd, "%s: at most %zu %s options", cmd,
                                                    specs[id].max, specs[id].name);
    o->v[id][o->n[id]++] = val;
    return CLI_EXIT_OK;
}

/* Parses argv[1..] into o. Positional arguments (only when allow_pos) are
 * moved to the front of argv, in order, as getopt does. */
static int parse_opts(const char *cmd, int argc, char **argv, unsigned allowed, bool allow_pos,
                      struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->pos = argv + 1;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
        } else if (!options_done && a[0] == '-' && a[1] != '\0') {
            int rc = take_opt(cmd, argc, argv, &i, allowed, o);
            if (rc != CLI_EXIT_OK)
                return rc;
        } else if (!allow_pos) {
            return cli_usage_error(cmd, "%s: unexpected argument '%s'", cmd, a);
        } else {
            argv[1 + o->n_pos++] = a; /* slots before i were consumed already */
        }
    }
    return CLI_EXIT_OK;
}

static int require(const char *cmd, const struct opts *o, enum opt id)
{
    if (o->n[id] == 0)
        return cli_usage_error(cmd, "%s: missing %s", cmd, specs[id].name);
    return CLI_EXIT_OK;
}

/* A number option within [min, max], or def when absent. */
static int number(const char *cmd, const struct opts *o, enum opt id, unsigned long long min,
                  unsigned long long max, unsigned long long def, unsigned long long *out)
{
    *out = def;
    if (o->n[id] == 0)
        return CLI_EXIT_OK;
    if (!cli_parse_u64(o->v[id][0], min, max, out))
        return cli_usage_error(cmd, "%s: %s: '%s' is not a number from %llu to %llu", cmd,
                               specs[id].name, o->v[id][0], min, max);
    return CLI_EXIT_OK;
}

/* ---- keys and signers --------------------------------------------------------- */

struct signer_set {
    struct nb_signer s[MAX_SIGNERS];
    size_t n;
};

static void close_signers(struct signer_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        nb_signer_close(&set->s[i]);
    set->n = 0;
}

/* A root key file must hold a root key: a release key by mistake would
 * produce a root nobody can rotate. (Tokens carry no role.) */
static enum nb_err check_root_keyfile(const char *spec, struct nb_diag *diag)
{
    if (strncmp(spec, "pkcs11:", 7) == 0)
        return NB_OK;
    struct nb_keyfile k;
    enum nb_err err = nb_keyfile_load(spec, &k, diag);
    if (err == NB_OK && k.role != NB_KEY_ROOT)
        err = nb_diag_set(diag, NB_EINVAL, "%s: a %s key, not a root key", spec,
                          nb_key_role_name(k.role));
    nb_keyfile_wipe(&k);
    return err;
}

/* Opens spec into set unless the same public key is already there (a key
 * given as old and new signs once); *idx receives its index. */
static enum nb_err add_signer(struct signer_set *set, const char *spec, size_t *idx,
                              struct nb_diag *diag)
{
    enum nb_err err = check_root_keyfile(spec, diag);
    if (err != NB_OK)
        return err;
    struct nb_signer s;
    err = nb_signer_open(spec, &s, diag);
    if (err != NB_OK)
        return err;
    for (size_t i = 0; i < set->n; i++) {
        if (memcmp(set->s[i].pub, s.pub, sizeof s.pub) == 0) {
            nb_signer_close(&s);
            *idx = i;
            return NB_OK;
        }
    }
    if (set->n == MAX_SIGNERS) {
        nb_signer_close(&s);
        return nb_diag_set(diag, NB_ELENGTH, "more than %d signers", MAX_SIGNERS);
    }
    *idx = set->n;
    set->s[set->n++] = s;
    return NB_OK;
}

/* Opens specs[0..n-1] and makes them a root role (threshold set later). */
static enum nb_err open_root_role(struct signer_set *set, const char *const *specs_, size_t n,
                                  struct nb_role *role, struct nb_diag *diag)
{
    memset(role, 0, sizeof *role);
    for (size_t i = 0; i < n; i++) {
        size_t idx = 0;
        enum nb_err err = add_signer(set, specs_[i], &idx, diag);
        if (err != NB_OK)
            return err;
        for (size_t k = 0; k < role->n_keys; k++) {
            if (memcmp(role->keys[k].pub, set->s[idx].pub, NB_ED25519_PUB_LEN) == 0)
                return nb_diag_set(diag, NB_EINVAL, "%s: the same key given twice", specs_[i]);
        }
        memcpy(role->keys[role->n_keys].keyid, set->s[idx].keyid, NB_KEYID_MAX + 1);
        memcpy(role->keys[role->n_keys].pub, set->s[idx].pub, NB_ED25519_PUB_LEN);
        role->n_keys++;
    }
    return NB_OK;
}

/* Loads public key files of one role; a key of another role is refused. */
static enum nb_err load_role_keys(const char *const *paths, size_t n, enum nb_key_role want,
                                  struct nb_role *role, struct nb_diag *diag)
{
    memset(role, 0, sizeof *role);
    for (size_t i = 0; i < n; i++) {
        struct nb_keyfile k;
        enum nb_err err = nb_keyfile_load(paths[i], &k, diag);
        nb_keyfile_wipe(&k);
        if (err != NB_OK)
            return err;
        if (k.role != want)
            return nb_diag_set(diag, NB_EINVAL, "%s: a %s key, not a %s key", paths[i],
                               nb_key_role_name(k.role), nb_key_role_name(want));
        for (size_t j = 0; j < role->n_keys; j++) {
            if (memcmp(role->keys[j].pub, k.ed_pub, sizeof k.ed_pub) == 0)
                return nb_diag_set(diag, NB_EINVAL, "%s: the same key given twice", paths[i]);
        }
        memcpy(role->keys[role->n_keys].keyid, k.keyid, sizeof k.keyid);
        memcpy(role->keys[role->n_keys].pub, k.ed_pub, sizeof k.ed_pub);
        role->n_keys++;
    }
    return NB_OK;
}

/* ---- building, signing, writing --------------------------------------------- */

static char payload_buf[NB_ROOT_PAYLOAD_MAX + 1];
static uint8_t pae_buf[NB_PAE_HEADER_MAX + NB_ROOT_PAYLOAD_MAX];
static char text_buf[NB_ENVELOPE_MAX + 1];
static uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN];

static enum nb_err sign_root(const struct nb_root *root, struct signer_set *set, size_t *len,
                             struct nb_diag *diag)
{
    size_t payload_len = 0, pae_len = 0;
    enum nb_err err = nb_root_write(root, payload_buf, sizeof payload_buf, &payload_len);
    if (err == NB_OK)
        err = nb_pae(NB_PAYLOAD_ROOT, (const uint8_t *)payload_buf, payload_len, pae_buf,
                     sizeof pae_buf, &pae_len);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "cannot encode the root");
    struct nb_signature sigs[MAX_SIGNERS];
    for (size_t i = 0; i < set->n; i++) {
        err = nb_signer_sign_envelope(&set->s[i], pae_buf, pae_len, &sigs[i], diag);
        if (err != NB_OK)
            return err;
    }
    err = nb_envelope_write(NB_PAYLOAD_ROOT, (const uint8_t *)payload_buf, payload_len, sigs,
                            set->n, text_buf, sizeof text_buf, len);
    return err == NB_OK ? NB_OK : nb_diag_set(diag, err, "cannot encode the envelope");
}

static enum nb_err write_out(const char *path, size_t len, bool force, struct nb_diag *diag)
{
    struct nb_diag inner;
    nb_diag_clear(&inner);
    enum nb_err err = nb_file_write_atomic(path, text_buf, len, 0644, !force, &inner);
    if (err == NB_EEXIST)
        return nb_diag_set(diag, err, "%s already exists (use --force to replace it)", path);
    return err == NB_OK ? NB_OK : nb_diag_set(diag, err, "%s", inner.msg);
}

/* Role thresholds and keys from the options; absent ones keep what root
 * already holds (rotate carries them over from the old root). */
static int apply_role_opts(const char *cmd, const struct opts *o, struct nb_root *root,
                           struct nb_diag *diag, enum nb_err *err)
{
    static const enum opt key_opt[] = {O_KEY, O_RELEASE_KEY, O_DIRECTOR_KEY};
    static const enum opt thr_opt[] = {O_THRESHOLD, O_RELEASE_THRESHOLD, O_DIRECTOR_THRESHOLD};
    static const enum nb_key_role kind[] = {NB_KEY_ROOT, NB_KEY_RELEASE, NB_KEY_DIRECTOR};
    *err = NB_OK;
    for (int r = NB_ROLE_RELEASE; r < NB_ROLE_COUNT; r++) {
        if (o->n[key_opt[r]] == 0)
            continue;
        *err = load_role_keys(o->v[key_opt[r]], o->n[key_opt[r]], kind[r], &root->roles[r], diag);
        if (*err != NB_OK)
            return CLI_EXIT_FAIL;
    }
    for (int r = 0; r < NB_ROLE_COUNT; r++) {
        unsigned long long t = 0;
        int rc = number(cmd, o, thr_opt[r], 1, NB_ROLE_MAX_KEYS,
                        root->roles[r].threshold ? root->roles[r].threshold : 1, &t);
        if (rc != CLI_EXIT_OK)
            return rc;
        if (t > root->roles[r].n_keys)
            return cli_usage_error(cmd, "%s: %s threshold %llu is more than its %zu keys", cmd,
                                   nb_role_name((enum nb_role_id)r), t, root->roles[r].n_keys);
        root->roles[r].threshold = (uint32_t)t;
    }
    return CLI_EXIT_OK;
}

static int apply_endpoints_expiry(const char *cmd, const struct opts *o, unsigned long long def,
                                  struct nb_root *root)
{
    for (size_t i = 0; i < o->n[O_ENDPOINT]; i++) {
        size_t len = strlen(o->v[O_ENDPOINT][i]);
        if (len > NB_ENDPOINT_MAX)
            return cli_usage_error(cmd, "%s: --endpoint: over %d characters", cmd, NB_ENDPOINT_MAX);
        memcpy(root->endpoints[i], o->v[O_ENDPOINT][i], len + 1);
    }
    if (o->n[O_ENDPOINT] > 0)
        root->n_endpoints = o->n[O_ENDPOINT];
    unsigned long long days = 0;
    int rc = number(cmd, o, O_EXPIRES_DAYS, 1, MAX_DAYS, def, &days);
    if (rc == CLI_EXIT_OK)
        root->expires = (int64_t)time(NULL) + (int64_t)days * 86400;
    return rc;
}

static void print_written(const struct nb_root *root, const char *path, size_t n_signers)
{
    char date[NB_ROOT_DATE_LEN];
    nb_root_date(root->expires, date);
    printf("wrote root v%u to %s (signed by %zu key(s); root %u of %zu, release %u of %zu, "
           "director %u of %zu; expires %s)\n",
           root->version, path, n_signers, root->roles[NB_ROLE_ROOT].threshold,
           root->roles[NB_ROLE_ROOT].n_keys, root->roles[NB_ROLE_RELEASE].threshold,
           root->roles[NB_ROLE_RELEASE].n_keys, root->roles[NB_ROLE_DIRECTOR].threshold,
           root->roles[NB_ROLE_DIRECTOR].n_keys, date);
}

/* ---- root new ------------------------------------------------------------------ */

static const char root_new_usage[] =
    "Usage: nobrick root new --key K.key [--key K2.key ...] --threshold N\n"
    "         --release-key R.pub [--release-key ...] [--release-threshold N]\n"
    "         --director-key D.pub [--director-key ...] [--director-threshold N]\n"
    "         --endpoint URL [--endpoint URL ...] --expires-days N --out root.json [--force]\n"
    "\n"
    "Creates root version 1. The root role is the public keys of the --key secret\n"
    "keys (key files or pkcs11: URIs), and every one of them signs it. Thresholds\n"
    "are 1..16 and at most the number of keys; release and director thresholds\n"
    "default to 1. Endpoints are http(s) URLs (at most 8). The file is checked\n"
    "the way a device checks it, then written atomically; an existing --out is\n"
    "never replaced unless --force is given.\n";

static int root_new_run(const struct opts *o, struct signer_set *set, struct nb_diag *diag,
                        enum nb_err *err)
{
    const char *cmd = "root new";
    static const enum opt needed[] = {O_KEY,      O_THRESHOLD,    O_RELEASE_KEY, O_DIRECTOR_KEY,
                                      O_ENDPOINT, O_EXPIRES_DAYS, O_OUT};
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        if (require(cmd, o, needed[i]) != CLI_EXIT_OK)
            return CLI_EXIT_USAGE;
    }
    static struct nb_root root;
    memset(&root, 0, sizeof root);
    root.version = 1;
    *err = open_root_role(set, o->v[O_KEY], o->n[O_KEY], &root.roles[NB_ROLE_ROOT], diag);
    if (*err != NB_OK)
        return CLI_EXIT_FAIL;
    int rc = apply_role_opts(cmd, o, &root, diag, err);
    if (rc == CLI_EXIT_OK)
        rc = apply_endpoints_expiry(cmd, o, 0, &root);
    if (rc != CLI_EXIT_OK)
        return rc;
    size_t len = 0;
    static struct nb_root check;
    if ((*err = sign_root(&root, set, &len, diag)) != NB_OK ||
        (*err = nb_root_load_trusted((const uint8_t *)text_buf, len, scratch, sizeof scratch,
                                     &check, diag)) != NB_OK ||
        (*err = write_out(o->v[O_OUT][0], len, o->n[O_FORCE] > 0, diag)) != NB_OK)
        return CLI_EXIT_FAIL;
    print_written(&root, o->v[O_OUT][0], set->n);
    return CLI_EXIT_OK;
}

static int root_new(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts("root new", argc, argv, ROLE_OPTS | BIT(O_KEY), false, &o);
    if (rc != CLI_EXIT_OK)
        return rc;
    static struct signer_set set;
    struct nb_diag diag;
    nb_diag_clear(&diag);
    enum nb_err err = NB_OK;
    rc = root_new_run(&o, &set, &diag, &err);
    close_signers(&set);
    return rc == CLI_EXIT_FAIL ? cli_fail(err, &diag, "root new") : rc;
}

/* ---- root rotate --------------------------------------------------------------- */

static const char root_rotate_usage[] =
    "Usage: nobrick root rotate --from root.json --sign-old K.key [--sign-old ...]\n"
    "         --sign-new K.key [--sign-new ...] [--threshold N]\n"
    "         [--release-key R.pub ...] [--release-threshold N]\n"
    "         [--director-key D.pub ...] [--director-threshold N]\n"
    "         [--endpoint URL ...] [--expires-days N] --out root-next.json [--force]\n"
    "\n"
    "Writes the next root version: the old version plus one. Its root role is the\n"
    "public keys of the --sign-new keys. Every option takes exactly one value and\n"
    "may be repeated (--sign-old a.key --sign-old b.key). Options not given are\n"
    "carried over from the old root: release and director keys and thresholds,\n"
    "the root threshold and the endpoints (all endpoints are replaced when any\n"
    "--endpoint is given). --expires-days defaults to 365.\n"
    "\n"
    "The new root is signed by every old and new key (a key in both lists signs\n"
    "once) and checked as a device would: it is refused, and nothing is written,\n"
    "unless the --sign-old keys meet the old root threshold and the --sign-new\n"
    "keys meet the new one. The --from file is taken as trusted; check the chain\n"
    "with 'nobrick root verify'.\n";

static enum nb_err load_root_file(const char *path, struct nb_root *out, struct nb_diag *diag)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    enum nb_err err = nb_file_read(path, NB_ENVELOPE_MAX, &buf, &len, diag);
    if (err != NB_OK)
        return err;
    err = nb_root_load_trusted(buf, len, scratch, sizeof scratch, out, diag);
    nb_free(buf);
    return err;
}

/* A device running a release signed only by a key the new root drops
 * refuses that root (E_UNBOOTABLE, docs/trust.md): say so before it ships. */
static void warn_dropped_release_keys(const struct nb_root *old, const struct nb_root *next)
{
    size_t idx[NB_ROLE_MAX_KEYS], n = nb_root_dropped_release_keys(old, next, idx);
    for (size_t i = 0; i < n; i++) {
        char msg[512];
        nb_root_drop_warning(next, old->roles[NB_ROLE_RELEASE].keys[idx[i]].keyid, msg, sizeof msg);
        fprintf(stderr, "nobrick: warning: %s\n", msg);
    }
}

static int root_rotate_run(const struct opts *o, struct signer_set *set, struct nb_diag *diag,
                           enum nb_err *err)
{
    const char *cmd = "root rotate";
    static const enum opt needed[] = {O_FROM, O_SIGN_OLD, O_SIGN_NEW, O_OUT};
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        if (require(cmd, o, needed[i]) != CLI_EXIT_OK)
            return CLI_EXIT_USAGE;
    }
    static struct nb_root old, next, check;
    if ((*err = load_root_file(o->v[O_FROM][0], &old, diag)) != NB_OK)
        return CLI_EXIT_FAIL;
    next = old;
    next.version = old.version + 1;
    struct nb_role unused;
    if ((*err = open_root_role(set, o->v[O_SIGN_OLD], o->n[O_SIGN_OLD], &unused, diag)) != NB_OK ||
        (*err = open_root_role(set, o->v[O_SIGN_NEW], o->n[O_SIGN_NEW], &next.roles[NB_ROLE_ROOT],
                               diag)) != NB_OK)
        return CLI_EXIT_FAIL;
    next.roles[NB_ROLE_ROOT].threshold = old.roles[NB_ROLE_ROOT].threshold; /* the default */
    int rc = apply_role_opts(cmd, o, &next, diag, err);
    if (rc == CLI_EXIT_OK)
        rc = apply_endpoints_expiry(cmd, o, DEFAULT_ROTATE_DAYS, &next);
    if (rc != CLI_EXIT_OK)
        return rc;
    size_t len = 0;
    if ((*err = sign_root(&next, set, &len, diag)) != NB_OK)
        return CLI_EXIT_FAIL;
    /* The device's own check: old threshold AND new threshold, distinct keys. */
    *err =
        nb_root_step(&old, (const uint8_t *)text_buf, len, scratch, sizeof scratch, &check, diag);
    if (*err != NB_OK)
        return CLI_EXIT_FAIL;
    if ((*err = write_out(o->v[O_OUT][0], len, o->n[O_FORCE] > 0, diag)) != NB_OK)
        return CLI_EXIT_FAIL;
    print_written(&next, o->v[O_OUT][0], set->n);
    warn_dropped_release_keys(&old, &next);
    return CLI_EXIT_OK;
}

static int root_rotate(int argc, char **argv)
{
    struct opts o;
    unsigned allowed = ROLE_OPTS | BIT(O_FROM) | BIT(O_SIGN_OLD) | BIT(O_SIGN_NEW);
    int rc = parse_opts("root rotate", argc, argv, allowed, false, &o);
    if (rc != CLI_EXIT_OK)
        return rc;
    static struct signer_set set;
    struct nb_diag diag;
    nb_diag_clear(&diag);
    enum nb_err err = NB_OK;
    rc = root_rotate_run(&o, &set, &diag, &err);
    close_signers(&set);
    return rc == CLI_EXIT_FAIL ? cli_fail(err, &diag, "root rotate: refusing to write") : rc;
}

/* ---- root verify --------------------------------------------------------------- */

static const char root_verify_usage[] =
    "Usage: nobrick root verify --trusted OLD.json [--allow-expired] [NEXT.json ...]\n"
    "\n"
    "Loads the trusted root (it must sign itself) and walks each NEXT root in\n"
    "order, exactly as a device does: each must be the next version, signed by a\n"
    "threshold of the previous root's keys and of its own. At most 256 steps.\n"
    "The last root must not have expired unless --allow-expired is given.\n"
    "Prints 'root chain OK: version N (...)' and exits 0, or names the file, the\n"
    "step and the error and exits 1.\n";

static void print_chain_ok(const struct nb_root *root)
{
    char date[NB_ROOT_DATE_LEN];
    nb_root_date(root->expires, date);
    printf("root chain OK: version %u (expires %s, endpoints: ", root->version, date);
    for (size_t i = 0; i < root->n_endpoints; i++)
        printf("%s%s", i ? ", " : "", root->endpoints[i]);
    printf(")\n");
}

static int verify_step(const char *path, int step, struct nb_root *cur)
{
    struct nb_diag diag;
    nb_diag_clear(&diag);
    char what[300];
    (void)snprintf(what, sizeof what, "%s: step %d (v%u -> ?)", path, step, cur->version);
    if (step > NB_ROOT_MAX_STEPS)
        return cli_fail(
            nb_diag_set(&diag, NB_ELENGTH, "more than %d rotations at once", NB_ROOT_MAX_STEPS),
            &diag, what);
    uint8_t *buf = NULL;
    size_t len = 0;
    enum nb_err err = nb_file_read(path, NB_ENVELOPE_MAX, &buf, &len, &diag);
    static struct nb_root next;
    if (err == NB_OK)
        err = nb_root_step(cur, buf, len, scratch, sizeof scratch, &next, &diag);
    nb_free(buf);
    if (err != NB_OK)
        return cli_fail(err, &diag, what);
    *cur = next;
    return CLI_EXIT_OK;
}

static int root_verify(int argc, char **argv)
{
    const char *cmd = "root verify";
    struct opts o;
    int rc = parse_opts(cmd, argc, argv, BIT(O_TRUSTED) | BIT(O_ALLOW_EXPIRED), true, &o);
    if (rc == CLI_EXIT_OK)
        rc = require(cmd, &o, O_TRUSTED);
    if (rc != CLI_EXIT_OK)
        return rc;
    static struct nb_root cur;
    struct nb_diag diag;
    nb_diag_clear(&diag);
    enum nb_err err = load_root_file(o.v[O_TRUSTED][0], &cur, &diag);
    if (err != NB_OK)
        return cli_fail(err, &diag, o.v[O_TRUSTED][0]);
    for (int i = 0; i < o.n_pos; i++) {
        rc = verify_step(o.pos[i], i + 1, &cur);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    const char *last = o.n_pos ? o.pos[o.n_pos - 1] : o.v[O_TRUSTED][0];
    if (o.n[O_ALLOW_EXPIRED] == 0 &&
        (err = nb_root_check_expiry(&cur, (int64_t)time(NULL), &diag)) != NB_OK)
        return cli_fail(err, &diag, last);
    print_chain_ok(&cur);
    return CLI_EXIT_OK;
}

static const struct cli_subcommand root_commands[] = {
    {"new", root_new, root_new_usage},
    {"rotate", root_rotate, root_rotate_usage},
    {"verify", root_verify, root_verify_usage},
};

int cli_cmd_root(const struct cli_global *g, int argc, char **argv)
{
    if (argc >= 2 && cli_root_is_remote(argv[1])) /* publish, show: on the server */
        return cli_root_remote(g, argc, argv);
    return cli_dispatch("root", root_commands, sizeof root_commands / sizeof root_commands[0], argc,
                        argv);
}
