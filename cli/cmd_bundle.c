/* `nobrick bundle create|inspect|verify`: signed update bundles (.nbb).
 * Options are parsed here and handed to lib/host/bundle_*.c; a failure is
 * one line naming the error (cli_fail), a bad command line exits 2 with the
 * option named. docs/bundle-format.md describes the file. */
#include "cli.h"

#include <nobrick/alloc.h>
#include <nobrick/bundle_file.h>
#include <nobrick/encoding.h>
#include <nobrick/keyfile.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- option parsing ------------------------------------------------------- */

/* One positional FILE (when file is not NULL) through the CLI's parser. */
static int parse_opts(const char *cmd, int argc, char **argv, const struct cli_opt *opts, size_t n,
                      const char **file)
{
    size_t n_pos = 0;
    return cli_parse_opts(cmd, argc, argv, opts, n, file, file != NULL ? 1 : 0, &n_pos);
}

/* ---- create --------------------------------------------------------------- */

static const char create_usage[] =
    "Usage: nobrick bundle create --image FILE --version X.Y.Z --security-counter N\n"
    "                             --hw-class NAME [--hw-class NAME ...]\n"
    "                             --key release.key [--key ...] --out FILE.nbb\n"
    "                             [--frame-size BYTES] [--encrypt-to device.pub ...]\n"
    "                             [--compression zstd|none] [--level N] [--component NAME]\n"
    "\n"
    "Cuts the image into frames (default 1048576 bytes; a power of two from 4096\n"
    "to 8388608), compresses each with zstd (level 1..19, default 9), optionally\n"
    "encrypts them to the X25519 keys of the given device .pub files, and signs\n"
    "the release with every --key (a release .key file or a pkcs11: URI).\n"
    "--security-counter is the anti-rollback counter (0..2^53-1); --component\n"
    "defaults to 'system'. SOURCE_DATE_EPOCH, when set, is the creation time.\n";

struct create_args {
    struct nb_bundle_create_opts o;
    const char *hw[NB_RELEASE_MAX_HW_CLASSES];
    const char *keys[NB_ENVELOPE_MAX_SIGS];
    const char *enc[NB_RELEASE_MAX_RECIPIENTS];
    size_t n_keys, n_enc;
    const char *counter, *frame_size, *compression, *level;
    struct nb_signer signers[NB_ENVELOPE_MAX_SIGS];
    uint8_t (*pubs)[NB_X25519_LEN];
};

static int parse_create(int argc, char **argv, struct create_args *a)
{
    const struct cli_opt opts[] = {
        {"--image", &a->o.image_path, NULL, NULL, 0, NULL},
        {"--version", &a->o.version, NULL, NULL, 0, NULL},
        {"--security-counter", &a->counter, NULL, NULL, 0, NULL},
        {"--hw-class", NULL, a->hw, &a->o.n_hw_classes, NB_RELEASE_MAX_HW_CLASSES, NULL},
        {"--key", NULL, a->keys, &a->n_keys, NB_ENVELOPE_MAX_SIGS, NULL},
        {"--frame-size", &a->frame_size, NULL, NULL, 0, NULL},
        {"--encrypt-to", NULL, a->enc, &a->n_enc, NB_RELEASE_MAX_RECIPIENTS, NULL},
        {"--compression", &a->compression, NULL, NULL, 0, NULL},
        {"--level", &a->level, NULL, NULL, 0, NULL},
        {"--component", &a->o.component, NULL, NULL, 0, NULL},
        {"--out", &a->o.out_path, NULL, NULL, 0, NULL},
    };
    return parse_opts("bundle create", argc, argv, opts, sizeof opts / sizeof opts[0], NULL);
}

