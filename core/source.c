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

#include "conf.h"
#include "log.h"
#include "model.h"
#include "source.h"

#define XDS_MODEL_MAX_DEPTH 64

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

static void set_failing(xds_source_t *s, const char *reason)
{
    s->failures++;
    if (!s->failing || s->last_error == NULL || strcmp(s->last_error, reason) != 0)
        xds_log(XDS_LOG_ERR, "source \"%s\": %s%s", s->name, reason,
                s->doc ? " (still serving its last good document)" : "");
    s->failing = 1;
    free(s->last_error);
    s->last_error = xds_strdup(reason);
}

static int api_publish(xdsd_source_t *s, const char *json, size_t len, const char *origin)
{
    char err[XDS_ERRLEN], reason[XDS_ERRLEN + 256];

    xj_t *doc = xj_parse(json, len, XDS_MODEL_MAX_DEPTH, err, sizeof(err));
    if (doc == NULL) {
        snprintf(reason, sizeof(reason), "%s: %s", origin ? origin : "document", err);
        set_failing(s, reason);
        return XDSD_ERROR;
    }
    if (xds_model_check_document(doc, s->strict, err, sizeof(err)) != XDS_OK) {
        snprintf(reason, sizeof(reason), "%s: %s", origin ? origin : "document", err);
        set_failing(s, reason);
        xj_free(doc);
        return XDSD_ERROR;
    }
    if (s->failing)
        xds_log(XDS_LOG_NOTICE, "source \"%s\": recovered after %u failure%s", s->name, s->failures,
                s->failures == 1 ? "" : "s");
    s->failing = 0;
    s->failures = 0;
    xj_free(s->doc);
    s->doc = doc;
    s->updates++;
    s->last_ok = time(NULL);
    xds_log(XDS_LOG_INFO, "source \"%s\": accepted %s (%zu bytes, update %llu)", s->name,
            origin ? origin : "document", len, (unsigned long long)s->updates);
    if (on_change)
        on_change();
    return XDSD_OK;
}

static void api_failed(xdsd_source_t *s, const char *reason)
{
    set_failing(s, reason);
}

static const char *api_name(xdsd_source_t *s)
{
    return s->name;
}

static const xdsd_host_api_t host_api = {
    .size = sizeof(xdsd_host_api_t),
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .log = api_log,
    .event_base = api_event_base,
    .publish = api_publish,
    .failed = api_failed,
    .name = api_name,
};

xds_source_t *xds_source_create(const xds_cnode_t *block, xds_plugin_t *plugin, const char *prefix,
                                int strict, char *err, size_t errlen)
{
    char perr[XDS_ERRLEN];
    xds_source_t *s = xds_calloc(1, sizeof(*s));
    s->name = xds_strdup(block->args[0]);
    s->plugin = plugin;
    s->strict = strict;
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
    return XDS_OK;
}

void xds_source_destroy(xds_source_t *s)
{
    if (s == NULL)
        return;
    if (s->state)
        s->plugin->p->destroy(s->state);
    if (s->conf)
        xds_plugin_conf_free(s->plugin, s->conf);
    xj_free(s->doc);
    free(s->last_error);
    free(s->name);
    free(s);
}
