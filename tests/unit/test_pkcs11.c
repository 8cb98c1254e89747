/* Tests of PKCS#11 signing: the pkcs11: URI parser; the check of every token
 * signature, against a fake function list that misbehaves on purpose; and
 * the real path on a SoftHSM2 token created in a temporary directory for the
 * run (those tests are skipped when softhsm2-util is not installed). The
 * token code is included as source so the fake tests can reach its statics. */
#include <nobrick/alloc.h>
#include <nobrick/crypto.h>
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>
#include <nobrick/keyfile.h>
#include <nobrick/pkcs11.h>
#include <nobrick/signer.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#if __has_include(<p11-kit/pkcs11.h>)
#define NB_HAVE_P11KIT 1 /* nb_host defines it privately; the test needs the same code */
#include "host/pkcs11_token.c"
#define HAVE_P11KIT 1
#else
#include "host/pkcs11_token.h"
#define HAVE_P11KIT 0
#endif

#define URI_KEY "pkcs11:token=nobrick-test;object=release1"

/* SoftHSM 2.6.1 leaks a few OpenSSL ASN.1 strings in C_SignInit for EdDSA
 * keys (inside the module, not in nobrick). Under ASan that one leak is
 * suppressed, with full malloc stacks so the module's frames are visible to
 * the suppression; leak checking stays on for everything else. The module
 * is unloaded before LeakSanitizer runs, so its frames may show as
 * "<unknown module>" or as whatever library was mapped there later (seen:
 * libgobject, loaded with the opensc module that p11-kit's configuration
 * lists): the OpenSSL decoder that allocated them is named too. This test
 * decodes no ASN.1 of its own. (Plain builds never call these hooks.) */
const char *__asan_default_options(void);
const char *__lsan_default_options(void);
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}
const char *__lsan_default_suppressions(void)
{
    return "leak:libsofthsm2.so\nleak:ASN1_item_d2i_ex\n";
}

/* ---- the URI -------------------------------------------------------------- */

static enum nb_err parse(const char *text, struct nb_pkcs11_uri *u, struct nb_diag *d)
{
    nb_diag_clear(d);
    return nb__pkcs11_uri_parse(text, u, d);
}

static void test_uri_ok(void **state)
{
    (void)state;
    struct nb_pkcs11_uri u;
    struct nb_diag d;
    assert_int_equal(parse(URI_KEY, &u, &d), NB_OK);
    assert_string_equal(u.token, "nobrick-test");
    assert_string_equal(u.object, "release1");
    assert_false(u.has_pin);
    assert_false(u.has_id);

    assert_int_equal(parse("pkcs11:token=a%20b;object=k%3b1;type=private;pin-value=1%32"
                           "?module-path=/usr/lib/x.so",
                           &u, &d),
                     NB_OK);
    assert_string_equal(u.token, "a b");
    assert_string_equal(u.object, "k;1");
    assert_true(u.has_pin);
    assert_string_equal(u.pin, "12");
    assert_string_equal(u.module_path, "/usr/lib/x.so");

    assert_int_equal(parse("pkcs11:token=t;id=%01%ff%00?pin-value=9&module-path=m", &u, &d), NB_OK);
    assert_true(u.has_id);
    assert_int_equal(u.id_len, 3);
    assert_memory_equal(u.id, "\x01\xff\x00", 3);
    assert_string_equal(u.object, "");
    assert_string_equal(u.pin, "9");
    nb__pkcs11_uri_wipe(&u);
    assert_false(u.has_pin);
}

/* Each bad URI is refused with a message containing `want`. */
static void uri_bad(const char *text, enum nb_err err, const char *want)
{
    struct nb_pkcs11_uri u;
    struct nb_diag d;
    memset(&u, 0x5a, sizeof u);
    assert_int_equal(parse(text, &u, &d), err);
    if (strstr(d.msg, want) == NULL)
        fail_msg("'%s': diag '%s' lacks '%s'", text, d.msg, want);
    assert_int_equal(u.token[0], 0x5a); /* outputs only on success */
}

