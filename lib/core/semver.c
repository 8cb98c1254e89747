/* Semantic Versioning 2.0.0 (https://semver.org): the strict parser and the
 * precedence order of release versions (include/nobrick/release.h).
 * Anti-rollback does not rest on this order (the security counter does);
 * it is what people and rollout policies compare. */
#include <nobrick/release.h>

#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* A numeric identifier: "0" or digits without a leading zero, fitting 64 bits. */
static bool parse_number(const char **p, uint64_t *out)
{
    const char *s = *p;
    if (!is_digit(*s) || (s[0] == '0' && is_digit(s[1])))
        return false;
    uint64_t v = 0;
    for (; is_digit(*s); s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    *p = s;
    return true;
}

static bool all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
    }
    return true;
}

/* Dot-separated non-empty identifiers of [0-9A-Za-z-]; in a pre-release, a
 * numeric identifier has no leading zero. */
static bool idents_ok(const char *s, size_t len, bool pre)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (!is_ident_char(s[i]))
                return false;
            continue;
        }
        size_t n = i - start;
        if (n == 0)
            return false;
        if (pre && n > 1 && s[start] == '0' && all_digits(s + start, n))
            return false;
        start = i + 1;
    }
    return true;
}

enum nb_err nb_semver_parse(const char *s, struct nb_semver *out)
{
    size_t len = 0;
    while (len <= NB_VERSION_MAX && s[len] != '\0')
        len++;
    if (len > NB_VERSION_MAX)
        return NB_ELENGTH;
    struct nb_semver v;
    memset(&v, 0, sizeof v);
    const char *p = s;
    if (!parse_number(&p, &v.major) || *p++ != '.' || !parse_number(&p, &v.minor) || *p++ != '.' ||
        !parse_number(&p, &v.patch))
        return NB_EPARSE;
    if (*p == '-') {
        const char *pre = ++p;
        size_t n = strcspn(pre, "+");
        if (!idents_ok(pre, n, true))
            return NB_EPARSE;
        memcpy(v.pre, pre, n);
        p += n;
    }
    if (*p == '+') {
        const char *build = ++p;
        size_t n = strlen(build);
        if (!idents_ok(build, n, false))
            return NB_EPARSE;
        memcpy(v.build, build, n);
        p += n;
    }
    if (*p != '\0')
        return NB_EPARSE;
    *out = v;
    return NB_OK;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

/* One pre-release identifier: numbers compare numerically (they have no
 * leading zeros, so by length then digits) and rank below alphanumerics,
 * which compare in ASCII order. */
static int cmp_ident(const char *a, size_t an, const char *b, size_t bn)
{
    bool a_num = all_digits(a, an), b_num = all_digits(b, bn);
    if (a_num != b_num)
        return a_num ? -1 : 1;
    if (a_num && an != bn)
        return an < bn ? -1 : 1;
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return cmp_u64(an, bn);
}

static int cmp_pre(const char *a, const char *b)
{
    /* A release ranks above any of its pre-releases. */
    if (*a == '\0' || *b == '\0')
        return (*a == '\0') - (*b == '\0');
    while (*a != '\0' && *b != '\0') {
        size_t an = strcspn(a, "."), bn = strcspn(b, ".");
        int c = cmp_ident(a, an, b, bn);
        if (c != 0)
            return c;
        a += an + (a[an] == '.');
        b += bn + (b[bn] == '.');
    }
    /* Equal so far: more identifiers rank higher. */
    return (*a != '\0') - (*b != '\0');
}

int nb_semver_cmp(const struct nb_semver *a, const struct nb_semver *b)
{
    int c = cmp_u64(a->major, b->major);
    if (c == 0)
        c = cmp_u64(a->minor, b->minor);
    if (c == 0)
        c = cmp_u64(a->patch, b->patch);
    if (c == 0)
        c = cmp_pre(a->pre, b->pre);
    return c;
}
