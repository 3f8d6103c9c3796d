/*
 * file.c -- the `file` source plugin: serve a JSON model document from a
 * local file and republish it whenever the file changes.
 *
 *     source catalog {
 *         plugin        file;
 *         path          /etc/xdsd/services.json;   # required
 *         poll_interval 1s;                        # default 1s
 *         max_size      64m;                       # default 64m
 *     }
 *
 * Why it looks the way it does: operators change such files in every
 * possible way -- in-place writes, editors that write a temporary file and
 * rename it over the original, config management that deletes and recreates,
 * Kubernetes ConfigMaps that swap a `..data` symlink.  Watching the file's
 * inode would lose track after the first rename, so the plugin watches the
 * file's DIRECTORY with inotify and filters events on the file's basename.
 * Namespace events on other names in that directory (create, delete, rename)
 * trigger a cheap stat() comparison, which is what catches a symlink swap.
 *
 * A hit does not read the file at once: it (re)starts a short debounce timer
 * (DEBOUNCE_MS), so a file that is being written is read once the writes
 * settle instead of half-written.  Independently, a timer fires every
 * poll_interval, stat()s the path and reloads when (dev, inode, size, mtime
 * in ns) changed.  That is the only mechanism when inotify is unavailable
 * (inotify_init failed, the watch could not be added, network file systems
 * that do not report remote changes) and the safety net otherwise.  A watch
 * that could not be added (the directory does not exist yet) or that went
 * away (the directory was deleted or moved) is retried on every poll tick.
 * A poll tick that finds a file modified less than DEBOUNCE_MS ago defers
 * the read by DEBOUNCE_MS too.  Limitation: when the path is a symlink into
 * another directory, in-place writes to the target are seen by polling only.
 *
 * Reloading reads the whole file with plain blocking read()s -- it is local
 * and bounded by max_size -- and hands it to the core with api->publish()
 * unless the bytes are identical to what the core already holds (a 64-bit
 * hash plus the length is kept, not the bytes).  A refused document is not
 * remembered as published, so any later change is offered again (the same
 * refused bytes are not offered again on a mere touch).  After a
 * failure (read error or refused document) the next good read is always
 * published, even when it equals the last accepted one, so the core learns
 * that the source has recovered.  Failures are reported with api->failed()
 * once per distinct reason, not on every poll tick.
 *
 * Environment: XDSD_FILE_NO_INOTIFY=1 (any non-empty value other than "0")
 * disables inotify, leaving the poll_interval timer as the only change
 * detection.  Integration tests use it to exercise the fallback path; an
 * operator can use it for file systems where inotify misbehaves.
 *
 * The host hands over a zeroed conf struct, so poll_interval 0 and
 * max_size 0 cannot be told from "not set": both mean the default.
 *
 * All state lives in the per-instance struct: several `source` blocks can
 * use this plugin at the same time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "xdsd_plugin.h"

#define FILE_PLUGIN_VERSION "1.0.0"

#define DEFAULT_POLL_MS  1000
#define DEFAULT_MAX_SIZE ((int64_t)64 * 1024 * 1024)
#define DEBOUNCE_MS      50
#define REASON_LEN       512

/* Filled by the host from the directive table below. */
typedef struct {
    char *path;            /* borrowed from the host; required */
    int64_t poll_interval; /* ms; 0 = not set */
    int64_t max_size;      /* bytes; 0 = not set */
} file_conf_t;

/* What stat() said about the path.  err != 0: stat/open failed with it. */
typedef struct {
    int err;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id_t;

typedef struct {
    const xdsd_host_api_t *api; /* borrowed */
    xdsd_source_t *src;         /* borrowed */
    const char *path;           /* borrowed from the conf */
    char *dir;                  /* owned: directory part of path */
    char *base;                 /* owned: last component of path */
    int64_t poll_ms;
    int64_t max_size;

    int ifd; /* inotify fd, -1 when not used */
    int wd;  /* watch on dir, -1 when not (yet) established */
    int watch_err_logged;

    struct event *ev_inotify; /* owned */
    struct event *ev_debounce;
    struct event *ev_poll;
    int pending_reload; /* debounce must read the file, not just stat it */

    file_id_t seen; /* identity at the last reload attempt */

    int have_published; /* the core holds a document of ours */
    uint64_t pub_hash;
    size_t pub_len;
    int have_refused; /* the last publish was refused (and what it was) */
    uint64_t ref_hash;
    size_t ref_len;
    int core_failing; /* the core's last news from us was a failure */
    char last_reason[REASON_LEN];
} file_state_t;

static int file_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                       void **state, char *err, size_t errlen);
static int file_start(void *state, char *err, size_t errlen);
static void file_destroy(void *state);

