/*
 * log.c -- leveled log lines to stderr or the error_log file.  A line is
 * formatted into a stack buffer and written with a single write(2) on an
 * O_APPEND descriptor, so concurrent lines from workers never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int xds_log_level = XDS_LOG_INFO;

/* Lines always go to fd 2; error_log is dup2()ed onto it, so a switch is
 * atomic for writers on other threads.  orig_stderr keeps the original
 * stream for "error_log stderr" after a file was in use. */
static int orig_stderr = -1;

static const char *const level_names[] = {"emerg", "alert",  "crit", "error",
                                          "warn",  "notice", "info", "debug"};

int xds_log_level_parse(const char *name)
{
    for (size_t i = 0; i < xds_nelems(level_names); i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    if (strcmp(name, "err") == 0)
        return XDS_LOG_ERR;
    if (strcmp(name, "warning") == 0)
        return XDS_LOG_WARN;
    return -1;
}

const char *xds_log_level_name(int level)
{
    if (level < 0 || (size_t)level >= xds_nelems(level_names))
        return "?";
    return level_names[level];
}

void xds_log_vwrite(int level, const char *fmt, va_list ap)
{
    char line[4096];
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, xds_log_level_name(level));
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated */
    line[len++] = '\n';
    if (write(STDERR_FILENO, line, len) < 0) {
        /* nowhere to report it */
    }
}

void xds_log_write(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xds_log_vwrite(level, fmt, ap);
    va_end(ap);
}

int xds_log_open(const char *path, char *err, size_t errlen)
{
    int fd;
    if (strcmp(path, "stderr") == 0) {
        if (orig_stderr < 0)
            return XDS_OK;
        fd = orig_stderr;
    } else {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open error_log \"%s\": %s", path, strerror(errno));
            return XDS_ERROR;
        }
        if (orig_stderr < 0)
            orig_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    }
    if (dup2(fd, STDERR_FILENO) < 0) {
        snprintf(err, errlen, "cannot redirect log to \"%s\": %s", path, strerror(errno));
        if (fd != orig_stderr)
            close(fd);
        return XDS_ERROR;
    }
    if (fd != orig_stderr)
        close(fd);
    return XDS_OK;
}
