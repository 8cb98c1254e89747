/* Maintenance windows (window.h): the cron subset's parser and the next
 * window of a cron, a duration and a time zone. Days are walked with
 * civil-date arithmetic (no time zone needed); only the candidate start
 * times of matching days go through mktime, under the TZ lock. */
#include "window.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEARCH_DAYS (8 * 366)

static const struct {
    const char *name;
    unsigned lo, hi;
} fields[5] = {{"minute", 0, 59},
               {"hour", 0, 23},
               {"day of month", 1, 31},
               {"month", 1, 12},
               {"day of week", 0, 7}};

static bool number(const char **p, unsigned *out)
{
    unsigned v = 0;
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9' && v < 1000)
        v = v * 10 + (unsigned)(*s++ - '0');
    *p = s;
    *out = v;
    return true;
}

/* One item of a list: *, N, A-B, each optionally /STEP; sets bits. */
static enum nb_err parse_item(const char *s, unsigned f, uint64_t *bits, struct nb_diag *diag)
{
    unsigned lo = fields[f].lo, hi = fields[f].hi, step = 1;
    const char *p = s;
    if (*p == '*') {
        p++;
    } else if (!number(&p, &lo)) {
        return nb_diag_set(diag, NB_EPARSE,
                           "cron field %u (%s): '%s' is not a number, a range or '*' (names "
                           "like MON or JAN are not supported: use numbers)",
                           f + 1, fields[f].name, s);
    } else if (*p == '-') {
        p++;
        if (!number(&p, &hi))
            return nb_diag_set(diag, NB_EPARSE, "cron field %u (%s): '%s': a range is A-B", f + 1,
                               fields[f].name, s);
    } else if (*p != '/') {
        hi = lo;
    }
    if (*p == '/') {
        p++;
        if (!number(&p, &step) || step == 0)
            return nb_diag_set(diag, NB_EPARSE, "cron field %u (%s): '%s': a step is /N, N >= 1",
                               f + 1, fields[f].name, s);
    }
    if (*p != '\0')
        return nb_diag_set(diag, NB_EPARSE, "cron field %u (%s): '%s': unexpected '%c'", f + 1,
                           fields[f].name, s, *p);
    if (lo < fields[f].lo || hi > fields[f].hi || lo > hi)
        return nb_diag_set(diag, NB_EPARSE, "cron field %u (%s): '%s' is out of %u..%u", f + 1,
                           fields[f].name, s, fields[f].lo, fields[f].hi);
    for (unsigned v = lo; v <= hi; v += step)
        *bits |= UINT64_C(1) << (f == 4 && v == 7 ? 0 : v);
    return NB_OK;
}

static enum nb_err parse_field(char *text, unsigned f, uint64_t *bits, struct nb_diag *diag)
{
    char *save = NULL;
    if (text[0] == ',' || text[strlen(text) - 1] == ',' || strstr(text, ",,") != NULL)
        return nb_diag_set(diag, NB_EPARSE, "cron field %u (%s): an empty list item", f + 1,
                           fields[f].name);
    for (char *item = strtok_r(text, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        enum nb_err err = parse_item(item, f, bits, diag);
        if (err != NB_OK)
            return err;
    }
    return NB_OK;
}

enum nb_err window_cron_parse(const char *text, struct window_cron *out, struct nb_diag *diag)
{
    char buf[WINDOW_CRON_MAX + 1], *save = NULL, *part[6];
    uint64_t bits[5] = {0};
    unsigned n = 0;
    if (strlen(text) > WINDOW_CRON_MAX)
        return nb_diag_set(diag, NB_EPARSE, "cron: longer than %d characters", WINDOW_CRON_MAX);
    (void)snprintf(buf, sizeof buf, "%s", text);
    for (char *t = strtok_r(buf, " \t", &save); t != NULL && n < 6;
         t = strtok_r(NULL, " \t", &save))
        part[n++] = t;
    if (n != 5)
        return nb_diag_set(diag, NB_EPARSE,
                           "cron: '%s' has %s5 fields: minute hour day-of-month month "
                           "day-of-week (\"0 2 * * *\": 02:00 every day)",
                           text, n > 5 ? "more than " : "not ");
    for (unsigned f = 0; f < 5; f++) {
        enum nb_err err = parse_field(part[f], f, &bits[f], diag);
        if (err != NB_OK)
            return err;
    }
    struct window_cron c = {bits[0],           (uint32_t)bits[1], (uint32_t)bits[2],
                            (uint16_t)bits[3], (uint8_t)bits[4],  part[2][0] == '*',
                            part[4][0] == '*'};
    *out = c;
    return NB_OK;
}

enum nb_err window_tz_check(const char *tz, struct nb_diag *diag)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    bool ok = tz[0] != '\0' && tz[0] != '/' && strlen(tz) <= WINDOW_TZ_MAX &&
              strstr(tz, "..") == NULL &&
              strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                         "opqrstuvwxyz0123456789/_+-") == strlen(tz);
    (void)snprintf(path, sizeof path, "%s/%s",
                   dir != NULL && dir[0] != '\0' ? dir : "/usr/share/zoneinfo", tz);
    if (!ok || access(path, R_OK) != 0)
        return nb_diag_set(diag, NB_EINVAL,
                           "time zone '%s' is not in the system's zoneinfo (an IANA name such as "
                           "Europe/Berlin or UTC; Debian's tzdata package provides them)",
                           tz);
    return NB_OK;
}

