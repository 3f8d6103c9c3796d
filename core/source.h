/*
 * source.h -- source instances: one per `source NAME { }` block.  A source
 * owns its plugin state and its last good document; the host API that
 * plugins call lives here.
 */
#ifndef XDS_SOURCE_H
#define XDS_SOURCE_H

#include <time.h>

#include "json.h"
#include "plugin.h"

struct xds_cnode;
struct event_base;

struct xdsd_source {
    char *name;           /* owned */
    xds_plugin_t *plugin; /* borrowed from the cycle */
    void *conf;           /* plugin conf struct, owned */
    void *state;          /* plugin instance, owned by the plugin */
    int started;
    int strict;                     /* unknown model collections are errors */
    const char *const *extra_names; /* collections generator modules read (the cycle's) */
    size_t nextra;
    int required;              /* `required on|off;`: the first snapshot waits for it */
    int64_t stale_after_ms;    /* `stale_after`: 0 = never stale */
    int64_t max_document_size; /* `max_document_size`: larger documents are refused */

    xj_t *doc;              /* last good document (docref's root); NULL until the first publish */
    struct xds_doc *docref; /* holds doc; snapshots built from it hold it too */
    uint64_t updates;       /* accepted publishes */

    /* health */
    int failing;       /* the last refresh failed */
    int refused;       /* ... because the core refused its document (bad data) */
    unsigned failures; /* consecutive failed refreshes */
    uint64_t refreshes_total, failures_total;
    char *last_error; /* owned; kept after recovery, for the record */
    time_t last_error_at;
    time_t fail_log_window; /* start of the current failure-logging window */
    unsigned fail_logs;     /* failure lines logged in it */
    time_t last_ok;         /* wall clock of the last successful refresh, 0 = never */
    int stale;              /* no success for stale_after */
    struct event *stale_ev;
};
typedef struct xdsd_source xds_source_t;

/* Create an instance from its block: find `plugin NAME;` (the plugin comes
 * from lookup), parse the plugin's directives, call its create().  Returns
 * NULL with err set ("FILE:LINE: ..." or "source \"x\": plugin \"file\": ..."). */
xds_source_t *xds_source_create(const struct xds_cnode *block, xds_plugin_t *plugin,
                                const char *prefix, int strict, char *err, size_t errlen);
/* Carry a reloaded source's document and health over from the instance it
 * replaces (same name and plugin) until it publishes its own. */
void xds_source_inherit(xds_source_t *to, xds_source_t *from);

/* Begin work (plugin start).  XDS_ERROR with err set. */
int xds_source_start(xds_source_t *s, char *err, size_t errlen);
void xds_source_destroy(xds_source_t *s);

/* The main event loop that plugins register on; set once at startup. */
void xds_source_set_event_base(struct event_base *base);
/* Called (on the main thread) after any source's document changed. */
void xds_source_set_change_handler(void (*cb)(void));

#endif
