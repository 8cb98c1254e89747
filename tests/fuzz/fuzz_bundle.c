/* libFuzzer target: a whole bundle in memory (nb_bundle_reader_from_mem)
 * through nb_bundle_file_verify against the fixed root, with and without the
 * device key, and nb_bundle_file_inspect. A mutation breaks the release
 * signature, so a second pass re-signs it: each frame's stored_sha256 and
 * the table hash are recomputed, the release is signed again with the fixed
 * release key, and the rebuilt bundle is verified, so fuzzed frames reach
 * the decrypt/decompress/output-hash pipeline behind a valid signature. */
#include "fuzz_fixture.h"

#include <nobrick/bundle.h>
#include <nobrick/bundle_file.h>
#include <nobrick/encoding.h>
#include <nobrick/frames.h>

/* Inputs larger than this are verified but not re-signed. */
#define RESIGN_MAX (1024 * 1024)
#define TABLE_KEY "\"table_sha256\":\""

static uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN];
static uint8_t payload[NB_PAYLOAD_MAX];
static uint8_t pae[NB_ENVELOPE_SCRATCH_LEN];
static char envelope[NB_ENVELOPE_MAX + 1];
static uint8_t table[RESIGN_MAX];
static uint8_t rebuilt[NB_BUNDLE_HEADER_LEN + NB_ENVELOPE_MAX + RESIGN_MAX];
static struct nb_root root;
static struct nb_key release_key;
static uint8_t dev_priv[NB_X25519_LEN], dev_pub[NB_X25519_LEN];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void setup(void)
{
    if (root.version != 0)
        return;
    fz_root(&root);
    fz_key(FZ_SEED_RELEASE, &release_key);
    fz_device_x25519(dev_priv, dev_pub);
}

/* Verifies data[0..size) with and without the device key; returns the
 * result without the key. */
static enum nb_err verify(const uint8_t *data, size_t size)
{
    struct nb_bundle_reader r;
    struct nb_bundle_verified out;
    struct nb_diag diag = {{0}};
    nb_bundle_reader_from_mem(&r, data, size);
    memset(&out, FZ_POISON, sizeof out);
    enum nb_err err = nb_bundle_file_verify(&root, &r, NULL, NULL, &out, &diag);
    fz_check_diag(&diag);
    if (err == NB_OK) {
        fz_require(out.file_len == size, "verify: file length");
        fz_require(out.decrypted == !out.rel.encrypted, "verify: decrypted without a key");
    } else {
        fz_require(fz_untouched(&out, sizeof out), "a failed verify leaves *out alone");
    }

    struct nb_diag diag2 = {{0}};
    struct nb_bundle_verified out2;
    memset(&out2, FZ_POISON, sizeof out2);
    enum nb_err err2 = nb_bundle_file_verify(&root, &r, dev_priv, dev_pub, &out2, &diag2);
    fz_check_diag(&diag2);
    if (err2 == NB_OK)
        fz_require(out2.decrypted && out2.file_len == size, "verify: decrypted with the key");
    /* With the key every check without it is made too, and more. */
    fz_require(err2 != NB_OK || err == NB_OK, "verify with a key is never weaker");
    nb_bundle_reader_close(&r);
    return err;
}

static void inspect(const uint8_t *data, size_t size)
{
    struct nb_bundle_reader r;
    static struct nb_bundle_info info;
    struct nb_diag diag = {{0}};
    nb_bundle_reader_from_mem(&r, data, size);
    enum nb_err err = nb_bundle_file_inspect(&r, &info, &diag);
    fz_check_diag(&diag);
    if (err == NB_OK) {
        fz_require(info.n_sigs <= NB_ENVELOPE_MAX_SIGS, "inspect: signature count");
        fz_require(info.hdr.total_len == size, "inspect: file length");
        fz_require(info.stored_min <= info.stored_max, "inspect: stored min <= max");
    }
    nb_bundle_reader_close(&r);
}

/* Recomputes stored_sha256 of every entry whose bytes lie in the frames. */
static void fix_stored_hashes(size_t table_len, const uint8_t *frames, uint64_t frames_len)
{
    size_t n = (table_len - NB_FRAME_TABLE_HEADER_LEN) / NB_FRAME_ENTRY_LEN;
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = table + NB_FRAME_TABLE_HEADER_LEN + i * NB_FRAME_ENTRY_LEN;
        uint64_t off = nb_le64(e);
        uint32_t len = nb_le32(e + 8);
        if (off <= frames_len && len <= frames_len - off)
            fz_require(nb_sha256(frames + off, len, e + 16) == NB_OK, "hash a frame");
    }
}

