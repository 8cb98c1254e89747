/* The one allocator of the host programs: the only file that may call
 * malloc/calloc/realloc/free/strdup. Routing every allocation through here
 * lets tests fail the N-th one (curl's torture tests) and check that each
 * error path releases what it took. It also gives jansson an allocator that
 * wipes every block it frees: parsing a secret key file leaves copies of the
 * key's hex text in jansson's strings, and those must not linger on the heap. */
#include <nobrick/alloc.h>

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Failure injection for tests. Plain statics, not thread-safe: only the
 * injection is affected (a test that uses it runs single-threaded); the
 * allocation functions themselves stay safe to call from any thread as long
 * as no test is injecting. */
static long alloc_count;
static long fail_from = -1; /* allocation index from which all fail; -1: never */

/* Counts one allocation attempt; false when it must fail. */
static bool alloc_allowed(void)
{
    long n = alloc_count++;
    return fail_from < 0 || n < fail_from;
}

long nb_alloc_fail_after(long n)
{
    long so_far = alloc_count;
    fail_from = n < 0 ? -1 : (n > LONG_MAX - so_far ? LONG_MAX : so_far + n);
    return so_far;
}

void *nb_malloc(size_t len)
{
    if (!alloc_allowed())
        return NULL;
    /* malloc(0) may return NULL; the contract is a unique pointer. */
    return malloc(len > 0 ? len : 1);
}

void *nb_calloc(size_t n, size_t len)
{
    if (len > 0 && n > SIZE_MAX / len)
        return NULL;
    if (!alloc_allowed())
        return NULL;
    return n == 0 || len == 0 ? calloc(1, 1) : calloc(n, len);
}

void *nb_realloc(void *p, size_t len)
{
    if (!alloc_allowed())
        return NULL; /* like realloc: p is left untouched */
    /* realloc(p, 0) may free p and return NULL, which callers read as failure. */
    return realloc(p, len > 0 ? len : 1);
}

char *nb_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *d = nb_malloc(len);
    if (d != NULL)
        memcpy(d, s, len);
    return d;
}

void nb_free(void *p)
{
    free(p);
}

/* jansson's blocks carry their length in front, so the free can wipe them.
 * They are not counted by the failure injection: jansson reports its own
 * out-of-memory as a parse error, which would only blur what tests assert. */
union json_block_head {
    size_t len;
    max_align_t align;
};

static void *json_block_alloc(size_t len)
{
    if (len > SIZE_MAX - sizeof(union json_block_head))
        return NULL;
    union json_block_head *h = malloc(sizeof *h + len);
    if (h == NULL)
        return NULL;
    h->len = len;
    return h + 1;
}

static void json_block_free(void *p)
{
    if (p == NULL)
        return;
    union json_block_head *h = (union json_block_head *)p - 1;
    explicit_bzero(h, sizeof *h + h->len);
    free(h);
}

/* Installed before main, before jansson has allocated anything. */
__attribute__((constructor)) static void install_json_allocator(void)
{
    json_set_alloc_funcs(json_block_alloc, json_block_free);
}
