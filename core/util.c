/*
 * util.c -- allocation wrappers that treat OOM as fatal, the growable byte
 * buffer, and whole-file reads.  xdsd does not try to limp on after malloc
 * fails: a control plane that half-works is worse than one that restarts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xdsd.h"

static void xds_oom(size_t n)
{
    char msg[96];
    int len = snprintf(msg, sizeof(msg), "xdsd: [emerg] out of memory allocating %zu bytes\n", n);
    if (write(STDERR_FILENO, msg, (size_t)len) < 0) {
        /* nothing left to do */
    }
    abort();
}

void *xds_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        xds_oom(n);
    return p;
}

void *xds_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        xds_oom(n * size);
    return p;
}

void *xds_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        xds_oom(n);
    return q;
}

char *xds_strndup(const char *s, size_t n)
{
    char *d = xds_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *xds_strdup(const char *s)
{
    return xds_strndup(s, strlen(s));
}

void xds_buf_reserve(xds_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = xds_realloc(b->data, cap);
    b->cap = cap;
}

void xds_buf_append(xds_buf_t *b, const void *p, size_t n)
{
    xds_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void xds_buf_appends(xds_buf_t *b, const char *s)
{
    xds_buf_append(b, s, strlen(s));
}

void xds_buf_printf(xds_buf_t *b, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    xds_buf_reserve(b, 64);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        xds_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, again);
    }
    va_end(again);
    if (n > 0)
        b->len += (size_t)n;
    else
        b->data[b->len] = '\0';
}

void xds_buf_free(xds_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *xds_buf_detach(xds_buf_t *b, size_t *len)
{
    if (b->data == NULL)
        xds_buf_reserve(b, 0), b->data[0] = '\0';
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

char *xds_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    xds_buf_t b = {0};
    xds_buf_reserve(&b, (size_t)st.st_size + 1);
    for (;;) {
        xds_buf_reserve(&b, 4096);
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            close(fd);
            xds_buf_free(&b);
            return NULL;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
    }
    close(fd);
    b.data[b.len] = '\0';
    return xds_buf_detach(&b, len);
}
