/* `nobrick device provision`: the factory step of a simulated device. Makes
 * DEV/ with its flash file (boot control, journal, trust store, bootloader
 * capabilities, slot metadata and slots), its device key pair and its
 * agent.conf; slot A (and the read-only gold slot) hold the factory image
 * from a signed bundle, verified against the root first, marked good.
 * Uses the library directly: the layout, stores and frame pipeline of the
 * device, the bundle API of the host. docs/agent.md describes DEV/. */
#include "cli.h"

#include <nobrick/alloc.h>
#include <nobrick/bootctl.h>
#include <nobrick/bundle_file.h>
#include <nobrick/fileio.h>
#include <nobrick/flash_sim.h>
#include <nobrick/keyfile.h>
#include <nobrick/layout.h>
#include <nobrick/provision.h>
#include <nobrick/trust.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ERASE_SIZE 4096u
#define WRITE_SIZE 16u
#define MIB (1024u * 1024u)

static const char provision_usage[] =
    "Usage: nobrick device provision --dir DEV --root root.json --hw-class NAME\n"
    "         (--bundle FACTORY.nbb | --image FILE --version X.Y.Z --release-key release.key)\n"
    "         [--security-counter N] [--slot-size BYTES] [--meta-size BYTES]\n"
    "         [--frame-size BYTES] [--gold]\n\n"
    "Creates a simulated device in DEV: DEV/flash.img (boot control, journal,\n"
    "trust store, slots A and B, and with --gold a read-only gold slot),\n"
    "DEV/device.key and DEV/device.pub (its keys; encrypt bundles to device.pub),\n"
    "DEV/health.d/ (its health checks) and DEV/agent.conf. Slot A (and gold)\n"
    "hold the factory image, marked good.\n\n"
    "Secure boot verifies a slot against its signed release, so the factory\n"
    "image needs one: --bundle gives a signed bundle (verified against --root),\n"
    "or --image, --version and --release-key sign the image now (security\n"
    "counter --security-counter, default 0; --frame-size as for bundle create).\n"
    "--slot-size defaults to the image size rounded up to 1 MiB (at least\n"
    "1 MiB). Flash geometry: erase 4096 bytes, write 16 bytes.\n";

struct prov {
    const char *dir, *root_path, *hw, *image, *version, *counter, *slot_size, *meta_size;
    const char *frame_size, *bundle, *release_key;
    bool gold;
    char path[1024];       /* scratch for DEV/... paths */
    char tmp_bundle[1024]; /* a bundle signed here, removed at the end */
    struct nb_root root;
    uint8_t *root_text;
    size_t root_len;
    struct nb_factory fac; /* the verified factory bundle */
    struct nb_layout layout;
    struct nb_flash_sim *sim;
    struct nb_flash flash;
};

/* ---- options -------------------------------------------------------------- */

static int parse(int argc, char **argv, struct prov *p)
{
    struct {
        const char *name;
        const char **val;
    } opts[] = {
        {"--dir", &p->dir},
        {"--root", &p->root_path},
        {"--hw-class", &p->hw},
        {"--image", &p->image},
        {"--version", &p->version},
        {"--security-counter", &p->counter},
        {"--slot-size", &p->slot_size},
        {"--meta-size", &p->meta_size},
        {"--frame-size", &p->frame_size},
        {"--bundle", &p->bundle},
        {"--release-key", &p->release_key},
    };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--gold") == 0) {
            p->gold = true;
            continue;
        }
        size_t k = 0;
        while (k < sizeof opts / sizeof opts[0] && strcmp(argv[i], opts[k].name) != 0)
            k++;
        if (k == sizeof opts / sizeof opts[0])
            return cli_usage_error("device provision", "device provision: unknown option '%s'",
                                   argv[i]);
        if (i + 1 >= argc || *opts[k].val != NULL)
            return cli_usage_error("device provision", "device provision: %s %s", argv[i],
                                   i + 1 >= argc ? "needs a value" : "given twice");
        *opts[k].val = argv[++i];
    }
    return CLI_EXIT_OK;
}