static void test_uri_refused(void **state)
{
    (void)state;
    char long_token[64];
    memset(long_token, 0, sizeof long_token);
    memcpy(long_token, "pkcs11:object=k;token=", 22);
    memset(long_token + 22, 'x', 33);
    uri_bad("token=a;object=b", NB_EPARSE, "does not start with 'pkcs11:'");
    uri_bad("pkcs11:token=a;object=b;slot-id=1", NB_EPARSE, "unknown attribute 'slot-id'");
    uri_bad("pkcs11:token=a;object=b;token=c", NB_EPARSE, "'token' given twice");
    uri_bad("pkcs11:token=a;object=", NB_EPARSE, "'object' is empty");
    uri_bad("pkcs11:token=a;object=b;", NB_EPARSE, "empty attribute");
    uri_bad("pkcs11:token=a;;object=b", NB_EPARSE, "expected name=value");
    uri_bad("pkcs11:token=a;object=b%2", NB_EPARSE, "bad percent-encoding in 'object'");
    uri_bad("pkcs11:token=a;object=b%zz", NB_EPARSE, "bad percent-encoding in 'object'");
    uri_bad("pkcs11:token=a;object=b%00c", NB_EPARSE, "bad percent-encoding in 'object'");
    uri_bad("pkcs11:token=a;object=b c", NB_EPARSE, "bad percent-encoding in 'object'");
    uri_bad("pkcs11:object=b", NB_EPARSE, "missing 'token'");
    uri_bad("pkcs11:token=a", NB_EPARSE, "missing 'object'");
    uri_bad("pkcs11:token=a;object=b;type=cert", NB_EPARSE, "type 'cert' not supported");
    uri_bad("pkcs11:token=a;object=b?token=c", NB_EPARSE, "'token' belongs in the path");
    uri_bad("pkcs11:token=a;object=b?", NB_EPARSE, "expected name=value");
    uri_bad("pkcs11:token=a;object=b?pin-source=file:/p", NB_EPARSE, "unknown attribute");
    uri_bad(long_token, NB_ELENGTH, "'token' longer than 32 bytes");
}

/* A wrong PIN in a bad URI must not end up in a message or a log. */
static void test_uri_diag_hides_pin(void **state)
{
    (void)state;
    struct nb_pkcs11_uri u;
    struct nb_diag d;
    assert_int_equal(parse("pkcs11:token=a;object=b;pin-value=s3cret%zz", &u, &d), NB_EPARSE);
    assert_null(strstr(d.msg, "s3cret"));
    assert_non_null(strstr(d.msg, "'pin-value'"));
    assert_int_equal(parse("pkcs11:token=a;object=b;pin-value:s3cret", &u, &d), NB_EPARSE);
    assert_null(strstr(d.msg, "s3cret"));
}

#if HAVE_P11KIT

/* ---- a misbehaving token: the signature check ----------------------------- */

enum fake_mode { FAKE_GOOD, FAKE_FLIPPED, FAKE_SHORT, FAKE_OTHER_KEY, FAKE_DEVICE_ERROR };

static struct {
    enum fake_mode mode;
    uint8_t seed[NB_ED25519_SEED_LEN];
    uint8_t other_seed[NB_ED25519_SEED_LEN];
} fake;

static CK_RV fake_sign_init(CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
    (void)s;
    (void)key;
    return mech->mechanism == CKM_EDDSA && mech->pParameter == NULL ? CKR_OK
                                                                    : CKR_MECHANISM_INVALID;
}

static CK_RV fake_sign(CK_SESSION_HANDLE s, CK_BYTE *msg, CK_ULONG len, CK_BYTE *sig,
                       CK_ULONG *sig_len)
{
    (void)s;
    if (fake.mode == FAKE_DEVICE_ERROR)
        return CKR_DEVICE_ERROR;
    if (*sig_len < NB_ED25519_SIG_LEN)
        return CKR_BUFFER_TOO_SMALL;
    const uint8_t *seed = fake.mode == FAKE_OTHER_KEY ? fake.other_seed : fake.seed;
    if (nb_ed25519_sign(seed, msg, len, sig) != NB_OK)
        return CKR_GENERAL_ERROR;
    *sig_len = fake.mode == FAKE_SHORT ? NB_ED25519_SIG_LEN - 1 : NB_ED25519_SIG_LEN;
    if (fake.mode == FAKE_FLIPPED)
        sig[10] ^= 0x04;
    return CKR_OK;
}

