/*
 * source.c -- source instances and the host API handed to plugins.
 *
 * publish() parses the document right away (the plugin's buffer stays the
 * plugin's), checks its shape against the model schema, and only then
 * replaces the source's last good document: a half-written file or a
 * malformed reply is refused with its line and column, and what was being
 * served stays (fail-static).  failed() records health and logs only state
 * changes, so a source retrying every second does not flood the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "model.h"
#include "source.h"

#define XDS_MODEL_MAX_DEPTH   64
#define XDS_FAIL_LOG_INTERVAL 10 /* seconds, and at most */
#define XDS_FAIL_LOG_BURST    5  /* failure lines of one source in that window */

static struct event_base *main_base;
static void (*on_change)(void);

void xds_source_set_event_base(struct event_base *base)
{
    main_base = base;
}

void xds_source_set_change_handler(void (*cb)(void))
{
    on_change = cb;
}

static void api_log(xdsd_source_t *src, int level, const char *fmt, ...)
{
    if (level > xds_log_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xds_log_write(level, "source \"%s\": %s", src->name, msg);
}

static struct event_base *api_event_base(xdsd_source_t *src)
{
    (void)src;
    return main_base;
}

static void on_stale(evutil_socket_t fd, short what, void *arg)
{
    xds_source_t *s = arg;
    (void)fd;
    (void)what;
    s->stale = 1;
    if (s->last_ok)
        xds_log(XDS_LOG_WARN, "source \"%s\": data is stale: no successful refresh for %lld s",
                s->name, (long long)(time(NULL) - s->last_ok));
    else
        xds_log(XDS_LOG_WARN, "source \"%s\": still no successful refresh after %lld ms", s->name,
                (long long)s->stale_after_ms);
}

static void arm_stale_timer(xds_source_t *s)
{
    if (s->stale_ev) {
        struct timeval tv = {s->stale_after_ms / 1000, (s->stale_after_ms % 1000) * 1000};
        evtimer_add(s->stale_ev, &tv);
    }
}

/* A refresh succeeded (new document or nothing new). */
static void set_ok(xds_source_t *s)
{
    if (s->failing)
        xds_log(XDS_LOG_NOTICE, "source \"%s\": recovered after %u failure%s", s->name, s->failures,
                s->failures == 1 ? "" : "s");
    if (s->stale)
        xds_log(XDS_LOG_NOTICE, "source \"%s\": data is fresh again", s->name);
    s->failing = 0;
    s->refused = 0;
    s->failures = 0;
    s->stale = 0;
    s->refreshes_total++;
    s->last_ok = time(NULL);
    arm_stale_timer(s);
}

static void set_failing(xds_source_t *s, const char *reason)
{
    s->failures++;
    s->failures_total++;
    s->last_error_at = time(NULL);
    /* Log the change into failing, and each new reason while failing --
     * but at most XDS_FAIL_LOG_BURST lines per XDS_FAIL_LOG_INTERVAL
     * seconds, so a source that fails in a new way on every retry cannot
     * flood the log.  The same reason again is never logged. */
    time_t now = time(NULL);
    if (now - s->fail_log_window >= XDS_FAIL_LOG_INTERVAL) {
        s->fail_log_window = now;
        s->fail_logs = 0;
    }
    if (!s->failing || s->last_error == NULL || strcmp(s->last_error, reason) != 0) {
        if (s->fail_logs < XDS_FAIL_LOG_BURST)
            xds_log(XDS_LOG_ERR, "source \"%s\": %s%s", s->name, reason,
                    s->doc ? " (still serving its last good document)" : "");
        else if (s->fail_logs == XDS_FAIL_LOG_BURST)
            xds_log(XDS_LOG_ERR,
                    "source \"%s\": failing in a new way on every try (%u consecutive failures); "
                    "not logging its errors for %d s (see /sources)",
                    s->name, s->failures, XDS_FAIL_LOG_INTERVAL);
        s->fail_logs++;
    }
    s->failing = 1;
    free(s->last_error);
    s->last_error = xds_strdup(reason);
}

static int api_publish(xdsd_source_t *s, const char *json, size_t len, const char *origin)
{
    char err[XDS_ERRLEN], reason[XDS_ERRLEN + 256];

    if ((int64_t)len > s->max_document_size) {
        snprintf(reason, sizeof(reason), "%s: document is %zu bytes, over max_document_size %lld",
                 origin ? origin : "document", len, (long long)s->max_document_size);
        set_failing(s, reason);
        s->refused = 1;
        return XDSD_ERROR;
    }
    xj_t *doc = xj_parse(json, len, XDS_MODEL_MAX_DEPTH, err, sizeof(err));
    if (doc == NULL || xds_model_check_document_ex(doc, s->strict, s->extra_names, s->nextra, err,
                                                   sizeof(err)) != XDS_OK) {
        snprintf(reason, sizeof(reason), "%s: %s", origin ? origin : "document", err);
        set_failing(s, reason);
        s->refused = 1;
        xj_free(doc);
        return XDSD_ERROR;
    }
    set_ok(s);
    xds_doc_unref(s->docref);
    s->docref = xds_doc_new(doc);
    s->doc = doc;
    s->updates++;
    xds_log(XDS_LOG_INFO, "source \"%s\": accepted %s (%zu bytes, update %llu)", s->name,
            origin ? origin : "document", len, (unsigned long long)s->updates);
    if (on_change)
        on_change();
    return XDSD_OK;
}

static void api_failed(xdsd_source_t *s, const char *reason)
{
    set_failing(s, reason);
    s->refused = 0;
}

static const char *api_name(xdsd_source_t *s)
{
    return s->name;
}

static void api_unchanged(xdsd_source_t *s)
{
    set_ok(s);
}

static const xdsd_host_api_t host_api = {
    .size = sizeof(xdsd_host_api_t),
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .log = api_log,
    .event_base = api_event_base,
    .publish = api_publish,
    .failed = api_failed,
    .name = api_name,
    .unchanged = api_unchanged,
};

static const xds_command_t source_commands[] = {
    {"required", XDS_CONF_TAKE1, xds_conf_set_flag, offsetof(xds_source_t, required), NULL},
    {"stale_after", XDS_CONF_TAKE1, xds_conf_set_msec, offsetof(xds_source_t, stale_after_ms),
     NULL},
    {"max_document_size", XDS_CONF_TAKE1, xds_conf_set_size,
     offsetof(xds_source_t, max_document_size), NULL},
    {NULL, 0, NULL, 0, NULL},
};

/* The host's own directives in a source block; the plugin's are left alone. */
static int host_directives_apply(xds_source_t *s, const xds_cnode_t *block, char *err,
                                 size_t errlen)
{
    xds_cnode_t sub = *block;
    sub.children = xds_calloc(block->nchildren ? block->nchildren : 1, sizeof(xds_cnode_t));
    sub.nchildren = 0;
    for (size_t i = 0; i < block->nchildren; i++)
        if (xds_source_directive(block->children[i].name) &&
            strcmp(block->children[i].name, "plugin") != 0)
            sub.children[sub.nchildren++] = block->children[i];
    int rc = xds_conf_apply(&sub, source_commands, s, NULL, err, errlen);
    free(sub.children);
    return rc;
}

xds_source_t *xds_source_create(const xds_cnode_t *block, xds_plugin_t *plugin, const char *prefix,
                                int strict, char *err, size_t errlen)
{
    char perr[XDS_ERRLEN];
    xds_source_t *s = xds_calloc(1, sizeof(*s));
    s->name = xds_strdup(block->args[0]);
    s->plugin = plugin;
    s->strict = strict;
    s->required = 1;
    s->max_document_size = 64 * 1024 * 1024;
    if (host_directives_apply(s, block, err, errlen) != XDS_OK)
        goto failed;
    s->conf = xds_plugin_conf_parse(plugin, block, prefix, err, errlen);
    if (s->conf == NULL)
        goto failed;
    perr[0] = '\0';
    if (plugin->p->create(&host_api, s, s->conf, &s->state, perr, sizeof(perr)) != XDSD_OK) {
        snprintf(err, errlen, "%s:%u: source \"%s\": plugin \"%s\" failed to create it: %s",
                 block->file, block->line, s->name, plugin->name,
                 perr[0] ? perr : "(no reason given)");
        s->state = NULL;
        goto failed;
    }
    return s;

failed:
    xds_source_destroy(s);
    return NULL;
}

int xds_source_start(xds_source_t *s, char *err, size_t errlen)
{
    char perr[XDS_ERRLEN];
    perr[0] = '\0';
    if (s->plugin->p->start(s->state, perr, sizeof(perr)) != XDSD_OK) {
        snprintf(err, errlen, "source \"%s\": plugin \"%s\" failed to start: %s", s->name,
                 s->plugin->name, perr[0] ? perr : "(no reason given)");
        return XDS_ERROR;
    }
    s->started = 1;
    if (s->stale_after_ms > 0) {
        s->stale_ev = evtimer_new(main_base, on_stale, s);
        arm_stale_timer(s);
    }
    return XDS_OK;
}

void xds_source_inherit(xds_source_t *to, xds_source_t *from)
{
    if (to->doc || from->doc == NULL)
        return;
    to->doc = from->doc;
    to->docref = from->docref;
    from->doc = NULL;
    from->docref = NULL;
    to->updates = from->updates;
    to->last_ok = from->last_ok;
}

void xds_source_destroy(xds_source_t *s)
{
    if (s == NULL)
        return;
    if (s->stale_ev)
        event_free(s->stale_ev);
    if (s->state)
        s->plugin->p->destroy(s->state);
    if (s->conf)
        xds_plugin_conf_free(s->plugin, s->conf);
    xds_doc_unref(s->docref);
    free(s->last_error);
    free(s->name);
    free(s);
}
