/* The content-addressed sector store behind flash_mem.c: a chained hash
 * table from a 64-bit hash of the content to reference-counted sectors.
 * Equal hashes are confirmed with memcmp, so a collision costs a compare,
 * never a wrong sector. */
#include "flash_mem_store.h"
#include "powercut.h"

#include <nobrick/alloc.h>

#include <string.h>

#define MIN_BUCKETS 1024u

struct nb_flash_mem_store {
    uint32_t erase_size;
    struct nb__mem_sector **buckets;
    size_t n_buckets; /* power of two */
    uint64_t sectors, refs;
};

enum nb_err nb_flash_mem_store_new(uint32_t erase_size, struct nb_flash_mem_store **out)
{
    if (erase_size < 16 || (erase_size & (erase_size - 1)) != 0)
        return NB_EINVAL;
    struct nb_flash_mem_store *st = nb_calloc(1, sizeof *st);
    if (st == NULL)
        return NB_ENOMEM;
    st->buckets = nb_calloc(MIN_BUCKETS, sizeof *st->buckets);
    if (st->buckets == NULL) {
        nb_free(st);
        return NB_ENOMEM;
    }
    st->erase_size = erase_size;
    st->n_buckets = MIN_BUCKETS;
    *out = st;
    return NB_OK;
}

void nb_flash_mem_store_free(struct nb_flash_mem_store *st)
{
    if (st == NULL)
        return;
    for (size_t b = 0; b < st->n_buckets; b++) {
        for (struct nb__mem_sector *s = st->buckets[b], *next; s != NULL; s = next) {
            next = s->next;
            nb_free(s);
        }
    }
    nb_free(st->buckets);
    nb_free(st);
}

void nb_flash_mem_store_usage(const struct nb_flash_mem_store *st,
                              struct nb_flash_mem_store_usage *out)
{
    out->sectors = st->sectors;
    out->refs = st->refs;
    out->bytes = sizeof *st + st->n_buckets * sizeof *st->buckets +
                 st->sectors * (sizeof(struct nb__mem_sector) + st->erase_size);
}

uint32_t nb__mem_store_erase_size(const struct nb_flash_mem_store *st)
{
    return st->erase_size;
}

/* Eight bytes at a time through the splitmix finaliser: fast, and good
 * enough for a table whose matches are confirmed with memcmp. */
static uint64_t hash_sector(const uint8_t *data, uint32_t len)
{
    uint64_t h = len;
    for (uint32_t i = 0; i < len; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, sizeof w);
        h = nb__powercut_mix(h ^ w);
    }
    return h;
}

/* Doubles the table when it holds more sectors than buckets (chains stay
 * short); a failed allocation keeps the old table, only slower. */
static void maybe_grow(struct nb_flash_mem_store *st)
{
    if (st->sectors < st->n_buckets)
        return;
    size_t n = st->n_buckets * 2;
    struct nb__mem_sector **b = nb_calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; i < st->n_buckets; i++) {
        for (struct nb__mem_sector *s = st->buckets[i], *next; s != NULL; s = next) {
            next = s->next;
            s->next = b[s->hash & (n - 1)];
            b[s->hash & (n - 1)] = s;
        }
    }
    nb_free(st->buckets);
    st->buckets = b;
    st->n_buckets = n;
}

struct nb__mem_sector *nb__mem_store_intern(struct nb_flash_mem_store *st, const uint8_t *data)
{
    uint64_t h = hash_sector(data, st->erase_size);
    struct nb__mem_sector **head = &st->buckets[h & (st->n_buckets - 1)];
    for (struct nb__mem_sector *s = *head; s != NULL; s = s->next) {
        if (s->hash == h && memcmp(s->data, data, st->erase_size) == 0) {
            nb__mem_store_ref(st, s);
            return s;
        }
    }
    struct nb__mem_sector *s = nb_malloc(sizeof *s + st->erase_size);
    if (s == NULL)
        return NULL;
    memcpy(s->data, data, st->erase_size);
    s->hash = h;
    s->refs = 1;
    s->next = *head;
    *head = s;
    st->sectors++;
    st->refs++;
    maybe_grow(st);
    return s;
}

void nb__mem_store_ref(struct nb_flash_mem_store *st, struct nb__mem_sector *s)
{
    s->refs++;
    st->refs++;
}

void nb__mem_store_unref(struct nb_flash_mem_store *st, struct nb__mem_sector *s)
{
    st->refs--;
    if (--s->refs > 0)
        return;
    struct nb__mem_sector **p = &st->buckets[s->hash & (st->n_buckets - 1)];
    while (*p != s)
        p = &(*p)->next;
    *p = s->next;
    st->sectors--;
    nb_free(s);
}