static int check_create(struct create_args *a)
{
    const char *cmd = "bundle create";
    unsigned long long v;
    struct nb_semver sv;
    const char *missing = a->o.image_path == NULL  ? "--image FILE"
                          : a->o.version == NULL   ? "--version X.Y.Z"
                          : a->counter == NULL     ? "--security-counter N"
                          : a->o.n_hw_classes == 0 ? "--hw-class NAME"
                          : a->n_keys == 0         ? "--key release.key"
                          : a->o.out_path == NULL  ? "--out FILE.nbb"
                                                   : NULL;
    if (missing != NULL)
        return cli_usage_error(cmd, "%s: %s is required", cmd, missing);
    if (nb_semver_parse(a->o.version, &sv) != NB_OK)
        return cli_usage_error(cmd, "%s: --version '%s' is not a SemVer 2.0.0 version (like 1.2.3)",
                               cmd, a->o.version);
    if (!cli_parse_u64(a->counter, 0, NB_SECURITY_COUNTER_MAX, &v))
        return cli_usage_error(cmd, "%s: --security-counter '%s' is not a number in 0..%" PRIu64,
                               cmd, a->counter, NB_SECURITY_COUNTER_MAX);
    a->o.security_counter = v;
    a->o.frame_size = NB_FRAME_SIZE_DEFAULT;
    if (a->frame_size != NULL) {
        if (!cli_parse_u64(a->frame_size, NB_FRAME_SIZE_MIN, NB_FRAME_SIZE_MAX, &v) ||
            (v & (v - 1)) != 0)
            return cli_usage_error(cmd, "%s: --frame-size '%s' is not a power of two from %u to %u",
                                   cmd, a->frame_size, NB_FRAME_SIZE_MIN, NB_FRAME_SIZE_MAX);
        a->o.frame_size = (uint32_t)v;
    }
    a->o.compression = NB_COMPRESSION_ZSTD;
    if (a->compression != NULL && strcmp(a->compression, "none") == 0)
        a->o.compression = NB_COMPRESSION_NONE;
    else if (a->compression != NULL && strcmp(a->compression, "zstd") != 0)
        return cli_usage_error(cmd, "%s: --compression '%s' is not zstd or none", cmd,
                               a->compression);
    if (a->level != NULL &&
        (a->o.compression != NB_COMPRESSION_ZSTD || !cli_parse_u64(a->level, 1, 19, &v)))
        return cli_usage_error(cmd, "%s: --level '%s' needs zstd compression and 1..19", cmd,
                               a->level);
    a->o.level = a->level != NULL ? (int)v : NB_BUNDLE_LEVEL_DEFAULT;
    return CLI_EXIT_OK;
}

/* Reproducible builds set SOURCE_DATE_EPOCH; otherwise now. */
static int created_time(int64_t *out)
{
    const char *env = getenv("SOURCE_DATE_EPOCH");
    unsigned long long v;
    if (env == NULL) {
        *out = (int64_t)time(NULL);
        return CLI_EXIT_OK;
    }
    if (!cli_parse_u64(env, 0, (unsigned long long)NB_CREATED_MAX, &v))
        return cli_usage_error("bundle create", "SOURCE_DATE_EPOCH '%s' is not UNIX seconds", env);
    *out = (int64_t)v;
    return CLI_EXIT_OK;
}

/* The X25519 public key of each --encrypt-to device key file. */
static int load_recipients(struct create_args *a)
{
    a->pubs = nb_calloc(a->n_enc > 0 ? a->n_enc : 1, sizeof *a->pubs);
    if (a->pubs == NULL)
        return cli_fail(NB_ENOMEM, NULL, "bundle create");
    for (size_t i = 0; i < a->n_enc; i++) {
        struct nb_keyfile k;
        struct nb_diag diag = {{0}};
        enum nb_err err = nb_keyfile_load(a->enc[i], &k, &diag);
        if (err == NB_OK && !k.has_x25519)
            err = nb_diag_set(&diag, NB_EINVAL, "not a device key (no X25519 public key)");
        if (err == NB_OK)
            memcpy(a->pubs[i], k.x_pub, NB_X25519_LEN);
        nb_keyfile_wipe(&k);
        if (err != NB_OK)
            return cli_fail(err, &diag, a->enc[i]);
    }
    a->o.recipients = (const uint8_t(*)[NB_X25519_LEN])a->pubs;
    a->o.n_recipients = a->n_enc;
    return CLI_EXIT_OK;
}

static int open_signers(struct create_args *a)
{
    for (size_t i = 0; i < a->n_keys; i++) {
        struct nb_diag diag = {{0}};
        enum nb_err err = nb_signer_open(a->keys[i], &a->signers[i], &diag);
        if (err != NB_OK)
            return cli_fail(err, &diag, a->keys[i]);
        a->o.n_signers = i + 1;
    }
    a->o.signers = a->signers;
    return CLI_EXIT_OK;
}