static void fake_key(struct nb_pkcs11_key *k, CK_FUNCTION_LIST *fn, enum fake_mode mode)
{
    memset(k, 0, sizeof *k);
    memset(fn, 0, sizeof *fn);
    fn->C_SignInit = fake_sign_init;
    fn->C_Sign = fake_sign;
    k->fn = fn;
    memcpy(k->token, "fake", 5);
    memcpy(k->what, "object 'k'", 11);
    fake.mode = mode;
    assert_int_equal(nb_ed25519_keygen(fake.seed, k->pub), NB_OK);
    uint8_t other_pub[NB_ED25519_PUB_LEN];
    assert_int_equal(nb_ed25519_keygen(fake.other_seed, other_pub), NB_OK);
}

static void fake_case(enum fake_mode mode, enum nb_err want, const char *msg_part)
{
    struct nb_pkcs11_key k;
    CK_FUNCTION_LIST fn;
    struct nb_diag d = {{0}};
    uint8_t sig[NB_ED25519_SIG_LEN];
    static const uint8_t msg[] = "DSSEv1 4 type 7 payload";
    fake_key(&k, &fn, mode);
    memset(sig, 0xee, sizeof sig);
    assert_int_equal(nb__pkcs11_key_sign(&k, msg, sizeof msg, sig, &d), want);
    if (want == NB_OK) {
        assert_int_equal(nb_ed25519_verify(k.pub, msg, sizeof msg, sig), NB_OK);
        return;
    }
    for (size_t i = 0; i < sizeof sig; i++)
        assert_int_equal(sig[i], 0xee); /* nothing written on failure */
    if (strstr(d.msg, msg_part) == NULL)
        fail_msg("diag '%s' lacks '%s'", d.msg, msg_part);
}

static void test_token_signature_checked(void **state)
{
    (void)state;
    fake_case(FAKE_GOOD, NB_OK, "");
    fake_case(FAKE_FLIPPED, NB_ECRYPTO, "does not verify");
    fake_case(FAKE_SHORT, NB_ECRYPTO, "does not verify");
    fake_case(FAKE_OTHER_KEY, NB_ECRYPTO, "token 'fake' returned a signature");
    fake_case(FAKE_DEVICE_ERROR, NB_EIO, "signing failed: CKR_DEVICE_ERROR (token 'fake')");
}

static void test_ec_point_strict(void **state)
{
    (void)state;
    uint8_t seed[NB_ED25519_SEED_LEN], pub[NB_ED25519_PUB_LEN], out[NB_ED25519_PUB_LEN];
    uint8_t der[2 + NB_ED25519_PUB_LEN + 1];
    assert_int_equal(nb_ed25519_keygen(seed, pub), NB_OK);
    der[0] = 0x04;
    der[1] = 0x20;
    memcpy(der + 2, pub, sizeof pub);
    assert_int_equal(ec_point_parse(der, 34, out), NB_OK);
    assert_memory_equal(out, pub, sizeof pub);
    assert_int_equal(ec_point_parse(der + 2, 32, out), NB_EPARSE); /* raw, no DER */
    assert_int_equal(ec_point_parse(der, 33, out), NB_EPARSE);     /* short */
    der[34] = 0;
    assert_int_equal(ec_point_parse(der, 35, out), NB_EPARSE); /* trailing byte */
    der[1] = 0x21;
    assert_int_equal(ec_point_parse(der, 35, out), NB_EPARSE); /* wrong length */
    der[1] = 0x20;
    der[0] = 0x03;
    assert_int_equal(ec_point_parse(der, 34, out), NB_EPARSE); /* BIT STRING */
    der[0] = 0x04;
    memset(der + 2, 0, 32);
    der[2] = 0x01; /* the identity point: small order */
    assert_int_equal(ec_point_parse(der, 34, out), NB_EPARSE);
}

/* ---- SoftHSM2 ------------------------------------------------------------- */

static struct {
    bool ready;
    char dir[64];
    char conf[128];
    const char *module;
} hsm;

/* Runs argv with output discarded; the exit status, 127 when it cannot run. */
static int run(const char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)null;
        if (getenv("NB_TEST_VERBOSE") == NULL)
            null = freopen("/dev/null", "w", stderr);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static const char *find_module(void)
{
    static const char *const paths[] = {
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    };
    const char *env_path = getenv("SOFTHSM2_MODULE");
    if (env_path != NULL)
        return env_path;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], R_OK) == 0)
            return paths[i];
    return NULL;
}

static int init_token(const char *label)
{
    const char *argv[] = {"softhsm2-util", "--init-token", "--free",   "--label", label,
                          "--pin",         "1234",         "--so-pin", "5678",    NULL};
    return run(argv);
}