static const xdsd_directive_t file_directives[] = {
    {"path", XDSD_ARG_PATH, offsetof(file_conf_t, path), XDSD_DIRECTIVE_REQUIRED},
    {"poll_interval", XDSD_ARG_DURATION, offsetof(file_conf_t, poll_interval), 0},
    {"max_size", XDSD_ARG_SIZE, offsetof(file_conf_t, max_size), 0},
    {NULL, 0, 0, 0},
};

XDSD_PLUGIN_EXPORT const xdsd_plugin_t xdsd_plugin_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "file",
    .version = FILE_PLUGIN_VERSION,
    .directives = file_directives,
    .conf_size = sizeof(file_conf_t),
    .create = file_create,
    .start = file_start,
    .destroy = file_destroy,
};

/* Content hash for "did it change": XXH3-64 (xxhash's header, inlined). */
static uint64_t content_hash(const char *p, size_t len)
{
    return XXH3_64bits(p, len);
}

static struct timeval ms_to_tv(int64_t ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

static void id_from_stat(file_id_t *id, const struct stat *st)
{
    memset(id, 0, sizeof(*id));
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
}

static void id_from_errno(file_id_t *id, int err)
{
    memset(id, 0, sizeof(*id));
    id->err = err;
}

static int id_equal(const file_id_t *a, const file_id_t *b)
{
    if (a->err || b->err)
        return a->err == b->err;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Tell the core that a refresh failed, once per distinct reason. */
static void report_failure(file_state_t *st, const char *reason)
{
    if (st->core_failing && strcmp(st->last_reason, reason) == 0)
        return;
    snprintf(st->last_reason, sizeof(st->last_reason), "%s", reason);
    st->core_failing = 1;
    st->have_refused = 0;
    st->api->failed(st->src, reason);
}

static void report_errno(file_state_t *st, int err)
{
    char reason[REASON_LEN];
    snprintf(reason, sizeof(reason), "%s: %s", st->path, strerror(err));
    report_failure(st, reason);
}

/* Read the whole file into a malloc'd buffer (*out, owned by the caller),
 * refusing non-regular files and anything over max_size.  Blocking, but the
 * file is local.  On failure writes the reason into reason and returns
 * XDSD_ERROR; st->seen is updated either way. */
static int read_file(file_state_t *st, char **out, size_t *outlen, char *reason, size_t rlen)
{
    struct stat sb;
    char *buf = NULL;
    size_t len = 0, cap;
    int fd, err;

    /* O_NONBLOCK: opening a FIFO must not hang the event loop. */
    fd = open(st->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        err = errno;
        id_from_errno(&st->seen, err);
        snprintf(reason, rlen, "%s: %s", st->path, strerror(err));
        return XDSD_ERROR;
    }
    if (fstat(fd, &sb) != 0) {
        err = errno;
        id_from_errno(&st->seen, err);
        snprintf(reason, rlen, "%s: %s", st->path, strerror(err));
        goto failed;
    }
    id_from_stat(&st->seen, &sb);
    if (!S_ISREG(sb.st_mode)) {
        snprintf(reason, rlen, "%s: not a regular file", st->path);
        goto failed;
    }
    if ((int64_t)sb.st_size > st->max_size) {
        snprintf(reason, rlen, "%s: file is %" PRId64 " bytes, over max_size %" PRId64, st->path,
                 (int64_t)sb.st_size, st->max_size);
        goto failed;
    }

    /* The file may grow between fstat and read: read until EOF, but never
     * more than max_size + 1 bytes. */
    cap = (size_t)sb.st_size + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        snprintf(reason, rlen, "%s: %s", st->path, strerror(ENOMEM));
        goto failed;
    }
    for (;;) {
        ssize_t n;
        if (len == cap) {
            size_t ncap = cap * 2;
            char *nbuf;
            if (ncap > (size_t)st->max_size + 1)
                ncap = (size_t)st->max_size + 1;
            if (ncap <= len) {
                snprintf(reason, rlen,
                         "%s: file is more than %" PRId64 " bytes, over max_size %" PRId64,
                         st->path, st->max_size, st->max_size);
                goto failed;
            }
            nbuf = realloc(buf, ncap);
            if (nbuf == NULL) {
                snprintf(reason, rlen, "%s: %s", st->path, strerror(ENOMEM));
                goto failed;
            }
            buf = nbuf;
            cap = ncap;
        }
        n = read(fd, buf + len, cap - len);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(reason, rlen, "%s: %s", st->path, strerror(errno));
            goto failed;
        }
        len += (size_t)n;
    }
    close(fd);
    *out = buf;
    *outlen = len;
    return XDSD_OK;

failed:
    free(buf);
    close(fd);
    return XDSD_ERROR;
}

