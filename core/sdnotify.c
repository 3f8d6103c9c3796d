/*
 * sdnotify.c -- systemd's sd_notify protocol without libsystemd, so that
 * `Type=notify` units know when xdsd is really serving (README "Lifecycle").
 *
 * The protocol is one datagram per notification, sent to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or an abstract name written with a
 * leading '@'), holding newline-separated VAR=value assignments.  xdsd
 * sends READY=1 once its listeners are bound and the first snapshot is
 * published, RELOADING=1 / READY=1 around a SIGHUP reload, STOPPING=1 on
 * SIGTERM/SIGINT, and a one-line STATUS= with each of them and after every
 * snapshot, which `systemctl status xdsd` shows.
 *
 * The socket is opened once and datagrams are sent with MSG_DONTWAIT: if the
 * service manager's queue is full the notification is dropped (and logged
 * once) rather than stalling the event loop.  Without NOTIFY_SOCKET every
 * function returns at once.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "log.h"
#include "sdnotify.h"

#define STATUS_MAX 400 /* STATUS= is shown on one line by systemctl */

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addrlen;
static int ready_sent;  /* READY=1 went out for the first snapshot */
static int send_warned; /* a failed send was logged */

void xds_sdnotify_init(void)
{
    const char *env = getenv("NOTIFY_SOCKET");
    if (env == NULL || env[0] == '\0')
        return;

    size_t len = strlen(env);
    memset(&notify_addr, 0, sizeof(notify_addr));
    notify_addr.sun_family = AF_UNIX;
    if ((env[0] != '/' && env[0] != '@') || len < 2 || len >= sizeof(notify_addr.sun_path)) {
        xds_log(XDS_LOG_WARN,
                "NOTIFY_SOCKET \"%s\" is not a socket path or @abstract name, "
                "not notifying the service manager",
                env);
        unsetenv("NOTIFY_SOCKET");
        return;
    }
    memcpy(notify_addr.sun_path, env, len);
    if (env[0] == '@')
        notify_addr.sun_path[0] = '\0'; /* abstract: no trailing NUL counted */
    notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    unsetenv("NOTIFY_SOCKET");

    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (notify_fd < 0)
        xds_log(XDS_LOG_WARN, "cannot create the NOTIFY_SOCKET socket: %s", strerror(errno));
}

void xds_sdnotify_close(void)
{
    if (notify_fd >= 0)
        close(notify_fd);
    notify_fd = -1;
}

/* Send one datagram; a failure is logged once, then only a recovery is. */
static void notify_send(const char *msg, size_t len)
{
    if (notify_fd < 0)
        return;
    ssize_t n = sendto(notify_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)&notify_addr, notify_addrlen);
    if (n < 0) {
        if (!send_warned)
            xds_log(XDS_LOG_WARN, "cannot notify the service manager: %s", strerror(errno));
        send_warned = 1;
        return;
    }
    if (send_warned)
        xds_log(XDS_LOG_NOTICE, "notifying the service manager again");
    send_warned = 0;
}

/* Append "STATUS=<text>" to b, as one line of at most STATUS_MAX bytes. */
static void append_status(xds_buf_t *b, const char *text)
{
    size_t len = strlen(text);
    if (len > STATUS_MAX)
        len = STATUS_MAX;
    xds_buf_appends(b, "STATUS=");
    size_t at = b->len;
    xds_buf_append(b, text, len);
    for (size_t i = at; i < b->len; i++)
        if (b->data[i] == '\n' || b->data[i] == '\r')
            b->data[i] = ' ';
}

/* "serving 4 clusters, 1 listeners; 2/2 sources ok; generation 3" into b.
 * A source is ok when it has data, its last refresh succeeded and it is not
 * stale. */
static void summary(xds_buf_t *b, const xds_cycle_t *c, const xds_snapshot_t *snap)
{
    size_t ok = 0;
    for (size_t i = 0; i < c->nsources; i++) {
        const xds_source_t *s = c->sources[i];
        if (s->doc != NULL && !s->failing && !s->stale)
            ok++;
    }
    if (snap != NULL)
        xds_buf_printf(b, "serving %zu clusters, %zu listeners; ", snap->types[XDS_TYPE_CLUSTERS].n,
                       snap->types[XDS_TYPE_LISTENERS].n);
    else
        xds_buf_appends(b, "no snapshot yet; ");
    xds_buf_printf(b, "%zu/%zu sources ok", ok, c->nsources);
    if (snap != NULL)
        xds_buf_printf(b, "; generation %llu", (unsigned long long)snap->generation);
}

void xds_sdnotify_published(const xds_cycle_t *c, const xds_snapshot_t *snap)
{
    if (notify_fd < 0)
        return;
    xds_buf_t text = {0}, msg = {0};
    summary(&text, c, snap);
    if (!ready_sent)
        xds_buf_appends(&msg, "READY=1\n");
    append_status(&msg, text.data);
    notify_send(msg.data, msg.len);
    ready_sent = 1;
    xds_buf_free(&text);
    xds_buf_free(&msg);
}

void xds_sdnotify_reloading(void)
{
    if (notify_fd < 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    xds_buf_t msg = {0};
    /* MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match this to
     * the reload it asked for; older ones ignore it. */
    if (ready_sent)
        xds_buf_printf(&msg, "RELOADING=1\nMONOTONIC_USEC=%llu\n",
                       (unsigned long long)ts.tv_sec * 1000000ull +
                           (unsigned long long)ts.tv_nsec / 1000ull);
    append_status(&msg, "reloading the configuration");
    notify_send(msg.data, msg.len);
    xds_buf_free(&msg);
}

void xds_sdnotify_reloaded(const xds_cycle_t *c, const char *error)
{
    if (notify_fd < 0)
        return;
    xds_buf_t text = {0}, msg = {0};
    if (error != NULL)
        xds_buf_printf(&text, "reload failed, running configuration kept: %s; ", error);
    else
        xds_buf_appends(&text, "reloaded; ");
    /* What is served right now: the previous configuration's snapshot until
     * the new one's first build, which sends its own STATUS=. */
    xds_snapshot_t *snap = xds_build_current();
    summary(&text, c, snap);
    xds_snapshot_unref(snap);
    if (ready_sent)
        xds_buf_appends(&msg, "READY=1\n");
    append_status(&msg, text.data);
    notify_send(msg.data, msg.len);
    xds_buf_free(&text);
    xds_buf_free(&msg);
}

void xds_sdnotify_stopping(const char *why)
{
    if (notify_fd < 0)
        return;
    xds_buf_t msg = {0};
    xds_buf_appends(&msg, "STOPPING=1\n");
    xds_buf_t text = {0};
    xds_buf_printf(&text, "stopping: %s", why);
    append_status(&msg, text.data);
    notify_send(msg.data, msg.len);
    xds_buf_free(&text);
    xds_buf_free(&msg);
}
