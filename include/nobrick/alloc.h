/* The one allocator of nobrick's host programs (lib/host/alloc.c).
 *
 * lib/core and boot/ never allocate. Everything else allocates only through
 * these functions (the source check bans raw malloc/calloc/realloc/free
 * elsewhere), so tests can make the N-th allocation fail, as curl's torture
 * tests do. */
#ifndef NOBRICK_ALLOC_H
#define NOBRICK_ALLOC_H

#include <stddef.h>

/* NULL on failure (or on an injected failure). nb_malloc(0) returns a unique
 * pointer. */
void *nb_malloc(size_t len);
void *nb_calloc(size_t n, size_t len); /* NULL when n*len overflows */
void *nb_realloc(void *p, size_t len);
char *nb_strdup(const char *s);
void nb_free(void *p); /* nb_free(NULL) is a no-op */

/* Tests: the (n+1)-th
 * allocation from now, and every one after it, fails until reset with
 * nb_alloc_fail_after(-1). Returns the number of allocations so far. */
long nb_alloc_fail_after(long n);

#endif
