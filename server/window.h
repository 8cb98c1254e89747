/* Maintenance windows (window.c): a 5-field cron subset for when a window
 * opens, a duration, and a time zone of the system's zoneinfo. A pure
 * function of its inputs and `now` (no store, no clock), so tests pin
 * every case, DST transitions included.
 *
 * Cron: "minute hour day-of-month month day-of-week", each field `*`, a
 * number, a range `a-b`, a step `*` `/n` or `a-b/n` or `a/n`, or a comma
 * list of those; day-of-week 0-7 (0 and 7: Sunday). When both day fields
 * are restricted, a day matches either (as cron does); otherwise both.
 * Names (MON, JAN) and the @-shortcuts are refused with a clear error.
 *
 * Local times: a start that does not exist (the hour skipped when DST
 * begins) opens the window at the same distance past the gap (02:30 on
 * the spring-forward day in Europe/Berlin opens at 03:30 CEST); a start
 * that occurs twice (when DST ends) opens once, at its first occurrence.
 * Time zones come from the system's zoneinfo through localtime_r/mktime
 * with TZ set, under one lock: the server reads local time nowhere else
 * (its logs use gmtime_r), so the lock makes it thread-safe. */
#ifndef NOBRICK_SERVER_WINDOW_H
#define NOBRICK_SERVER_WINDOW_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stdint.h>

#define WINDOW_CRON_MAX 127
#define WINDOW_TZ_MAX 63
#define WINDOW_DURATION_MAX (7 * 86400)

struct window_cron {
    uint64_t minute; /* bit m: minute m matches */
    uint32_t hour, dom;
    uint16_t month; /* bits 1..12 */
    uint8_t dow;    /* bits 0..6, Sunday 0 */
    bool dom_any, dow_any;
};

struct window {
    char cron_text[WINDOW_CRON_MAX + 1];
    struct window_cron cron;
    uint32_t duration_s;
    char tz[WINDOW_TZ_MAX + 1];
};

/* Parses cron text into out; NB_EPARSE with diag naming the field and the
 * reason ("cron field 2 (hour): 24 is out of 0..23"). */
NB_MUST_CHECK enum nb_err window_cron_parse(const char *text, struct window_cron *out,
                                            struct nb_diag *diag);

/* Checks a time zone name against the system's zoneinfo: NB_EINVAL for a
 * name that is not a file under /usr/share/zoneinfo (or $TZDIR). */
NB_MUST_CHECK enum nb_err window_tz_check(const char *tz, struct nb_diag *diag);

/* The first window of w that has not closed at now: [*open_at, *close_at)
 * in Unix seconds (*open_at <= now: open now). NB_ENOENT when no window
 * opens within 8 years (a date that never comes: "0 0 31 2 *"). */
NB_MUST_CHECK enum nb_err window_next(const struct window *w, int64_t now, int64_t *open_at,
                                      int64_t *close_at);

/* True when w is open at now (false on NB_ENOENT). */
bool window_is_open(const struct window *w, int64_t now);

#endif
