/*
 * log.h -- leveled logging to stderr or an error_log file.  Each line is
 * written with one write(2), so lines from worker threads never interleave.
 */
#ifndef XDS_LOG_H
#define XDS_LOG_H

#include "xdsd.h"

enum {
    XDS_LOG_EMERG = XDSD_LOG_EMERG,
    XDS_LOG_ALERT = XDSD_LOG_ALERT,
    XDS_LOG_CRIT = XDSD_LOG_CRIT,
    XDS_LOG_ERR = XDSD_LOG_ERR,
    XDS_LOG_WARN = XDSD_LOG_WARN,
    XDS_LOG_NOTICE = XDSD_LOG_NOTICE,
    XDS_LOG_INFO = XDSD_LOG_INFO,
    XDS_LOG_DEBUG = XDSD_LOG_DEBUG
};

extern int xds_log_level; /* lines above this level are dropped unformatted */

#define xds_log(level, ...)                                                                        \
    do {                                                                                           \
        if ((level) <= xds_log_level)                                                              \
            xds_log_write((level), __VA_ARGS__);                                                   \
    } while (0)

void xds_log_write(int level, const char *fmt, ...) XDS_PRINTF(2, 3);
void xds_log_vwrite(int level, const char *fmt, va_list ap);

/* "emerg" ... "debug" -> level, or -1. */
int xds_log_level_parse(const char *name);
const char *xds_log_level_name(int level);

/* Send log lines to path (append) instead of stderr; "stderr" resets.
 * Returns XDS_OK or XDS_ERROR with err set.  Called on the main thread
 * only; the old descriptor is closed after the switch. */
int xds_log_open(const char *path, char *err, size_t errlen);

#endif
