/* The bootloader's capability record (caps.h): written by nobrick-boot at
 * every boot when it changed, read by the agent before an install, so an
 * update never relies on a bootloader feature that is not there. One copy
 * with a CRC: losing it costs one reboot (the bootloader rewrites it), never
 * safety, because the agent then refuses to install. */
#include <nobrick/caps.h>
#include <nobrick/crc.h>
#include <nobrick/dualrec.h>
#include <nobrick/encoding.h>

#include <string.h>

/* Little-endian; offsets are part of the on-flash format. */
#define FORMAT 1u
#define C_MAGIC 0
#define C_FORMAT 4 /* u16, then u16 reserved */
#define C_BOOT_VERSION 8
#define C_MAX_TRIES 12
#define C_FLAGS 13
#define C_SLOTS 14
#define C_FIXED_END 15 /* bytes 15..59 reserved, zero */
#define C_CRC (NB_CAPS_LEN - 4)
#define FLAG_ANTI_ROLLBACK 0x01u
#define FLAG_VERIFIES 0x02u

_Static_assert(C_FIXED_END <= C_CRC, "caps fields overlap the CRC");

static void encode(const struct nb_caps *caps, uint8_t out[NB_CAPS_LEN])
{
    memset(out, 0, NB_CAPS_LEN);
    nb_put_le32(out + C_MAGIC, NB_CAPS_MAGIC);
    nb_put_le16(out + C_FORMAT, FORMAT);
    nb_put_le32(out + C_BOOT_VERSION, caps->boot_version);
    out[C_MAX_TRIES] = caps->max_tries;
    out[C_FLAGS] = (uint8_t)((caps->anti_rollback ? FLAG_ANTI_ROLLBACK : 0) |
                             (caps->verifies_signature ? FLAG_VERIFIES : 0));
    out[C_SLOTS] = caps->slots;
    nb_put_le32(out + C_CRC, nb_crc32(0, out, C_CRC));
}

static bool reserved_zero(const uint8_t in[NB_CAPS_LEN])
{
    if (nb_le16(in + C_FORMAT + 2) != 0 || (in[C_FLAGS] & ~(FLAG_ANTI_ROLLBACK | FLAG_VERIFIES)))
        return false;
    for (size_t i = C_FIXED_END; i < C_CRC; i++)
        if (in[i] != 0)
            return false;
    return true;
}

static enum nb_err decode(const uint8_t in[NB_CAPS_LEN], struct nb_caps *out, struct nb_diag *diag)
{
    if (nb_le32(in + C_MAGIC) != NB_CAPS_MAGIC)
        return nb_diag_set(diag, NB_EPARSE, "bootloader capabilities: no record");
    if (nb_le16(in + C_FORMAT) != FORMAT)
        return nb_diag_set(diag, NB_EPARSE, "bootloader capabilities: format %u not supported",
                           nb_le16(in + C_FORMAT));
    if (nb_le32(in + C_CRC) != nb_crc32(0, in, C_CRC))
        return nb_diag_set(diag, NB_EPARSE, "bootloader capabilities: CRC mismatch");
    if (!reserved_zero(in) || in[C_MAX_TRIES] == 0 || (in[C_SLOTS] != 2 && in[C_SLOTS] != 3))
        return nb_diag_set(diag, NB_EPARSE, "bootloader capabilities: bad field");
    out->boot_version = nb_le32(in + C_BOOT_VERSION);
    out->max_tries = in[C_MAX_TRIES];
    out->anti_rollback = (in[C_FLAGS] & FLAG_ANTI_ROLLBACK) != 0;
    out->verifies_signature = (in[C_FLAGS] & FLAG_VERIFIES) != 0;
    out->slots = in[C_SLOTS];
    return NB_OK;
}

enum nb_err nb_caps_write(const struct nb_flash *flash, struct nb_region region,
                          const struct nb_caps *caps)
{
    uint8_t rec[NB_CAPS_LEN], old[NB_CAPS_LEN];
    struct nb_flash_geometry g;
    nb_flash_geometry(flash, &g);
    if (!nb_region_valid(&region, &g) || region.len < NB_CAPS_LEN || caps->max_tries == 0 ||
        (caps->slots != 2 && caps->slots != 3))
        return NB_EINVAL;
    encode(caps, rec);
    enum nb_err err = nb_flash_read(flash, region.off, old, sizeof old);
    if (err != NB_OK)
        return err;
    if (memcmp(old, rec, sizeof rec) == 0)
        return NB_OK; /* unchanged: no wear */
    const struct nb__span span = {rec, sizeof rec};
    bool equal = false;
    err = nb_flash_erase(flash, region.off, g.erase_size);
    if (err == NB_OK)
        err = nb__flash_write_spans(flash, region.off, &span, 1);
    if (err == NB_OK)
        err = nb_flash_sync(flash);
    if (err == NB_OK)
        err = nb__flash_equal_spans(flash, region.off, &span, 1, &equal);
    if (err == NB_OK && !equal)
        err = NB_EIO;
    return err;
}

enum nb_err nb_caps_read(const struct nb_flash *flash, struct nb_region region, struct nb_caps *out,
                         struct nb_diag *diag)
{
    uint8_t rec[NB_CAPS_LEN];
    struct nb_caps caps;
    if (region.len < NB_CAPS_LEN)
        return nb_diag_set(diag, NB_EPARSE, "bootloader capabilities: region too small");
    enum nb_err err = nb_flash_read(flash, region.off, rec, sizeof rec);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "bootloader capabilities: read failed");
    err = decode(rec, &caps, diag);
    if (err != NB_OK)
        return err;
    *out = caps;
    return NB_OK;
}

enum nb_err nb_caps_check(const struct nb_caps *caps, uint8_t tries, struct nb_diag *diag)
{
    unsigned v = caps->boot_version;
    unsigned maj = (v >> 16) & 0xFF, min = (v >> 8) & 0xFF, pat = v & 0xFF;
    if (caps->max_tries < tries)
        return nb_diag_set(diag, NB_EINCOMPAT,
                           "bootloader %u.%u.%u supports %u boot %s, this update needs %u: "
                           "update the bootloader or lower the tries",
                           maj, min, pat, caps->max_tries, caps->max_tries == 1 ? "try" : "tries",
                           tries);
    if (!caps->anti_rollback)
        return nb_diag_set(diag, NB_EINCOMPAT,
                           "bootloader %u.%u.%u does not enforce the minimum security counter "
                           "(anti-rollback): update the bootloader",
                           maj, min, pat);
    if (!caps->verifies_signature)
        return nb_diag_set(diag, NB_EINCOMPAT,
                           "bootloader %u.%u.%u does not verify the release signature before "
                           "boot: update the bootloader",
                           maj, min, pat);
    return NB_OK;
}