static int check_opts(const struct prov *p)
{
    const char *cmd = "device provision";
    const char *missing = p->dir == NULL         ? "--dir DEV"
                          : p->root_path == NULL ? "--root root.json"
                          : p->hw == NULL        ? "--hw-class NAME"
                                                 : NULL;
    if (missing != NULL)
        return cli_usage_error(cmd, "%s: %s is required", cmd, missing);
    if (p->bundle != NULL && p->release_key != NULL)
        return cli_usage_error(cmd, "%s: give --bundle or --release-key, not both", cmd);
    if (p->bundle == NULL && p->release_key == NULL)
        return cli_usage_error(cmd,
                               "%s: a signed factory bundle is needed (secure boot verifies the "
                               "factory image against its signed release): give --bundle "
                               "FACTORY.nbb, or --release-key release.key to sign --image now",
                               cmd);
    if (p->release_key != NULL && (p->image == NULL || p->version == NULL))
        return cli_usage_error(cmd, "%s: --release-key needs --image FILE and --version X.Y.Z",
                               cmd);
    if (strlen(p->hw) > NB_HW_CLASS_MAX || strchr(p->hw, '\n') != NULL)
        return cli_usage_error(cmd, "%s: --hw-class '%s' is not a hardware class name", cmd, p->hw);
    return CLI_EXIT_OK;
}

static int number(const char *opt, const char *s, unsigned long long min, unsigned long long max,
                  unsigned long long *out)
{
    if (cli_parse_u64(s, min, max, out))
        return CLI_EXIT_OK;
    return cli_usage_error("device provision",
                           "device provision: %s '%s' is not a number in "
                           "%llu..%llu",
                           opt, s, min, max);
}

static const char *dev_path(struct prov *p, const char *name)
{
    int n = snprintf(p->path, sizeof p->path, "%s/%s", p->dir, name);
    return n < 0 || (size_t)n >= sizeof p->path ? NULL : p->path;
}

/* ---- the factory bundle --------------------------------------------------- */

/* --image --version --release-key: signs the factory image into a temporary
 * bundle in DEV (removed at the end). */
static int sign_factory(struct prov *p)
{
    unsigned long long counter = 0, fs = NB_FRAME_SIZE_DEFAULT;
    if ((p->counter != NULL &&
         number("--security-counter", p->counter, 0, NB_SECURITY_COUNTER_MAX, &counter) != 0) ||
        (p->frame_size != NULL &&
         number("--frame-size", p->frame_size, NB_FRAME_SIZE_MIN, NB_FRAME_SIZE_MAX, &fs) != 0))
        return CLI_EXIT_USAGE;
    struct nb_signer signer;
    struct nb_diag diag = {{0}};
    memset(&signer, 0, sizeof signer);
    enum nb_err err = nb_signer_open(p->release_key, &signer, &diag);
    if (err != NB_OK)
        return cli_fail(err, &diag, p->release_key);
    const char *hw[] = {p->hw};
    struct nb_bundle_create_opts o = {
        .image_path = p->image,
        .out_path = p->tmp_bundle,
        .version = p->version,
        .security_counter = counter,
        .hw_classes = hw,
        .n_hw_classes = 1,
        .created = (int64_t)time(NULL),
        .frame_size = (uint32_t)fs,
        .compression = NB_COMPRESSION_ZSTD,
        .signers = &signer,
        .n_signers = 1,
    };
    err = nb_bundle_file_create(&o, NULL, &diag);
    nb_signer_close(&signer);
    if (err != NB_OK)
        return cli_fail(err, &diag, "device provision: signing the factory image");
    p->bundle = p->tmp_bundle;
    return CLI_EXIT_OK;
}

static int load_root(struct prov *p)
{
    struct nb_diag diag = {{0}};
    const char *paths[] = {p->root_path};
    enum nb_err err =
        nb_file_read(p->root_path, NB_TRUST_ROOT_MAX, &p->root_text, &p->root_len, &diag);
    if (err == NB_OK)
        err = nb_bundle_file_load_roots(paths, 1, (int64_t)time(NULL), &p->root, &diag);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, &diag, p->root_path);
}

/* The bundle's options must agree with what the operator typed. */
static int check_release(struct prov *p)
{
    struct nb_diag diag = {{0}};
    unsigned long long counter = 0;
    enum nb_err err = nb_release_check_hw(&p->fac.rel, p->hw, &diag);
    if (err != NB_OK)
        return cli_fail(err, &diag, "device provision: factory bundle");
    if (p->version != NULL && strcmp(p->version, p->fac.rel.version) != 0)
        return cli_usage_error("device provision",
                               "device provision: --version %s, but the bundle holds %s",
                               p->version, p->fac.rel.version);
    if (p->counter != NULL &&
        (number("--security-counter", p->counter, 0, NB_SECURITY_COUNTER_MAX, &counter) != 0 ||
         counter != p->fac.rel.security_counter))
        return cli_usage_error(
            "device provision",
            "device provision: --security-counter %s, but the bundle has %" PRIu64, p->counter,
            p->fac.rel.security_counter);
    return CLI_EXIT_OK;
}

