/* `nobrick key new ROLE NAME`: the key ceremony's first step. Writes a fresh
 * key pair as NAME.key (secret, 0600) and NAME.pub, never overwriting either,
 * and prints the keyid that root files and signatures will name.
 * `nobrick key export-pkcs11 URI NAME --role ROLE` writes NAME.pub for a key
 * that lives on a token (lib/host/signer_pkcs11.c). */
#include "cli.h"

#include <nobrick/keyfile.h>
#include <nobrick/pkcs11.h>

#include <string.h>

static const char key_new_usage[] =
    "Usage: nobrick key new ROLE NAME\n"
    "\n"
    "Generates a key pair for ROLE (root, release, director or device) and\n"
    "writes NAME.key (the secret key, mode 0600) and NAME.pub (the public key).\n"
    "Existing files are never overwritten. Device keys also hold a separate\n"
    "X25519 pair for payload decryption.\n"
    "\n"
    "Keep root and release secret keys offline; give only the .pub files to\n"
    "'nobrick root new'.\n";

static int key_new(int argc, char **argv)
{
    const char *pos[2];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error("key new", "key new: unknown option '%s'", argv[i]);
        if (n == 2)
            return cli_usage_error("key new", "key new: unexpected argument '%s'", argv[i]);
        pos[n++] = argv[i];
    }
    if (n < 2)
        return cli_usage_error("key new", "key new: expected ROLE and NAME");
    enum nb_key_role role;
    if (nb_key_role_parse(pos[0], &role) != NB_OK)
        return cli_usage_error(
            "key new", "key new: unknown role '%s' (root, release, director or device)", pos[0]);
    if (pos[1][0] == '\0')
        return cli_usage_error("key new", "key new: NAME is empty");
    struct nb_keyfile key;
    struct nb_diag diag;
    nb_diag_clear(&diag);
    enum nb_err err = nb_keyfile_generate(role, &key);
    if (err == NB_OK)
        err = nb_keyfile_save(&key, pos[1], &diag);
    nb_keyfile_wipe(&key);
    if (err != NB_OK)
        return cli_fail(err, &diag, "key new");
    static const char *const advice[] = {
        [NB_KEY_ROOT] = "keep it offline",
        [NB_KEY_RELEASE] = "keep it offline or on a token",
        [NB_KEY_DIRECTOR] = "it belongs on the server only",
        [NB_KEY_DEVICE] = "it belongs on the device only",
    };
    printf("created %s key %s\n  secret: %s.key (mode 0600, %s)\n"
           "  public: %s.pub\n",
           nb_key_role_name(role), key.keyid, pos[1], advice[role], pos[1]);
    return CLI_EXIT_OK;
}

static const char key_export_usage[] =
    "Usage: nobrick key export-pkcs11 URI NAME --role ROLE\n"
    "\n"
    "Writes NAME.pub for the Ed25519 key held on a PKCS#11 token, named by URI\n"
    "(pkcs11:token=...;object=...; the PIN from the URI or NOBRICK_PKCS11_PIN).\n"
    "The token first signs a test message, checked against the public key.\n"
    "ROLE is root, release or director (a device key also needs X25519, which\n"
    "a token key lacks). An existing NAME.pub is never overwritten.\n"
    "See docs/pkcs11.md.\n";

static int key_export_pkcs11(int argc, char **argv)
{
    const char *cmd = "key export-pkcs11", *pos[2], *role_name = NULL;
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc && role_name == NULL)
            role_name = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error(cmd, "%s: unknown or repeated option '%s'", cmd, argv[i]);
        else if (n == 2)
            return cli_usage_error(cmd, "%s: unexpected argument '%s'", cmd, argv[i]);
        else
            pos[n++] = argv[i];
    }
    if (n < 2 || role_name == NULL)
        return cli_usage_error(cmd, "%s: expected URI, NAME and --role ROLE", cmd);
    enum nb_key_role role;
    if (nb_key_role_parse(role_name, &role) != NB_OK)
        return cli_usage_error(cmd, "%s: unknown role '%s' (root, release or director)", cmd,
                               role_name);
    char keyid[NB_KEYID_MAX + 1];
    struct nb_diag diag;
    nb_diag_clear(&diag);
    enum nb_err err = nb_pkcs11_export_public(pos[0], role, pos[1], keyid, &diag);
    if (err == NB_EEXIST) {
        struct nb_diag exists;
        nb_diag_clear(&exists);
        (void)nb_diag_set(&exists, err, "%s.pub already exists; it is never overwritten", pos[1]);
        return cli_fail(err, &exists, cmd);
    }
    if (err != NB_OK)
        return cli_fail(err, &diag, cmd);
    printf("exported %s key %s\n  public: %s.pub\n", role_name, keyid, pos[1]);
    return CLI_EXIT_OK;
}

static const struct cli_subcommand key_commands[] = {
    {"new", key_new, key_new_usage},
    {"export-pkcs11", key_export_pkcs11, key_export_usage},
};

int cli_cmd_key(const struct cli_global *g, int argc, char **argv)
{
    (void)g; /* offline: no server options */
    return cli_dispatch("key", key_commands, sizeof key_commands / sizeof key_commands[0], argc,
                        argv);
}