/* The file still holds what the core accepted: a successful refresh for the
 * source's health and staleness (ABI 1.1 hosts). */
static void report_unchanged(file_state_t *st)
{
    if (st->have_published && !st->core_failing && st->last_reason[0] == '\0' &&
        st->api->abi_minor >= 1 && st->api->unchanged)
        st->api->unchanged(st->src);
}

/* Read the file and publish it unless the core already holds these bytes. */
static void reload(file_state_t *st)
{
    char reason[REASON_LEN];
    char *buf = NULL;
    size_t len = 0;
    uint64_t h;
    int rc;

    if (read_file(st, &buf, &len, reason, sizeof(reason)) != XDSD_OK) {
        report_failure(st, reason);
        return;
    }
    h = content_hash(buf, len);

    if (!st->core_failing && st->have_published && h == st->pub_hash && len == st->pub_len) {
        st->api->log(st->src, XDSD_LOG_DEBUG, "%s: unchanged (%zu bytes)", st->path, len);
        report_unchanged(st);
        goto done;
    }
    if (st->core_failing && st->have_refused && h == st->ref_hash && len == st->ref_len) {
        st->api->log(st->src, XDSD_LOG_DEBUG, "%s: unchanged since it was refused", st->path);
        goto done;
    }

    rc = st->api->publish(st->src, buf, len, st->path);
    if (rc == XDSD_OK) {
        st->have_published = 1;
        st->pub_hash = h;
        st->pub_len = len;
        st->have_refused = 0;
        st->core_failing = 0;
        st->last_reason[0] = '\0';
    } else {
        /* The core has logged why.  Remember only that these bytes were
         * refused, so a touch does not repeat the error but any change is
         * offered again. */
        st->have_refused = 1;
        st->ref_hash = h;
        st->ref_len = len;
        st->core_failing = 1;
        st->last_reason[0] = '\0';
    }

done:
    free(buf);
}

/* Arm the debounce timer; restart postpones one that is already pending. */
static void schedule_debounce(file_state_t *st, int restart)
{
    struct timeval tv = ms_to_tv(DEBOUNCE_MS);

    if (!restart && evtimer_pending(st->ev_debounce, NULL))
        return;
    evtimer_add(st->ev_debounce, &tv);
}

/* stat() the path and reload when its identity changed since the last
 * reload attempt.  With defer_fresh, a file modified less than DEBOUNCE_MS
 * ago is probably still being written: read it after the debounce delay. */
static void check_identity(file_state_t *st, int defer_fresh)
{
    struct stat sb;
    struct timespec now;
    file_id_t id;
    int64_t age_ms;

    if (stat(st->path, &sb) == 0)
        id_from_stat(&id, &sb);
    else
        id_from_errno(&id, errno);
    if (id_equal(&id, &st->seen)) {
        report_unchanged(st);
        return;
    }
    if (id.err) {
        st->seen = id;
        report_errno(st, id.err);
        return;
    }
    if (defer_fresh && clock_gettime(CLOCK_REALTIME, &now) == 0) {
        age_ms = (int64_t)(now.tv_sec - sb.st_mtim.tv_sec) * 1000 +
                 (now.tv_nsec - sb.st_mtim.tv_nsec) / 1000000;
        if (age_ms >= 0 && age_ms < DEBOUNCE_MS) {
            st->pending_reload = 1;
            schedule_debounce(st, 0);
            return;
        }
    }
    reload(st);
}