/* Verifies the whole bundle against the root, then keeps its envelope and
 * table for the slot metadata (provision.h). */
static int load_bundle(struct prov *p, struct nb_bundle_reader *r)
{
    struct nb_diag diag = {{0}};
    enum nb_err err = nb_bundle_reader_open_file(r, p->bundle, &diag);
    if (err == NB_OK)
        err = nb_factory_load(&p->root, r, &p->fac, &diag);
    return err == NB_OK ? check_release(p) : cli_fail(err, &diag, p->bundle);
}

/* ---- the flash ------------------------------------------------------------ */

static int make_flash(struct prov *p)
{
    unsigned long long slot = (p->fac.rel.image_size + MIB - 1) / MIB * MIB, meta = 0;
    if (p->slot_size != NULL &&
        number("--slot-size", p->slot_size, ERASE_SIZE, UINT64_C(1) << 40, &slot) != 0)
        return CLI_EXIT_USAGE;
    if (p->meta_size != NULL && number("--meta-size", p->meta_size, ERASE_SIZE, UINT32_MAX, &meta))
        return CLI_EXIT_USAGE;
    if (p->slot_size == NULL && slot < MIB)
        slot = MIB;
    if (slot < p->fac.rel.image_size)
        return cli_usage_error("device provision",
                               "device provision: the image (%" PRIu64
                               " bytes) does not fit a %llu-byte slot",
                               p->fac.rel.image_size, slot);
    struct nb_diag diag = {{0}};
    enum nb_err err = nb_layout_compute(ERASE_SIZE, slot, (uint32_t)meta, p->gold, &p->layout);
    const char *flash = dev_path(p, "flash.img");
    if (err == NB_OK) {
        struct nb_flash_sim_config sc = {p->layout.end, ERASE_SIZE, WRITE_SIZE, true};
        err = nb_flash_sim_open(flash, &sc, &p->sim, &diag);
    }
    if (err != NB_OK)
        return cli_fail(err, &diag, "device provision: flash");
    p->flash = nb_flash_sim_flash(p->sim);
    return CLI_EXIT_OK;
}

/* Trust store, slots, capabilities and boot control (provision.h). */
static int write_device(struct prov *p, struct nb_bundle_reader *r)
{
    struct nb_diag diag = {{0}};
    enum nb_err err =
        nb_factory_write(&p->fac, r, &p->flash, &p->layout, p->root_text, p->root_len, &diag);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, &diag, "device provision: writing the flash");
}

/* ---- keys, configuration -------------------------------------------------- */

static int make_dirs(struct prov *p)
{
    struct nb_diag diag = {{0}};
    if (mkdir(p->dir, 0755) != 0 && errno != EEXIST)
        return cli_fail(nb_diag_set(&diag, NB_EIO, "cannot create %s: %s", p->dir, strerror(errno)),
                        &diag, "device provision");
    const char *conf = dev_path(p, "agent.conf");
    if (conf == NULL || access(conf, F_OK) == 0 || access(dev_path(p, "flash.img"), F_OK) == 0)
        return cli_fail(nb_diag_set(&diag, NB_EEXIST,
                                    "%s already holds a device: choose another --dir or remove it",
                                    p->dir),
                        &diag, "device provision");
    const char *health = dev_path(p, "health.d");
    if (mkdir(health, 0755) != 0 && errno != EEXIST)
        return cli_fail(nb_diag_set(&diag, NB_EIO, "cannot create %s: %s", health, strerror(errno)),
                        &diag, "device provision");
    return CLI_EXIT_OK;
}

static int make_key(struct prov *p)
{
    struct nb_keyfile key;
    struct nb_diag diag = {{0}};
    enum nb_err err = nb_keyfile_generate(NB_KEY_DEVICE, &key);
    const char *name = dev_path(p, "device");
    if (err == NB_OK)
        err = nb_keyfile_save(&key, name, &diag);
    nb_keyfile_wipe(&key);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, &diag, "device provision: device key");
}

