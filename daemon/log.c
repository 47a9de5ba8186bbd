/*
 * log: formats a line into a stack buffer and hands it to stderr with one write(2),
 * which keeps lines whole when the loop and writer threads log at the same time.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum log_level log_level_current = LOG_INFO;

static const char *const log_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    log_level_current = level;
}

enum log_level log_get_level(void)
{
    return log_level_current;
}

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, log_names[i]) == 0)
            return i;
    }
    return -1;
}

const char *log_level_name(enum log_level level)
{
    if ((int)level < 0 || (int)level > 3)
        return "error";
    return log_names[level];
}

int log_enabled(enum log_level level)
{
    return level >= log_level_current;
}

void log_write_raw(const char *data, unsigned long len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* stderr gone: nothing sensible left to do */
        }
        data += n;
        len -= (unsigned long)n;
    }
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char line[1100];
    va_list ap;
    int n, m;

    if (!log_enabled(level))
        return;
    n = snprintf(line, sizeof(line), "%s ", log_level_name(level));
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    if ((size_t)(n + m) > sizeof(line) - 2)
        m = (int)sizeof(line) - 2 - n;
    /* a message must stay one line for journald */
    for (int i = n; i < n + m; i++) {
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    }
    line[n + m] = '\n';
    log_write_raw(line, (unsigned long)(n + m + 1));
}