/* Try to (re)establish the directory watch.  Logs the first failure at
 * notice level (polling carries on), and the recovery at info. */
static void add_watch(file_state_t *st)
{
    uint32_t mask = IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                    IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

    if (st->ifd < 0 || st->wd >= 0)
        return;
    st->wd = inotify_add_watch(st->ifd, st->dir, mask);
    if (st->wd < 0) {
        if (!st->watch_err_logged) {
            st->api->log(st->src, XDSD_LOG_NOTICE,
                         "cannot watch directory %s: %s; polling %s every %" PRId64 " ms", st->dir,
                         strerror(errno), st->path, st->poll_ms);
            st->watch_err_logged = 1;
        }
        return;
    }
    if (st->watch_err_logged) {
        st->api->log(st->src, XDSD_LOG_INFO, "watching directory %s again", st->dir);
        st->watch_err_logged = 0;
    }
}

/* Drop the watch after the directory went away or moved; the next poll tick
 * (or debounce) adds it again for whatever is at the path then. */
static void drop_watch(file_state_t *st)
{
    if (st->wd >= 0)
        inotify_rm_watch(st->ifd, st->wd); /* fails harmlessly after IN_IGNORED */
    st->wd = -1;
}

/* Drain the inotify fd.  Events on our name restart the debounce and ask for
 * a full reload; namespace events on other names (a symlink swap) only make
 * sure a stat check happens soon, without postponing a pending one. */
static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
    file_state_t *st = arg;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    const uint32_t ns_events = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;

    (void)what;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        size_t off = 0;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                st->api->log(st->src, XDSD_LOG_WARN, "reading inotify events: %s", strerror(errno));
            return;
        }
        if (n == 0)
            return;
        while (off + sizeof(struct inotify_event) <= (size_t)n) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
            off += sizeof(struct inotify_event) + ev->len;

            if (ev->mask & IN_Q_OVERFLOW) {
                st->pending_reload = 1;
                schedule_debounce(st, 1);
                continue;
            }
            if (ev->wd != st->wd)
                continue; /* a stale watch */
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                drop_watch(st);
                schedule_debounce(st, 0);
                continue;
            }
            if (ev->len == 0)
                continue;
            if (strcmp(ev->name, st->base) == 0) {
                st->pending_reload = 1;
                schedule_debounce(st, 1);
            } else if (ev->mask & ns_events) {
                schedule_debounce(st, 0);
            }
        }
    }
}

/* Writes settled: reload (our name was touched) or stat-check (something
 * else in the directory changed its namespace). */
static void on_debounce(evutil_socket_t fd, short what, void *arg)
{
    file_state_t *st = arg;

    (void)fd;
    (void)what;
    add_watch(st);
    if (st->pending_reload) {
        st->pending_reload = 0;
        reload(st);
    } else {
        check_identity(st, 0);
    }
}

/* Every poll_interval: re-add a missing watch and compare the identity. */
static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    file_state_t *st = arg;

    (void)fd;
    (void)what;
    add_watch(st);
    check_identity(st, 1);
}