static int write_config(struct prov *p)
{
    char text[2048];
    char meta[64] = "";
    if (p->meta_size != NULL)
        snprintf(meta, sizeof meta, "meta_size = %s\n", p->meta_size);
    int n = snprintf(text, sizeof text,
                     "# nobrick-agent and nobrick-boot configuration of a simulated device\n"
                     "# (docs/agent.md). Paths are relative to this file's directory.\n"
                     "flash = flash.img\nflash_backend = sim\nerase_size = %u\nwrite_size = %u\n"
                     "slot_size = %" PRIu64 "\n%sgold = %s\nhw_class = %s\n"
                     "device_key = device.key\nhealth_dir = health.d\nhealth_timeout_s = 30\n"
                     "tries = %u\nbooted_file = booted\n"
                     "# support_contact = support@example.com\n",
                     ERASE_SIZE, WRITE_SIZE, p->layout.slot_size, meta, p->gold ? "yes" : "no",
                     p->hw, NB_BOOTCTL_DEFAULT_TRIES);
    struct nb_diag diag = {{0}};
    enum nb_err err = n > 0 && (size_t)n < sizeof text ? NB_OK : NB_ELENGTH;
    if (err == NB_OK)
        err = nb_file_write_atomic(dev_path(p, "agent.conf"), text, (size_t)n, 0644, true, &diag);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, &diag, "device provision: agent.conf");
}

static int provision(struct prov *p, struct nb_bundle_reader *r)
{
    int rc = make_dirs(p);
    if (rc == CLI_EXIT_OK && p->release_key != NULL) {
        int n = snprintf(p->tmp_bundle, sizeof p->tmp_bundle, "%s/.factory.nbb", p->dir);
        rc = n > 0 && (size_t)n < sizeof p->tmp_bundle ? sign_factory(p) : CLI_EXIT_USAGE;
    }
    if (rc == CLI_EXIT_OK)
        rc = load_root(p);
    if (rc == CLI_EXIT_OK)
        rc = load_bundle(p, r);
    if (rc == CLI_EXIT_OK)
        rc = make_flash(p);
    if (rc == CLI_EXIT_OK)
        rc = write_device(p, r);
    if (rc == CLI_EXIT_OK)
        rc = make_key(p);
    if (rc == CLI_EXIT_OK)
        rc = write_config(p);
    return rc;
}

static int device_provision(int argc, char **argv)
{
    struct prov *p = nb_calloc(1, sizeof *p);
    if (p == NULL)
        return cli_fail(NB_ENOMEM, NULL, "device provision");
    struct nb_bundle_reader r;
    memset(&r, 0, sizeof r);
    int rc = parse(argc, argv, p);
    if (rc == CLI_EXIT_OK)
        rc = check_opts(p);
    if (rc == CLI_EXIT_OK)
        rc = provision(p, &r);
    if (rc == CLI_EXIT_OK)
        printf("provisioned %s: hardware class %s, slot A%s = %s (security counter %" PRIu64
               "), slots of %" PRIu64 " bytes, flash %" PRIu64 " bytes\n"
               "next: nobrick-boot -c %s/agent.conf\n",
               p->dir, p->hw, p->gold ? " and gold" : "", p->fac.rel.version,
               p->fac.rel.security_counter, p->layout.slot_size, p->layout.end, p->dir);
    nb_bundle_reader_close(&r);
    nb_flash_sim_close(p->sim);
    if (p->tmp_bundle[0] != '\0')
        (void)unlink(p->tmp_bundle);
    nb_factory_fini(&p->fac);
    nb_free(p->root_text);
    nb_free(p);
    return rc;
}

static const struct cli_subcommand subcommands[] = {
    {"provision", device_provision, provision_usage},
};

static const char device_usage[] =
    "Usage: nobrick [GLOBAL OPTIONS] device SUBCOMMAND [OPTIONS]\n"
    "\n"
    "On the server (cmd_fleet_device.c):\n"
    "  list [--state S] [--hw-class C] [--group G] [--tag T]\n"
    "  show ID\n"
    "  approve ID\n"
    "  preauthorise (--pub FILE.pub | --public-key HEX) --hw-class C [--group G]\n"
    "  decommission ID\n"
    "  tag ID [TAG...]\n"
    "  group ID [GROUP]\n"
    "  unquarantine ID\n"
    "Offline:\n"
    "  provision --dir DEV --root root.json --hw-class C ...   a simulated device\n"
    "\n"
    "Run 'nobrick device SUBCOMMAND --help' for details, 'nobrick --help' for the\n"
    "global options (--server, --token, --json).\n";

/* `device provision` works offline; every other subcommand talks to the
 * server. */
int cli_cmd_device(const struct cli_global *g, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(device_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "provision") == 0)
        return cli_dispatch("device", subcommands, sizeof subcommands / sizeof subcommands[0], argc,
                            argv);
    return cli_fleet_device(g, argc, argv);
}
