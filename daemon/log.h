/*
 * log: the daemon's log lines, "<level> <message>" on stderr, one write(2) per line
 * so lines of the loop and writer threads never interleave (journald reads them as
 * they are). Never pass a person value to these functions.
 */
#ifndef WM_DAEMON_LOG_H
#define WM_DAEMON_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Set the lowest level that is written (default LOG_INFO). Call before threads start. */
void log_set_level(enum log_level level);

/* The current level. */
enum log_level log_get_level(void);

/* Parse "debug", "info", "warn" or "error". Returns the level or -1. */
int log_level_parse(const char *s);

/* The name of a level ("info", ...). Static; never NULL. */
const char *log_level_name(enum log_level level);

/* 1 when lines of this level are written. Lets callers skip formatting work. */
int log_enabled(enum log_level level);

/* Write "<level> <formatted message>\n" to stderr when level is enabled. A message
 * longer than 1 KiB is cut. Thread-safe. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write len bytes of ready-made log lines (each already "<level> ...\n") to stderr in
 * as few write(2) calls as possible. Thread-safe. */
void log_write_raw(const char *data, unsigned long len);

#endif /* WM_DAEMON_LOG_H */
