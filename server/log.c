/* The server's stderr log with levels (log.h). Each line is formatted into
 * one buffer and written with one call, so lines from the request threads
 * do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = SRV_LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void srv_log_set_level(enum srv_log_level level)
{
    atomic_store(&min_level, (int)level);
}

enum nb_err srv_log_parse_level(const char *name, enum srv_log_level *out)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum srv_log_level)i;
            return NB_OK;
        }
    }
    return NB_EINVAL;
}

void srv_log(enum srv_log_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load(&min_level))
        return;
    char line[1024];
    time_t now = time(NULL);
    struct tm tm;
    (void)gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    int k = snprintf(line + n, sizeof line - n, "%s: ", names[level]);
    n += k > 0 ? (size_t)k : 0;
    va_list ap;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    n = k < 0 ? n : (n + (size_t)k >= sizeof line - 1 ? sizeof line - 2 : n + (size_t)k);
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w; /* nowhere left to report a failed log write */
}
