/*
 * xdsd_plugin.h -- the one header a xdsd source plugin includes.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `xdsd_plugin_entry`, a const xdsd_plugin_t.  The host checks its magic, ABI
 * major (must be equal), ABI minor (must be <= the host's) and struct size
 * before it uses anything else in it.  The plugin never links against the
 * xdsd binary: everything it needs from the host comes through the
 * xdsd_host_api_t table handed to create().
 *
 * Configuration: a plugin declares its directives in a table of
 * xdsd_directive_t rows.  The host parses the `source NAME { ... }` block,
 * checks every directive against that table (unknown directives, wrong
 * argument counts and bad values are reported with file:line by the host),
 * and fills a zeroed struct of conf_size bytes that it then passes to
 * create().  Strings in that struct are owned by the host.
 *
 * Life cycle of a source instance (all calls on the main thread):
 *   create()  - validate the conf, allocate state.  No I/O on the network;
 *               may stat files.  Also used by `xdsd -t`.
 *   start()   - register events on the host's event loop and begin work.
 *               May publish synchronously.
 *   destroy() - unregister everything and free the state (after start or
 *               without it).
 *
 * A plugin must never block the event loop.  When it has a complete result
 * it calls api->publish(); the host parses the bytes before publish returns
 * (the buffer stays the plugin's).  When a refresh fails it calls
 * api->failed() with a one-line reason; the host keeps serving the last good
 * document of the source (fail-static).
 *
 * Directives the host keeps for itself in every source block (a plugin may
 * not declare them): `plugin NAME;`, `required on|off;` (default on: the
 * first snapshot waits for this source's first good document),
 * `stale_after DURATION;` (default off: flag the source's data as stale when
 * its last successful refresh is older than this) and `max_document_size
 * SIZE;` (default 64m: a larger published document is refused).
 *
 * ABI changelog
 *   1.0  first version: create/start/destroy, directives of type string,
 *        duration, size, flag, integer; host api: log, event_base, publish,
 *        failed, name.
 *   1.1  directive type XDSD_ARG_STRING_LIST (a repeatable directive);
 *        host api: unchanged() (a refresh succeeded, nothing new).  A plugin
 *        built for 1.1 checks api->abi_minor >= 1 before calling unchanged.
 */
#ifndef XDSD_PLUGIN_H
#define XDSD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XDSD_PLUGIN_MAGIC     0x58445344u /* "XDSD" */
#define XDSD_PLUGIN_ABI_MAJOR 1
#define XDSD_PLUGIN_ABI_MINOR 1

/* Return codes shared with the core. */
#define XDSD_OK    0
#define XDSD_ERROR (-1)

/* Log levels (syslog order). */
enum {
    XDSD_LOG_EMERG = 0,
    XDSD_LOG_ALERT,
    XDSD_LOG_CRIT,
    XDSD_LOG_ERR,
    XDSD_LOG_WARN,
    XDSD_LOG_NOTICE,
    XDSD_LOG_INFO,
    XDSD_LOG_DEBUG
};

/* Directive argument types; the field at `offset` in the conf struct has the
 * C type given here. */
typedef enum {
    XDSD_ARG_STRING = 1, /* char *        (owned by the host, NUL-terminated) */
    XDSD_ARG_PATH,       /* char *        relative paths resolved against the prefix */
    XDSD_ARG_DURATION,   /* int64_t       milliseconds: "500ms", "5s", "1m", "1h", "2d" */
    XDSD_ARG_SIZE,       /* int64_t       bytes: "512", "64k", "1m", "1g" */
    XDSD_ARG_FLAG,       /* int           on|off -> 1|0 */
    XDSD_ARG_INT,        /* int64_t       decimal */
    XDSD_ARG_STRING_LIST /* char **       NULL-terminated, one item per occurrence
                          *               of the directive (which may repeat); 1.1 */
} xdsd_arg_type_t;

#define XDSD_DIRECTIVE_REQUIRED 0x1u /* the block must set it */

typedef struct {
    const char *name; /* NULL name ends the table */
    xdsd_arg_type_t type;
    size_t offset;  /* offsetof(your_conf, field) */
    unsigned flags; /* XDSD_DIRECTIVE_* */
} xdsd_directive_t;

/* Opaque handle for one source instance, owned by the host. */
typedef struct xdsd_source xdsd_source_t;

struct event_base;

typedef struct xdsd_host_api {
    uint32_t size;      /* sizeof(xdsd_host_api_t) of the host */
    uint32_t abi_minor; /* XDSD_PLUGIN_ABI_MINOR of the host */

    /* Log a line prefixed with "source NAME: ".  Does not block. */
    void (*log)(xdsd_source_t *src, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    /* The main thread's event loop; register all events there. */
    struct event_base *(*event_base)(xdsd_source_t *src);

    /* Hand a complete JSON model document to the core.  `origin` names where
     * it came from for error messages (a path, a URL); borrowed.  The core
     * parses it before returning: XDSD_OK when it was accepted, XDSD_ERROR
     * when it was refused (the reason is logged by the core, with line and
     * column, and the source's last good document stays in service).  The
     * buffer stays the plugin's. */
    int (*publish)(xdsd_source_t *src, const char *json, size_t len, const char *origin);

    /* Report a failed refresh with a one-line reason (no trailing newline).
     * The core logs state changes once and keeps the last good document. */
    void (*failed)(xdsd_source_t *src, const char *reason);

    /* Name of the source block ("catalog" for `source catalog { }`). */
    const char *(*name)(xdsd_source_t *src);

    /* 1.1: a refresh succeeded and found nothing new (an HTTP 304, the same
     * rows): counts as a success for the source's health and staleness. */
    void (*unchanged)(xdsd_source_t *src);
} xdsd_host_api_t;

typedef struct xdsd_plugin {
    uint32_t magic;     /* XDSD_PLUGIN_MAGIC */
    uint16_t abi_major; /* XDSD_PLUGIN_ABI_MAJOR */
    uint16_t abi_minor; /* XDSD_PLUGIN_ABI_MINOR */
    uint32_t size;      /* sizeof(xdsd_plugin_t) */

    const char *name;    /* "file"; must match the .so's base name */
    const char *version; /* the plugin's own version string */

    const xdsd_directive_t *directives; /* NULL-name terminated */
    size_t conf_size;                   /* size of the conf struct */

    /* Validate `conf` (borrowed, lives as long as the instance) and create
     * the instance state in *state.  On failure write a one-line reason
     * into err and return XDSD_ERROR; nothing may be left allocated. */
    int (*create)(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf, void **state,
                  char *err, size_t errlen);

    /* Begin work on the event loop.  XDSD_ERROR with err set refuses the
     * source. */
    int (*start)(void *state, char *err, size_t errlen);

    /* Stop all work and free the state. */
    void (*destroy)(void *state);
} xdsd_plugin_t;

/* Put this in front of xdsd_plugin_entry when building with
 * -fvisibility=hidden. */
#define XDSD_PLUGIN_EXPORT __attribute__((visibility("default")))

#define XDSD_PLUGIN_ENTRY_SYMBOL "xdsd_plugin_entry"

#ifdef __cplusplus
}
#endif

#endif /* XDSD_PLUGIN_H */