/* pkcs11-tool on the test token, logged in, with up to 8 more arguments. */
static int tool(const char *const extra[])
{
    const char *argv[20] = {"pkcs11-tool",  "--module", hsm.module, "--token-label",
                            "nobrick-test", "--login",  "--pin",    "1234"};
    size_t n = 8;
    for (size_t i = 0; extra[i] != NULL && n < 19; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return run(argv);
}

static int make_token(void)
{
    const char *ed[] = {
        "--keypairgen", "--key-type", "EC:edwards25519", "--label", "release1", "--id", "01", NULL};
    const char *p256[] = {"--keypairgen", "--key-type", "EC:prime256v1", "--label", "p256", "--id",
                          "02",           NULL};
    const char *orphan[] = {
        "--keypairgen", "--key-type", "EC:edwards25519", "--label", "orphan", "--id", "03", NULL};
    const char *unpair[] = {"--delete-object", "--type", "pubkey", "--label", "orphan", NULL};
    if (init_token("nobrick-test") != 0 || init_token("twin") != 0 || init_token("twin") != 0)
        return -1;
    if (tool(ed) != 0 || tool(p256) != 0 || tool(orphan) != 0 || tool(unpair) != 0)
        return -1;
    return 0;
}

/* Creates the tokens once for all SoftHSM tests, in a fresh directory. */
static int hsm_setup(void **state)
{
    (void)state;
    const char *version[] = {"softhsm2-util", "--version", NULL};
    if (run(version) == 127) {
        print_message("softhsm2-util is not installed: the SoftHSM tests are skipped\n");
        return 0;
    }
    hsm.module = find_module();
    if (hsm.module == NULL) {
        print_message("softhsm2-util found but not libsofthsm2.so (set SOFTHSM2_MODULE)\n");
        return -1;
    }
    memcpy(hsm.dir, "/tmp/nb-pkcs11-XXXXXX", 22);
    if (mkdtemp(hsm.dir) == NULL)
        return -1;
    char tokens[96];
    (void)snprintf(tokens, sizeof tokens, "%s/tokens", hsm.dir);
    (void)snprintf(hsm.conf, sizeof hsm.conf, "%s/softhsm2.conf", hsm.dir);
    FILE *f = fopen(hsm.conf, "w");
    if (f == NULL || mkdir(tokens, 0700) != 0)
        return -1;
    fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens);
    if (fclose(f) != 0 || setenv("SOFTHSM2_CONF", hsm.conf, 1) != 0)
        return -1;
    if (make_token() != 0) {
        print_message("cannot set up the SoftHSM token (pkcs11-tool from opensc missing?)\n");
        return -1;
    }
    hsm.ready = true;
    return 0;
}

static int hsm_teardown(void **state)
{
    (void)state;
    if (hsm.dir[0] != '\0') {
        const char *rm[] = {"rm", "-rf", hsm.dir, NULL};
        (void)run(rm);
    }
    return 0;
}

/* Every SoftHSM test starts from the module by path and no PIN in the
 * environment. */
static void need_hsm(void)
{
    if (!hsm.ready)
        skip();
    assert_int_equal(setenv("NOBRICK_PKCS11_MODULE", hsm.module, 1), 0);
    assert_int_equal(unsetenv("NOBRICK_PKCS11_PIN"), 0);
}

/* The public key of release1 as pkcs11-tool reports it: the EC_POINT line
 * of the object block whose label is release1 (pkcs11-tool -O lists every
 * object whatever the filters, and SoftHSM's order is not fixed). */
static void tool_pub(uint8_t pub[NB_ED25519_PUB_LEN])
{
    char cmd[512], line[512], point[80] = "";
    (void)snprintf(cmd, sizeof cmd,
                   "pkcs11-tool --module %s --token-label nobrick-test -O --type pubkey "
                   "2>/dev/null",
                   hsm.module);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    bool found = false;
    while (!found && fgets(line, sizeof line, p) != NULL) {
        const char *v = line + strspn(line, " \t");
        if (strstr(v, "Object;") != NULL)
            point[0] = '\0';
        else if (strncmp(v, "EC_POINT:", 9) == 0)
            (void)snprintf(point, sizeof point, "%s", v + 9 + strspn(v + 9, " \t"));
        else if (strncmp(v, "label:", 6) == 0 && strstr(v, " release1\n") != NULL)
            found = point[0] != '\0';
    }
    assert_int_equal(pclose(p), 0);
    assert_true(found);
    assert_memory_equal(point, "0420", 4);
    assert_int_equal(nb_hex_decode(point + 4, 64, pub, NB_ED25519_PUB_LEN), NB_OK);
}

