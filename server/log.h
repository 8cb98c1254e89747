/* The server's log: one line per event on stderr,
 * "2026-11-29T12:00:00Z info: message", filtered by a level set once at
 * start-up. A log call only logs. */
#ifndef NOBRICK_SERVER_LOG_H
#define NOBRICK_SERVER_LOG_H

#include <nobrick/err.h>

enum srv_log_level { SRV_LOG_DEBUG, SRV_LOG_INFO, SRV_LOG_WARN, SRV_LOG_ERROR };

/* Sets the lowest level written (default SRV_LOG_INFO). */
void srv_log_set_level(enum srv_log_level level);
/* "debug", "info", "warn", "error"; NB_EINVAL for others. */
NB_MUST_CHECK enum nb_err srv_log_parse_level(const char *name, enum srv_log_level *out);
void srv_log(enum srv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