static void print_created(const struct create_args *a, const struct nb_bundle_summary *s)
{
    const struct nb_release *rel = &s->rel;
    printf("created %s: release %s (security counter %" PRIu64 ") for %s%s, %u frame%s of %u "
           "bytes, %" PRIu64 " bytes (frames %.1f%% of the image), %s, signed by %zu key%s\n",
           a->o.out_path, rel->version, rel->security_counter, rel->hw_classes[0],
           rel->n_hw_classes > 1 ? " and others" : "", rel->frame_count,
           rel->frame_count == 1 ? "" : "s", rel->frame_size, s->file_len,
           100.0 * (double)s->frames_len / (double)rel->image_size,
           rel->encrypted ? "encrypted" : "not encrypted", a->o.n_signers,
           a->o.n_signers == 1 ? "" : "s");
}

static int bundle_create(int argc, char **argv)
{
    struct create_args *a = nb_calloc(1, sizeof *a);
    if (a == NULL)
        return cli_fail(NB_ENOMEM, NULL, "bundle create");
    a->o.hw_classes = a->hw;
    int rc = parse_create(argc, argv, a);
    if (rc == CLI_EXIT_OK)
        rc = check_create(a);
    if (rc == CLI_EXIT_OK)
        rc = created_time(&a->o.created);
    if (rc == CLI_EXIT_OK)
        rc = load_recipients(a);
    if (rc == CLI_EXIT_OK)
        rc = open_signers(a);
    if (rc == CLI_EXIT_OK) {
        struct nb_diag diag = {{0}};
        struct nb_bundle_summary s;
        enum nb_err err = nb_bundle_file_create(&a->o, &s, &diag);
        if (err != NB_OK)
            rc = cli_fail(err, &diag, a->o.out_path);
        else
            print_created(a, &s);
    }
    for (size_t i = 0; i < a->o.n_signers; i++)
        nb_signer_close(&a->signers[i]);
    nb_free(a->pubs);
    nb_free(a);
    return rc;
}

/* ---- inspect -------------------------------------------------------------- */

static const char inspect_usage[] =
    "Usage: nobrick bundle inspect FILE.nbb [--json]\n"
    "\n"
    "Shows what a bundle says about itself: the release fields, frames,\n"
    "compression, encryption recipients and signature keyids. The frame table\n"
    "is checked against the release, but signatures are NOT verified: use\n"
    "'nobrick bundle verify' before trusting anything shown.\n";

static void hex32(const uint8_t *b, char out[2 * NB_SHA256_LEN + 1])
{
    if (nb_hex_encode(b, NB_SHA256_LEN, out, 2 * NB_SHA256_LEN + 1) != NB_OK)
        out[0] = '\0';
}

static const char *compression_name(enum nb_compression c)
{
    return c == NB_COMPRESSION_ZSTD ? "zstd" : "none";
}

static double ratio(const struct nb_bundle_info *in)
{
    return (double)in->hdr.frames_len / (double)in->rel.image_size;
}

static void print_human(const char *path, const struct nb_bundle_info *in)
{
    const struct nb_release *r = &in->rel;
    char h[2 * NB_SHA256_LEN + 1];
    char when[32] = "?";
    time_t t = (time_t)r->created;
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL)
        (void)strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("bundle:           %s (%" PRIu64 " bytes, format %u)\n", path, in->hdr.total_len,
           in->hdr.version);
    printf("version:          %s\nsecurity counter: %" PRIu64 "\nhardware classes:", r->version,
           r->security_counter);
    for (size_t i = 0; i < r->n_hw_classes; i++)
        printf("%s %s", i > 0 ? "," : "", r->hw_classes[i]);
    printf("\ncomponent:        %s\ncreated:          %s (%" PRId64 ")\n", r->component, when,
           r->created);
    hex32(r->image_sha256, h);
    printf("image:            %" PRIu64 " bytes, sha256 %s\n", r->image_size, h);
    hex32(r->table_sha256, h);
    printf("frames:           %u of %u bytes, stored %u..%u bytes each, table sha256 %s\n",
           r->frame_count, r->frame_size, in->stored_min, in->stored_max, h);
    printf("compression:      %s, %" PRIu64 " -> %" PRIu64 " bytes (ratio %.3f)\n",
           compression_name(r->compression), r->image_size, in->hdr.frames_len, ratio(in));
    if (r->encrypted)
        printf("encryption:       aes-256-gcm, %zu recipient%s\n", r->n_recipients,
               r->n_recipients == 1 ? "" : "s");
    else
        printf("encryption:       none\n");
    hex32(r->delta_base_sha256, h);
    if (r->has_delta_base)
        printf("delta base:       %" PRIu64 " bytes, sha256 %s\n", r->delta_base_size, h);
    printf("signatures:       %zu, NOT verified (use 'nobrick bundle verify')\n", in->n_sigs);
    for (size_t i = 0; i < in->n_sigs; i++)
        printf("  keyid           %s\n", in->sig_keyids[i]);
}