static int inotify_disabled_by_env(void)
{
    const char *v = getenv("XDSD_FILE_NO_INOTIFY");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* Validate the conf and allocate the state; no file access. */
static int file_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                       void **state, char *err, size_t errlen)
{
    const file_conf_t *cf = conf;
    file_state_t *st;
    const char *slash;
    size_t dirlen;

    if (api == NULL || api->size < sizeof(xdsd_host_api_t)) {
        snprintf(err, errlen, "host api table too small for this plugin");
        return XDSD_ERROR;
    }
    if (cf->path == NULL || cf->path[0] == '\0') {
        snprintf(err, errlen, "\"path\" is required");
        return XDSD_ERROR;
    }
    slash = strrchr(cf->path, '/');
    if (slash != NULL && slash[1] == '\0') {
        snprintf(err, errlen, "path %s names a directory, not a file", cf->path);
        return XDSD_ERROR;
    }
    if (cf->poll_interval < 0) {
        snprintf(err, errlen, "poll_interval must be greater than 0");
        return XDSD_ERROR;
    }
    if (cf->max_size < 0) {
        snprintf(err, errlen, "max_size must be greater than 0");
        return XDSD_ERROR;
    }

    st = calloc(1, sizeof(*st));
    if (st == NULL)
        goto nomem;
    st->api = api;
    st->src = src;
    st->path = cf->path;
    st->poll_ms = cf->poll_interval > 0 ? cf->poll_interval : DEFAULT_POLL_MS;
    st->max_size = cf->max_size > 0 ? cf->max_size : DEFAULT_MAX_SIZE;
    if ((uint64_t)st->max_size >= SIZE_MAX / 2)
        st->max_size = (int64_t)(SIZE_MAX / 2 - 1);
    st->ifd = -1;
    st->wd = -1;

    if (slash == NULL) {
        st->dir = strdup(".");
        st->base = strdup(cf->path);
    } else {
        dirlen = slash == cf->path ? 1 : (size_t)(slash - cf->path);
        st->dir = strndup(cf->path, dirlen);
        st->base = strdup(slash + 1);
    }
    if (st->dir == NULL || st->base == NULL)
        goto nomem;

    *state = st;
    return XDSD_OK;

nomem:
    if (st != NULL) {
        free(st->dir);
        free(st->base);
        free(st);
    }
    snprintf(err, errlen, "%s", strerror(ENOMEM));
    return XDSD_ERROR;
}

/* Free the events and close the inotify fd; safe to call twice. */
static void stop_events(file_state_t *st)
{
    if (st->ev_inotify != NULL)
        event_free(st->ev_inotify);
    if (st->ev_debounce != NULL)
        event_free(st->ev_debounce);
    if (st->ev_poll != NULL)
        event_free(st->ev_poll);
    st->ev_inotify = st->ev_debounce = st->ev_poll = NULL;
    if (st->ifd >= 0)
        close(st->ifd);
    st->ifd = -1;
    st->wd = -1;
}

/* Set up change detection, then read and publish the file.  A missing or
 * unreadable file is reported with api->failed() and is not an error here:
 * the source simply has no data until the file appears. */
static int file_start(void *state, char *err, size_t errlen)
{
    file_state_t *st = state;
    struct event_base *base = st->api->event_base(st->src);
    struct timeval tv = ms_to_tv(st->poll_ms);

    st->ev_debounce = evtimer_new(base, on_debounce, st);
    st->ev_poll = event_new(base, -1, EV_PERSIST, on_poll, st);
    if (st->ev_debounce == NULL || st->ev_poll == NULL)
        goto failed;

    /* Watch before the first read, so that no change between the two is
     * lost. */
    if (inotify_disabled_by_env()) {
        st->api->log(st->src, XDSD_LOG_NOTICE,
                     "inotify disabled by XDSD_FILE_NO_INOTIFY; polling %s every %" PRId64 " ms",
                     st->path, st->poll_ms);
    } else {
        st->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (st->ifd < 0) {
            st->api->log(st->src, XDSD_LOG_NOTICE,
                         "inotify unavailable (%s); polling %s every %" PRId64 " ms",
                         strerror(errno), st->path, st->poll_ms);
        } else {
            st->ev_inotify = event_new(base, st->ifd, EV_READ | EV_PERSIST, on_inotify, st);
            if (st->ev_inotify == NULL || event_add(st->ev_inotify, NULL) != 0)
                goto failed;
            add_watch(st);
        }
    }
    if (event_add(st->ev_poll, &tv) != 0)
        goto failed;

    reload(st);
    return XDSD_OK;

failed:
    snprintf(err, errlen, "cannot set up events for %s", st->path);
    stop_events(st);
    return XDSD_ERROR;
}

/* Remove all events, close the inotify fd (which drops its watch), free. */
static void file_destroy(void *state)
{
    file_state_t *st = state;

    if (st == NULL)
        return;
    stop_events(st);
    free(st->dir);
    free(st->base);
    free(st);
}
