/* nobrick-bench-seed: fills a server store with N registered, active
 * devices, each with a fresh Ed25519 identity key (its id is the key's
 * keyid, as at enrolment) and a device token made by the server's own
 * auth_create_device_token, so the rows and tokens are those the server
 * would have made through enrolment, approval and login. Writes the token
 * secrets, one per line, for the load generator. Through store.h only.
 *
 * Usage: nobrick-bench-seed --db sqlite:PATH --devices N --tokens FILE
 *            [--grouped M --group-size G --group-tokens FILE] [--token-ttl S]
 * The first M devices go in groups bench-0, bench-1, ... of G devices (for
 * group deployments); their tokens go to --group-tokens, the others' to
 * --tokens. */
#include "auth.h"
#include "store.h"

#include <nobrick/crypto.h>
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct seed_args {
    const char *db, *tokens, *group_tokens;
    unsigned long devices, grouped, group_size, ttl_s;
};

static bool parse_num(const char *s, unsigned long *out)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0')
        return false;
    *out = v;
    return true;
}

static bool parse_args(int argc, char **argv, struct seed_args *a)
{
    memset(a, 0, sizeof *a);
    a->group_size = 1000;
    a->ttl_s = 86400;
    bool ok = true;
    for (int i = 1; ok && i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--db") == 0)
            a->db = v;
        else if (strcmp(k, "--tokens") == 0)
            a->tokens = v;
        else if (strcmp(k, "--group-tokens") == 0)
            a->group_tokens = v;
        else if (strcmp(k, "--devices") == 0)
            ok = parse_num(v, &a->devices);
        else if (strcmp(k, "--grouped") == 0)
            ok = parse_num(v, &a->grouped);
        else if (strcmp(k, "--group-size") == 0)
            ok = parse_num(v, &a->group_size) && a->group_size > 0;
        else if (strcmp(k, "--token-ttl") == 0)
            ok = parse_num(v, &a->ttl_s) && a->ttl_s <= UINT32_MAX;
        else
            ok = false;
    }
    return ok && argc % 2 == 1 && a->db != NULL && a->tokens != NULL && a->devices > 0 &&
           a->grouped <= a->devices && (a->grouped == 0 || a->group_tokens != NULL);
}

/* One device: key, row, token (written to out). */
static enum nb_err seed_one(struct store *st, const struct seed_args *a, unsigned long i,
                            int64_t now, FILE *out)
{
    uint8_t seed[NB_ED25519_SEED_LEN], pub[NB_ED25519_PUB_LEN];
    struct store_device d;
    memset(&d, 0, sizeof d);
    enum nb_err err = nb_ed25519_keygen(seed, pub);
    nb_wipe(seed, sizeof seed); /* the bench never logs in: the token is enough */
    if (err == NB_OK)
        err = nb_keyid(pub, d.id);
    if (err == NB_OK)
        err = nb_hex_encode(pub, sizeof pub, d.pubkey, sizeof d.pubkey);
    if (err != NB_OK)
        return err;
    (void)snprintf(d.hw_class, sizeof d.hw_class, "bench");
    if (i < a->grouped)
        (void)snprintf(d.group, sizeof d.group, "bench-%lu", i / a->group_size);
    d.state = STORE_DEVICE_ACTIVE;
    d.created_at = now;
    char tok[AUTH_TOKEN_LEN + 1];
    err = st->ops->device_add(st, &d, NULL);
    if (err == NB_OK)
        err = auth_create_device_token(st, d.id, now, (uint32_t)a->ttl_s, tok);
    if (err == NB_OK && fprintf(out, "%s\n", tok) < 0)
        err = NB_EIO;
    return err;
}

static enum nb_err seed_all(struct store *st, const struct seed_args *a, FILE *plain, FILE *grouped)
{
    int64_t now = (int64_t)time(NULL);
    enum nb_err err = NB_OK;
    for (unsigned long i = 0; err == NB_OK && i < a->devices; i++)
        err = seed_one(st, a, i, now, i < a->grouped ? grouped : plain);
    return err;
}

int main(int argc, char **argv)
{
    struct seed_args a;
    if (!parse_args(argc, argv, &a)) {
        fprintf(stderr, "usage: nobrick-bench-seed --db sqlite:PATH --devices N --tokens FILE\n"
                        "         [--grouped M --group-size G --group-tokens FILE]"
                        " [--token-ttl S]\n");
        return 2;
    }
    struct nb_diag diag = {{0}};
    struct store st;
    enum nb_err err = store_open(a.db, &st, &diag);
    if (err != NB_OK) {
        fprintf(stderr, "nobrick-bench-seed: %s\n", diag.msg[0] ? diag.msg : nb_strerror(err));
        return 1;
    }
    FILE *plain = fopen(a.tokens, "w");
    FILE *grouped = a.group_tokens != NULL ? fopen(a.group_tokens, "w") : NULL;
    if (plain == NULL || (a.group_tokens != NULL && grouped == NULL))
        err = NB_EIO;
    if (err == NB_OK)
        err = seed_all(&st, &a, plain, grouped);
    if (plain != NULL && fclose(plain) != 0)
        err = NB_EIO;
    if (grouped != NULL && fclose(grouped) != 0)
        err = NB_EIO;
    store_close(&st);
    if (err != NB_OK) {
        fprintf(stderr, "nobrick-bench-seed: %s\n", nb_strerror(err));
        return 1;
    }
    return 0;
}