static json_t *hex_json(const uint8_t *b)
{
    char h[2 * NB_SHA256_LEN + 1];
    hex32(b, h);
    return json_string(h);
}

static json_t *info_json(const char *path, const struct nb_bundle_info *in)
{
    const struct nb_release *r = &in->rel;
    json_t *hw = json_array(), *sigs = json_array();
    for (size_t i = 0; i < r->n_hw_classes; i++)
        json_array_append_new(hw, json_string(r->hw_classes[i]));
    for (size_t i = 0; i < in->n_sigs; i++)
        json_array_append_new(sigs, json_pack("{s:s}", "keyid", in->sig_keyids[i]));
    json_t *enc = r->encrypted ? json_pack("{s:s,s:I}", "alg", "aes-256-gcm", "recipients",
                                           (json_int_t)r->n_recipients)
                               : json_null();
    json_t *delta = r->has_delta_base
                        ? json_pack("{s:I,s:o}", "size", (json_int_t)r->delta_base_size, "sha256",
                                    hex_json(r->delta_base_sha256))
                        : json_null();
    return json_pack("{s:s,s:I,s:i,s:s,s:I,s:o,s:s,s:I,s:{s:I,s:o},"
                     "s:{s:I,s:I,s:o,s:I,s:I,s:I},s:s,s:f,s:o,s:o,s:o,s:b}",
                     "file", path, "file_size", (json_int_t)in->hdr.total_len, "format_version",
                     (int)in->hdr.version, "version", r->version, "security_counter",
                     (json_int_t)r->security_counter, "hw_classes", hw, "component", r->component,
                     "created", (json_int_t)r->created, "image", "size", (json_int_t)r->image_size,
                     "sha256", hex_json(r->image_sha256), "frames", "size",
                     (json_int_t)r->frame_size, "count", (json_int_t)r->frame_count, "table_sha256",
                     hex_json(r->table_sha256), "stored_total", (json_int_t)in->hdr.frames_len,
                     "stored_min", (json_int_t)in->stored_min, "stored_max",
                     (json_int_t)in->stored_max, "compression", compression_name(r->compression),
                     "compression_ratio", ratio(in), "encryption", enc, "delta_base", delta,
                     "signatures", sigs, "signatures_verified", 0);
}

static int bundle_inspect(int argc, char **argv)
{
    const char *file = NULL;
    bool json = false;
    const struct cli_opt opts[] = {{"--json", NULL, NULL, NULL, 0, &json}};
    int rc = parse_opts("bundle inspect", argc, argv, opts, 1, &file);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (file == NULL)
        return cli_usage_error("bundle inspect", "bundle inspect: FILE.nbb is required");
    struct nb_diag diag = {{0}};
    struct nb_bundle_reader r;
    struct nb_bundle_info *in = nb_malloc(sizeof *in);
    enum nb_err err = in == NULL ? NB_ENOMEM : nb_bundle_reader_open_file(&r, file, &diag);
    if (err == NB_OK) {
        err = nb_bundle_file_inspect(&r, in, &diag);
        nb_bundle_reader_close(&r);
    }
    if (err == NB_OK && json) {
        json_t *doc = info_json(file, in);
        if (doc == NULL || json_dumpf(doc, stdout, JSON_INDENT(2)) != 0)
            err = NB_ENOMEM;
        else
            putchar('\n');
        json_decref(doc);
    } else if (err == NB_OK) {
        print_human(file, in);
    }
    nb_free(in);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, &diag, file);
}

/* ---- verify --------------------------------------------------------------- */

