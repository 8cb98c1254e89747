/* The device's trust store (trust.h): the accepted root envelope text in a
 * two-copy record. Only a root that passed nb_root_step replaces it, so the
 * version it holds never goes down, and a power cut during the replacement
 * leaves the previous root. */
#include <nobrick/trust.h>

enum nb_err nb_trust_provision(struct nb_dualrec *dr, const uint8_t *text, size_t len,
                               uint8_t *scratch, size_t scratch_len, struct nb_diag *diag)
{
    struct nb_root root;
    if (len > NB_TRUST_ROOT_MAX || len > nb_dualrec_capacity(dr))
        return nb_diag_set(diag, NB_ELENGTH, "trust store: root is %zu bytes, the store holds %llu",
                           len, (unsigned long long)nb_dualrec_capacity(dr));
    enum nb_err err = nb_root_load_trusted(text, len, scratch, scratch_len, &root, diag);
    if (err != NB_OK)
        return err;
    err = nb_dualrec_provision(dr, text, len);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "trust store: writing the root failed");
    return NB_OK;
}

enum nb_err nb_trust_load(struct nb_dualrec *dr, uint8_t *text_buf, size_t cap, size_t *text_len,
                          uint8_t *scratch, size_t scratch_len, struct nb_root *root,
                          struct nb_diag *diag)
{
    size_t len = 0;
    struct nb_root r;
    enum nb_err err = nb_dualrec_load(dr, text_buf, cap, &len, diag);
    if (err == NB_EPARSE)
        return nb_diag_set(diag, NB_EPARSE,
                           "trust store: no valid root: the device was never provisioned");
    if (err != NB_OK)
        return err;
    err = nb_root_load_trusted(text_buf, len, scratch, scratch_len, &r, diag);
    if (err != NB_OK)
        return err;
    *text_len = len;
    *root = r;
    return NB_OK;
}

enum nb_err nb_trust_advance(struct nb_dualrec *dr, struct nb_root *current, const uint8_t *next,
                             size_t next_len, uint8_t *scratch, size_t scratch_len,
                             struct nb_diag *diag)
{
    struct nb_root stepped;
    if (next_len > NB_TRUST_ROOT_MAX || next_len > nb_dualrec_capacity(dr))
        return nb_diag_set(diag, NB_ELENGTH, "trust store: root is %zu bytes, the store holds %llu",
                           next_len, (unsigned long long)nb_dualrec_capacity(dr));
    enum nb_err err = nb_root_step(current, next, next_len, scratch, scratch_len, &stepped, diag);
    if (err != NB_OK)
        return err;
    err = nb_dualrec_store(dr, next, next_len);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "trust store: storing root v%u failed (still at v%u)",
                           (unsigned)stepped.version, (unsigned)current->version);
    *current = stepped;
    return NB_OK;
}