/* Writes the hex of the table's hash over the payload's table_sha256
 * value; false when the payload has none. */
static bool fix_table_hash(size_t payload_len, size_t table_len)
{
    const size_t klen = sizeof TABLE_KEY - 1;
    uint8_t digest[NB_SHA256_LEN];
    char hex[2 * NB_SHA256_LEN + 1];
    for (size_t i = 0; i + klen + 2 * NB_SHA256_LEN <= payload_len; i++) {
        if (memcmp(payload + i, TABLE_KEY, klen) != 0)
            continue;
        fz_require(nb_sha256(table, table_len, digest) == NB_OK, "hash the table");
        fz_require(nb_hex_encode(digest, sizeof digest, hex, sizeof hex) == NB_OK, "hex");
        memcpy(payload + i + klen, hex, 2 * NB_SHA256_LEN);
        return true;
    }
    return false;
}

/* The release envelope of payload[0..len), signed by the fixed release
 * key; returns its length, 0 on failure. */
static size_t sign_release(size_t len)
{
    uint8_t seed[NB_ED25519_SEED_LEN];
    struct nb_signature sig;
    size_t pae_len = 0, out_len = 0;
    fz_seed(FZ_SEED_RELEASE, seed);
    memset(&sig, 0, sizeof sig);
    memcpy(sig.keyid, release_key.keyid, sizeof sig.keyid);
    if (nb_pae(NB_PAYLOAD_RELEASE, payload, len, pae, sizeof pae, &pae_len) != NB_OK ||
        nb_ed25519_sign(seed, pae, pae_len, sig.sig) != NB_OK ||
        nb_envelope_write(NB_PAYLOAD_RELEASE, payload, len, &sig, 1, envelope, sizeof envelope,
                          &out_len) != NB_OK)
        return 0;
    return out_len;
}

/* The input re-signed as described atop this file, then verified. */
static void resign_and_verify(const uint8_t *data, size_t size, enum nb_err first)
{
    struct nb_bundle_header hdr;
    struct nb_envelope env;
    if (size < NB_BUNDLE_HEADER_LEN || size > RESIGN_MAX ||
        nb_bundle_header_parse(data, size, &hdr, NULL) != NB_OK ||
        nb_envelope_parse(data + hdr.envelope_off, hdr.envelope_len, scratch, sizeof scratch, &env,
                          NULL) != NB_OK ||
        strcmp(env.payload_type, NB_PAYLOAD_RELEASE) != 0 || hdr.table_len > sizeof table ||
        hdr.table_len < NB_FRAME_TABLE_HEADER_LEN)
        return;
    size_t payload_len = env.payload_len;
    memcpy(payload, env.payload, payload_len);
    memcpy(table, data + hdr.table_off, hdr.table_len);
    fix_stored_hashes(hdr.table_len, data + hdr.frames_off, hdr.frames_len);
    if (!fix_table_hash(payload_len, hdr.table_len))
        return;
    size_t env_len = sign_release(payload_len);
    if (env_len == 0 || env_len > UINT32_MAX)
        return;
    size_t total = NB_BUNDLE_HEADER_LEN + env_len + hdr.table_len + (size_t)hdr.frames_len;
    fz_require(total <= sizeof rebuilt, "rebuilt bundle fits");
    nb_bundle_header_write((uint32_t)env_len, hdr.table_len, hdr.frames_len, rebuilt);
    memcpy(rebuilt + NB_BUNDLE_HEADER_LEN, envelope, env_len);
    memcpy(rebuilt + NB_BUNDLE_HEADER_LEN + env_len, table, hdr.table_len);
    memcpy(rebuilt + NB_BUNDLE_HEADER_LEN + env_len + hdr.table_len, data + hdr.frames_off,
           (size_t)hdr.frames_len);
    enum nb_err err = verify(rebuilt, total);
    /* Re-signing a valid bundle leaves it valid. */
    fz_require(first != NB_OK || err == NB_OK, "a valid bundle stays valid re-signed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    enum nb_err first = verify(data, size);
    inspect(data, size);
    resign_and_verify(data, size, first);
    return 0;
}
