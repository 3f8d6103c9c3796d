/*
 * xdsd.h -- definitions every core file and compiled-in module shares:
 * return codes, the version string, log levels and a growable byte buffer.
 */
#ifndef XDSD_H
#define XDSD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "xdsd_plugin.h"

#define XDSD_VERSION "0.1.0"

/* One return convention everywhere; NULL for pointer failures. */
#define XDS_OK    0
#define XDS_ERROR (-1)
#define XDS_AGAIN (-2)

#define XDS_ERRLEN 512 /* size of the error buffers passed around */

#define xds_nelems(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define XDS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define XDS_UNUSED       __attribute__((unused))
#else
#define XDS_PRINTF(f, a)
#define XDS_UNUSED
#endif

/* Growable byte buffer.  Owns data; always NUL-terminated when data != NULL. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} xds_buf_t;

/* All of these abort the process on allocation failure (xdsd treats OOM as
 * fatal, like Redis); they never return an error. */
void xds_buf_reserve(xds_buf_t *b, size_t extra);
void xds_buf_append(xds_buf_t *b, const void *p, size_t n);
void xds_buf_appends(xds_buf_t *b, const char *s);
void xds_buf_printf(xds_buf_t *b, const char *fmt, ...) XDS_PRINTF(2, 3);
void xds_buf_free(xds_buf_t *b);
/* Hand the data over to the caller (who frees it) and reset b. */
char *xds_buf_detach(xds_buf_t *b, size_t *len);

void *xds_malloc(size_t n);
void *xds_calloc(size_t n, size_t size);
void *xds_realloc(void *p, size_t n);
char *xds_strdup(const char *s);
char *xds_strndup(const char *s, size_t n);

/* Read a whole file into a NUL-terminated malloc'd buffer.  Returns NULL and
 * writes "PATH: strerror" into err on failure.  Blocking: for conf files and
 * local data files only. */
char *xds_read_file(const char *path, size_t *len, char *err, size_t errlen);

#endif /* XDSD_H */