/* ---- days and local times ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The civil date of day `days` after 1970-01-01: the UTC calendar of its midnight. */
static bool civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    time_t t = (time_t)(days * 86400);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return false;
    *y = tm.tm_year + 1900LL;
    *m = (unsigned)tm.tm_mon + 1;
    *d = (unsigned)tm.tm_mday;
    return true;
}

static bool day_matches(const struct window_cron *c, int64_t days, unsigned m, unsigned d)
{
    unsigned wd = (unsigned)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    bool dom = (c->dom >> d) & 1u, dow = (c->dow >> wd) & 1u;
    if (!((c->month >> m) & 1u))
        return false;
    if (c->dom_any || c->dow_any)
        return dom && dow;
    return dom || dow;
}

/* The Unix time of local y-m-d h:mi (see window.h for gaps and repeats);
 * false when mktime cannot say. */
static bool local_time(int64_t y, unsigned m, unsigned d, unsigned h, unsigned mi, int64_t *out)
{
    bool found = false;
    for (int dst = 1; dst >= 0; dst--) {
        struct tm tm = {0};
        tm.tm_year = (int)(y - 1900);
        tm.tm_mon = (int)m - 1;
        tm.tm_mday = (int)d;
        tm.tm_hour = (int)h;
        tm.tm_min = (int)mi;
        tm.tm_isdst = dst;
        time_t t = mktime(&tm);
        bool exact =
            t != (time_t)-1 && tm.tm_hour == (int)h && tm.tm_min == (int)mi && tm.tm_mday == (int)d;
        if (exact && (!found || (int64_t)t < *out)) {
            *out = (int64_t)t;
            found = true;
        }
        if (!found && dst == 0 && t != (time_t)-1) {
            *out = (int64_t)t; /* in the gap: standard time, so past it */
            found = true;
        }
    }
    return found;
}

/* The first start on local day `days` whose window closes after now. */
static bool on_day(const struct window *w, int64_t days, int64_t now, int64_t *open_at)
{
    int64_t y;
    unsigned m, d;
    if (!civil_from_days(days, &y, &m, &d) || !day_matches(&w->cron, days, m, d))
        return false;
    for (unsigned h = 0; h < 24; h++) {
        for (unsigned mi = 0; ((w->cron.hour >> h) & 1u) && mi < 60; mi++) {
            int64_t t = 0;
            if (((w->cron.minute >> mi) & 1u) && local_time(y, m, d, h, mi, &t) &&
                t + (int64_t)w->duration_s > now) {
                *open_at = t;
                return true;
            }
        }
    }
    return false;
}

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

enum nb_err window_next(const struct window *w, int64_t now, int64_t *open_at, int64_t *close_at)
{
    char old[256] = "";
    bool found = false, had = false;
    int64_t at = 0;
    pthread_mutex_lock(&tz_lock);
    const char *prev = getenv("TZ");
    if (prev != NULL && strlen(prev) < sizeof old) {
        memcpy(old, prev, strlen(prev) + 1);
        had = true;
    }
    if (setenv("TZ", w->tz, 1) == 0) {
        tzset();
        time_t from = (time_t)(now - (int64_t)w->duration_s);
        struct tm tm;
        if (localtime_r(&from, &tm) != NULL) {
            int64_t first =
                days_from_civil(tm.tm_year + 1900LL, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
            for (int64_t k = 0; !found && k < SEARCH_DAYS; k++)
                found = on_day(w, first + k, now, &at);
        }
    }
    if (had)
        (void)setenv("TZ", old, 1);
    else
        (void)unsetenv("TZ");
    tzset();
    pthread_mutex_unlock(&tz_lock);
    if (!found)
        return NB_ENOENT;
    *open_at = at;
    *close_at = at + (int64_t)w->duration_s;
    return NB_OK;
}

bool window_is_open(const struct window *w, int64_t now)
{
    int64_t open_at = 0, close_at = 0;
    return window_next(w, now, &open_at, &close_at) == NB_OK && open_at <= now;
}
