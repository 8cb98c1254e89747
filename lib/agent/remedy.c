/* The remedy table of nobrick/remedy.h: every error code an agent can
 * report, with a sentence for a person and what to do. Sentences speak of
 * "the update" and "the device", not of envelopes and frames; codes that
 * mean the release or the server is at fault send the person to support. */
#include <nobrick/remedy.h>

static const struct nb_remedy table[] = {
    {NB_ESIG, "the update is not signed by a key this device trusts",
     "get the update from your vendor; if it came over the network, report it", true},
    {NB_ETHRESHOLD, "the update is not signed by enough of the keys this device trusts",
     "get the update from your vendor; if it came over the network, report it", true},
    {NB_EROLLBACK, "the update is older than what the device already runs",
     "this release is older than what the device has committed: install a newer one", true},
    {NB_EEXPIRED, "the update's signed approval has expired, or the device's clock is wrong",
     "check the device's date and time, then retry", true},
    {NB_EFRESHNESS, "the server's answer was not made for this request (replayed or stale)",
     "retry; if it happens again, report it", true},
    {NB_EHASH, "the update's data was damaged on the way: it does not match what was signed",
     "retry (or download the bundle file again); the device was not changed", false},
    {NB_ELENGTH, "the update is larger than this device accepts",
     "the release is not for this device", true},
    {NB_ETIMEOUT, "the update server answered too slowly or not at all",
     "check the device's network connection and retry", false},
    {NB_EMISMATCH, "the update's parts disagree with each other",
     "retry; if it happens again, the release is faulty", true},
    {NB_EINCOMPAT, "the update is not made for this device (hardware or bootloader)",
     "use the bundle built for this device (or boot once so the bootloader reports its "
     "capabilities)",
     true},
    {NB_ENOT_FOR_DEVICE, "the update was addressed to another device",
     "retry; if it happens again, report it", true},
    {NB_EUNAUTHORIZED, "the update server does not accept this device (yet)",
     "an operator must approve the device; then retry", true},
    {NB_EPARSE, "something the device read is malformed: a file or a server's answer",
     "if a file is named above, fix it (or download it again); otherwise retry", true},
    {NB_EDECRYPT, "the update is encrypted for other devices",
     "the bundle is encrypted for other devices: ask for one encrypted to this device", true},
    {NB_ETRUNCATED, "the update's data ended early",
     "retry (or download the bundle file again); the device was not changed", false},
    {NB_EBOOT_VERIFY, "the new software did not start, so the device went back to the old one",
     "the device runs its previous software; the release is faulty", true},
    {NB_EIO, "the device could not read or write its storage, or the network failed",
     "check the device's network connection and retry; if the storage is named, check it", true},
    {NB_ENOMEM, "the device ran out of memory", "restart the device and retry", false},
    {NB_EINVAL, "the request was not valid", "check the command and its arguments", false},
    {NB_ENOSPC, "the update does not fit in the device's storage",
     "free space, or the release is not for this device", true},
    {NB_ECRYPTO, "the device's cryptography library failed", "restart the device and retry", true},
    {NB_EUNSUPPORTED, "this device cannot do that", "check the device's configuration", true},
    {NB_ENOENT, "a file the device needs is missing", "check the path named above", false},
    {NB_EEXIST, "it already exists", "nothing to do, or remove the old one first", false},
    {NB_EPOWER, "the power went off during the update",
     "nothing is lost: power on and the update resumes", false},
    {NB_EHEALTH, "the new software failed its health checks, so the device went back",
     "the device runs its previous software; the release is faulty", true},
    {NB_EBUSY, "the update server is busy", "nothing: the device retries by itself", false},
    {NB_EUNBOOTABLE,
     "the fleet's new root drops the release key that signed the software this device runs: "
     "storing it would leave the device unable to boot, so the device kept its root",
     "publish a root that keeps that key until the fleet runs releases signed with the new one "
     "(or install a release signed by both keys first)",
     true},
};

static const struct nb_remedy fallback = {NB_EINVAL, "the operation failed with an unknown code",
                                          "retry", true};

const struct nb_remedy *nb_remedy_for(enum nb_err err)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].code == err)
            return &table[i];
    return &fallback;
}

const struct nb_remedy *nb_remedy_table(size_t *count)
{
    *count = sizeof table / sizeof table[0];
    return table;
}