static const char verify_usage[] =
    "Usage: nobrick bundle verify --root root.json [--root NEXT.json ...]\n"
    "                             [--device-key dev.key] FILE.nbb\n"
    "\n"
    "Verifies every byte of a bundle: the first --root is trusted as given, each\n"
    "next one must be signed by the one before (a root rotation) and the last\n"
    "must not be expired; the release must be signed by that root's release\n"
    "role; the frame table, every frame and the whole image must match their\n"
    "signed hashes. An encrypted bundle is decrypted with the device's secret\n"
    "key when --device-key is given; without it only the stored bytes are\n"
    "checked. Prints one OK line, or one line naming the error (exit 1).\n";

static int load_device_key(const char *path, struct nb_keyfile *k)
{
    struct nb_diag diag = {{0}};
    enum nb_err err = nb_keyfile_load(path, k, &diag);
    if (err == NB_OK && (!k->secret || !k->has_x25519))
        err = nb_diag_set(&diag, NB_EINVAL, "not a device secret key (.key with x25519_private)");
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, &diag, path);
}

static void print_verified(const char *file, const struct nb_bundle_verified *v)
{
    char h[2 * NB_SHA256_LEN + 1];
    hex32(v->rel.image_sha256, h);
    printf("%s: OK%s: release %s (security counter %" PRIu64 ") for %s, %u frames, image %" PRIu64
           " bytes sha256 %.16s...\n",
           file,
           v->decrypted ? "" : " (encrypted; stored bytes checked, not decrypted: no --device-key)",
           v->rel.version, v->rel.security_counter, v->rel.hw_classes[0], v->rel.frame_count,
           v->rel.image_size, h);
}

static int verify_with(const char *const *roots, size_t n_roots, const struct nb_keyfile *dev,
                       const char *file)
{
    struct nb_diag diag = {{0}};
    struct nb_root *root = nb_malloc(sizeof *root);
    if (root == NULL)
        return cli_fail(NB_ENOMEM, NULL, file);
    enum nb_err err = nb_bundle_file_load_roots(roots, n_roots, (int64_t)time(NULL), root, &diag);
    if (err != NB_OK) {
        nb_free(root);
        return cli_fail(err, &diag, "trusted root");
    }
    struct nb_bundle_reader r;
    struct nb_bundle_verified v;
    err = nb_bundle_reader_open_file(&r, file, &diag);
    if (err == NB_OK) {
        err = nb_bundle_file_verify(root, &r, dev ? dev->x_priv : NULL, dev ? dev->x_pub : NULL, &v,
                                    &diag);
        nb_bundle_reader_close(&r);
    }
    nb_free(root);
    if (err != NB_OK)
        return cli_fail(err, &diag, file);
    print_verified(file, &v);
    return CLI_EXIT_OK;
}

static int bundle_verify(int argc, char **argv)
{
    const char *roots[NB_ROOT_MAX_STEPS + 1];
    size_t n_roots = 0;
    const char *file = NULL, *dev_path = NULL;
    const struct cli_opt opts[] = {
        {"--root", NULL, roots, &n_roots, NB_ROOT_MAX_STEPS + 1, NULL},
        {"--device-key", &dev_path, NULL, NULL, 0, NULL},
    };
    int rc = parse_opts("bundle verify", argc, argv, opts, 2, &file);
    if (rc == CLI_EXIT_OK && n_roots == 0)
        rc = cli_usage_error("bundle verify", "bundle verify: --root root.json is required");
    if (rc == CLI_EXIT_OK && file == NULL)
        rc = cli_usage_error("bundle verify", "bundle verify: FILE.nbb is required");
    if (rc != CLI_EXIT_OK)
        return rc;
    struct nb_keyfile dev;
    memset(&dev, 0, sizeof dev);
    if (dev_path != NULL)
        rc = load_device_key(dev_path, &dev);
    if (rc == CLI_EXIT_OK)
        rc = verify_with(roots, n_roots, dev_path != NULL ? &dev : NULL, file);
    nb_keyfile_wipe(&dev);
    return rc;
}

static const struct cli_subcommand bundle_commands[] = {
    {"create", bundle_create, create_usage},
    {"inspect", bundle_inspect, inspect_usage},
    {"verify", bundle_verify, verify_usage},
};

int cli_cmd_bundle(const struct cli_global *g, int argc, char **argv)
{
    (void)g; /* offline: no server options */
    return cli_dispatch("bundle", bundle_commands,
                        sizeof bundle_commands / sizeof bundle_commands[0], argc, argv);
}