static void test_hsm_sign(void **state)
{
    (void)state;
    need_hsm();
    struct nb_signer s;
    struct nb_diag d = {{0}};
    uint8_t pub[NB_ED25519_PUB_LEN], sig[NB_ED25519_SIG_LEN];
    char keyid[NB_KEYID_MAX + 1];
    static const uint8_t msg[] = "DSSEv1 35 application/vnd.nobrick.release+json 2 {}";
    assert_int_equal(nb_signer_open(URI_KEY ";pin-value=1234", &s, &d), NB_OK);
    tool_pub(pub);
    assert_memory_equal(s.pub, pub, sizeof pub);
    assert_int_equal(nb_keyid(pub, keyid), NB_OK);
    assert_string_equal(s.keyid, keyid);
    assert_string_equal(s.label, URI_KEY);
    assert_int_equal(s.ops->sign(&s, msg, sizeof msg - 1, sig, &d), NB_OK);
    assert_int_equal(nb_ed25519_verify(pub, msg, sizeof msg - 1, sig), NB_OK);
    struct nb_signature es;
    assert_int_equal(nb_signer_sign_envelope(&s, msg, 10, &es, &d), NB_OK);
    assert_string_equal(es.keyid, keyid);
    assert_int_equal(nb_ed25519_verify(pub, msg, 10, es.sig), NB_OK);
    nb_signer_close(&s);
    assert_null(s.ctx);
}

/* The PIN from NOBRICK_PKCS11_PIN, or from the query; the key by id. */
static void test_hsm_pin_sources_and_id(void **state)
{
    (void)state;
    need_hsm();
    struct nb_signer s;
    struct nb_diag d = {{0}};
    uint8_t pub[NB_ED25519_PUB_LEN];
    tool_pub(pub);
    assert_int_equal(setenv("NOBRICK_PKCS11_PIN", "1234", 1), 0);
    assert_int_equal(nb_signer_open(URI_KEY, &s, &d), NB_OK);
    assert_memory_equal(s.pub, pub, sizeof pub);
    nb_signer_close(&s);
    assert_int_equal(unsetenv("NOBRICK_PKCS11_PIN"), 0);
    assert_int_equal(nb_signer_open("pkcs11:token=nobrick-test;id=%01?pin-value=1234", &s, &d),
                     NB_OK);
    assert_memory_equal(s.pub, pub, sizeof pub);
    nb_signer_close(&s);
}

static void open_fails(const char *uri, enum nb_err err, const char *want)
{
    struct nb_signer s;
    struct nb_diag d = {{0}};
    memset(&s, 0, sizeof s);
    assert_int_equal(nb_signer_open(uri, &s, &d), err);
    assert_null(s.ops);
    if (strstr(d.msg, want) == NULL)
        fail_msg("'%s': diag '%s' lacks '%s'", uri, d.msg, want);
}

static void test_hsm_errors(void **state)
{
    (void)state;
    need_hsm();
    open_fails(URI_KEY ";pin-value=9999", NB_EINVAL,
               "pkcs11: login failed: CKR_PIN_INCORRECT (token 'nobrick-test')");
    open_fails(URI_KEY, NB_EINVAL, "token 'nobrick-test' needs a PIN");
    assert_int_equal(setenv("NOBRICK_PKCS11_PIN", "1234", 1), 0);
    open_fails("pkcs11:token=nobrick-test;object=nope", NB_ENOENT,
               "pkcs11: object 'nope' not found on token 'nobrick-test'");
    open_fails("pkcs11:token=nope;object=release1", NB_ENOENT,
               "pkcs11: no token labelled 'nope' (tokens present: ");
    open_fails("pkcs11:token=nobrick-test;object=p256", NB_EUNSUPPORTED,
               "object 'p256' on token 'nobrick-test' is not an Ed25519 key");
    open_fails("pkcs11:token=nobrick-test;object=orphan", NB_ENOENT,
               "no public key for object 'orphan' on token 'nobrick-test'");
    open_fails("pkcs11:token=twin;object=k", NB_EINVAL, "2 tokens labelled 'twin'");
    open_fails(URI_KEY "?module-path=/nonexistent/libnothing.so", NB_ENOENT,
               "pkcs11: cannot load module '/nonexistent/libnothing.so'");
    open_fails("pkcs11:token=nobrick-test;object=release1;bogus=1", NB_EPARSE,
               "unknown attribute 'bogus'");
}

