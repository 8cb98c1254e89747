/* libFuzzer target: the input as a release payload (nb_release_parse, the
 * path `bundle inspect` takes on unverified bytes), then as a release
 * envelope verified against the fixed root (nb_release_verify), plus the
 * content-key unwrap and SemVer on the same bytes. Oracles: a parsed release
 * keeps release.h's invariants, write(parse(x)) is stable, and a failed call
 * leaves its output alone. */
#include "fuzz_fixture.h"

#include <nobrick/release.h>

#define FZ_HW_CLASS "thermo-v3"

static uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN];
static char text1[NB_PAYLOAD_MAX + 1];
static char text2[NB_PAYLOAD_MAX + 1];
static struct nb_root root;
static uint8_t dev_priv[NB_X25519_LEN], dev_pub[NB_X25519_LEN];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void setup(void)
{
    if (root.version != 0)
        return;
    fz_root(&root);
    fz_device_x25519(dev_priv, dev_pub);
}

/* What release.h promises of every parsed release. */
static void check_release(const struct nb_release *rel)
{
    struct nb_semver v;
    fz_require(fz_terminated(rel->version, sizeof rel->version) &&
                   nb_semver_parse(rel->version, &v) == NB_OK,
               "release: version is SemVer");
    fz_require(rel->security_counter <= NB_SECURITY_COUNTER_MAX, "release: counter cap");
    fz_require(rel->n_hw_classes >= 1 && rel->n_hw_classes <= NB_RELEASE_MAX_HW_CLASSES,
               "release: 1..16 hardware classes");
    for (size_t i = 0; i < rel->n_hw_classes; i++) {
        fz_require(fz_terminated(rel->hw_classes[i], sizeof rel->hw_classes[i]) &&
                       rel->hw_classes[i][0] != '\0',
                   "release: hardware class is a non-empty string");
        for (size_t j = 0; j < i; j++)
            fz_require(strcmp(rel->hw_classes[i], rel->hw_classes[j]) != 0,
                       "release: hardware classes unique");
    }
    fz_require(fz_terminated(rel->component, sizeof rel->component) && rel->component[0] != '\0',
               "release: component is a non-empty string");
    fz_require(rel->created >= 0 && rel->created <= NB_CREATED_MAX, "release: created range");
    fz_require(rel->image_size >= 1 && rel->image_size <= NB_IMAGE_SIZE_MAX,
               "release: image size range");
    fz_require(rel->frame_size >= NB_FRAME_SIZE_MIN && rel->frame_size <= NB_FRAME_SIZE_MAX &&
                   (rel->frame_size & (rel->frame_size - 1)) == 0,
               "release: frame size a power of two in range");
    fz_require(rel->frame_count >= 1 && rel->frame_count <= NB_FRAMES_MAX_COUNT &&
                   rel->frame_count == (rel->image_size + rel->frame_size - 1) / rel->frame_size,
               "release: frame count covers the image");
    fz_require(!rel->encrypted ||
                   (rel->n_recipients >= 1 && rel->n_recipients <= NB_RELEASE_MAX_RECIPIENTS),
               "release: recipients when encrypted");
    fz_require(!rel->has_delta_base || rel->compression == NB_COMPRESSION_ZSTD,
               "release: a delta needs zstd");
    enum nb_err err = nb_release_check_hw(rel, FZ_HW_CLASS, NULL);
    fz_require(err == NB_OK || err == NB_EINCOMPAT, "release: hardware check result");
}

/* Unencrypted releases (the writer needs the recipients otherwise): the
 * written text parses, and writing it again gives the same bytes. */
static void check_round_trip(const struct nb_release *rel)
{
    if (rel->encrypted)
        return;
    size_t len1 = 0, len2 = 0;
    struct nb_release again;
    struct nb_diag diag = {{0}};
    enum nb_err err = nb_release_write(rel, NULL, 0, text1, sizeof text1, &len1, &diag);
    if (err != NB_OK)
        fprintf(stderr, "nb_release_write: %s\n", diag.msg);
    fz_require(err == NB_OK, "a parsed release can be written");
    fz_require(nb_release_parse((const uint8_t *)text1, len1, &again, NULL) == NB_OK,
               "a written release parses");
    fz_require(nb_release_write(&again, NULL, 0, text2, sizeof text2, &len2, NULL) == NB_OK,
               "a re-parsed release can be written");
    fz_require(len1 == len2 && memcmp(text1, text2, len1) == 0, "release round trip is stable");
}

static void check_unwrap(const uint8_t *data, size_t size)
{
    uint8_t key[NB_AES256_KEY_LEN];
    struct nb_diag diag = {{0}};
    memset(key, FZ_POISON, sizeof key);
    enum nb_err err = nb_release_unwrap_key(data, size, dev_priv, dev_pub, key, &diag);
    fz_check_diag(&diag);
    fz_require(err == NB_OK || fz_untouched(key, sizeof key), "a failed unwrap leaves the key");
    nb_wipe(key, sizeof key);
}

static void check_parse(const uint8_t *data, size_t size)
{
    struct nb_release rel;
    struct nb_diag diag = {{0}};
    memset(&rel, FZ_POISON, sizeof rel);
    enum nb_err err = nb_release_parse(data, size, &rel, &diag);
    fz_check_diag(&diag);
    if (err != NB_OK) {
        fz_require(err == NB_EPARSE || err == NB_ELENGTH, "release parse: documented code");
        fz_require(fz_untouched(&rel, sizeof rel), "a failed release parse leaves *out alone");
        return;
    }
    check_release(&rel);
    check_round_trip(&rel);
    if (rel.encrypted)
        check_unwrap(data, size);
}

static void check_verify(const uint8_t *data, size_t size)
{
    struct nb_release rel;
    struct nb_diag diag = {{0}};
    const uint8_t *payload = NULL;
    size_t payload_len = 0;
    memset(&rel, FZ_POISON, sizeof rel);
    enum nb_err err = nb_release_verify(&root, data, size, scratch, sizeof scratch, &rel, &payload,
                                        &payload_len, &diag);
    fz_check_diag(&diag);
    if (err != NB_OK) {
        fz_require(fz_untouched(&rel, sizeof rel), "a failed verify leaves *out alone");
        fz_require(payload == NULL, "a failed verify leaves *payload alone");
        return;
    }
    fz_require(payload >= scratch && payload + payload_len <= scratch + sizeof scratch,
               "verified payload lies in the scratch");
    check_release(&rel);
    if (rel.encrypted)
        check_unwrap(payload, payload_len);
}

/* The first two lines (at most 70 bytes each) as SemVer strings: precedence
 * is reflexive and antisymmetric. */
static void check_semver(const uint8_t *data, size_t size)
{
    char s[2][72];
    size_t off = 0;
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        while (off < size && data[off] != '\n' && n < sizeof s[k] - 2)
            s[k][n++] = (char)data[off++];
        s[k][n] = '\0';
        off++;
    }
    struct nb_semver a, b;
    if (nb_semver_parse(s[0], &a) != NB_OK)
        return;
    fz_require(nb_semver_cmp(&a, &a) == 0, "semver: a == a");
    if (nb_semver_parse(s[1], &b) != NB_OK)
        return;
    int ab = nb_semver_cmp(&a, &b), ba = nb_semver_cmp(&b, &a);
    fz_require((ab > 0) == (ba < 0) && (ab == 0) == (ba == 0), "semver: antisymmetric");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    check_parse(data, size);
    check_verify(data, size);
    check_semver(data, size);
    return 0;
}