/* Without NOBRICK_PKCS11_MODULE the module comes from p11-kit's configuration
 * (Debian's softhsm2 package registers one). */
static void test_hsm_p11kit_config(void **state)
{
    (void)state;
    need_hsm();
    if (access("/usr/share/p11-kit/modules/softhsm2.module", R_OK) != 0)
        skip();
    assert_int_equal(unsetenv("NOBRICK_PKCS11_MODULE"), 0);
    struct nb_signer s;
    struct nb_diag d = {{0}};
    uint8_t pub[NB_ED25519_PUB_LEN];
    tool_pub(pub);
    assert_int_equal(nb_signer_open(URI_KEY "?pin-value=1234", &s, &d), NB_OK);
    assert_memory_equal(s.pub, pub, sizeof pub);
    nb_signer_close(&s);
}

static void test_hsm_export(void **state)
{
    (void)state;
    need_hsm();
    char name[128], path[160], keyid[NB_KEYID_MAX + 1];
    struct nb_diag d = {{0}};
    struct nb_keyfile k;
    uint8_t pub[NB_ED25519_PUB_LEN];
    tool_pub(pub);
    (void)snprintf(name, sizeof name, "%s/release1", hsm.dir);
    (void)snprintf(path, sizeof path, "%s.pub", name);
    const char *uri = URI_KEY "?pin-value=1234";
    assert_int_equal(nb_pkcs11_export_public(uri, NB_KEY_RELEASE, name, keyid, &d), NB_OK);
    assert_int_equal(nb_keyfile_load(path, &k, &d), NB_OK);
    assert_false(k.secret);
    assert_int_equal(k.role, NB_KEY_RELEASE);
    assert_memory_equal(k.ed_pub, pub, sizeof pub);
    assert_string_equal(k.keyid, keyid);
    nb_diag_clear(&d);
    assert_int_equal(nb_pkcs11_export_public(uri, NB_KEY_RELEASE, name, NULL, &d), NB_EEXIST);
    nb_diag_clear(&d);
    assert_int_equal(nb_pkcs11_export_public(uri, NB_KEY_DEVICE, name, NULL, &d), NB_EINVAL);
}

/* Each of our allocations failing in turn gives NB_ENOMEM and leaks nothing
 * (ASan checks the second part). */
static void test_hsm_alloc_failures(void **state)
{
    (void)state;
    need_hsm();
    enum nb_err err = NB_ENOMEM;
    for (long n = 0; n < 20 && err == NB_ENOMEM; n++) {
        struct nb_signer s;
        struct nb_diag d = {{0}};
        (void)nb_alloc_fail_after(n);
        err = nb_signer_open(URI_KEY "?pin-value=1234", &s, &d);
        (void)nb_alloc_fail_after(-1);
        if (err == NB_OK)
            nb_signer_close(&s);
        else
            assert_int_equal(err, NB_ENOMEM);
    }
    assert_int_equal(err, NB_OK);
}

#endif /* HAVE_P11KIT */

int main(void)
{
    const struct CMUnitTest uri_tests[] = {
        cmocka_unit_test(test_uri_ok),
        cmocka_unit_test(test_uri_refused),
        cmocka_unit_test(test_uri_diag_hides_pin),
#if HAVE_P11KIT
        cmocka_unit_test(test_token_signature_checked),
        cmocka_unit_test(test_ec_point_strict),
#endif
    };
    int failed = cmocka_run_group_tests_name("pkcs11 uri and checks", uri_tests, NULL, NULL);
#if HAVE_P11KIT
    const struct CMUnitTest hsm_tests[] = {
        cmocka_unit_test(test_hsm_sign),   cmocka_unit_test(test_hsm_pin_sources_and_id),
        cmocka_unit_test(test_hsm_errors), cmocka_unit_test(test_hsm_p11kit_config),
        cmocka_unit_test(test_hsm_export), cmocka_unit_test(test_hsm_alloc_failures),
    };
    failed += cmocka_run_group_tests_name("pkcs11 on SoftHSM2", hsm_tests, hsm_setup, hsm_teardown);
#endif
    return failed == 0 ? 0 : 1;
}
