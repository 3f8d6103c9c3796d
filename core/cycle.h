/*
 * cycle.h -- one generation of configuration, like nginx's cycle: the
 * parsed conf, the loaded plugins and the created sources.  A reload builds a
 * complete new cycle; only when everything in it succeeded does it replace
 * the running one.
 */
#ifndef XDS_CYCLE_H
#define XDS_CYCLE_H

#include <sys/socket.h>

#include "conf.h"
#include "plugin.h"
#include "source.h"

typedef struct {
    char *listen; /* as written, owned */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int64_t workers; /* resolved: "auto" -> online CPUs */
    int64_t client_max_body_size;
    int64_t client_max_header_size;
    int64_t max_connections; /* per worker */
    int64_t keepalive_timeout_ms;
    int64_t read_timeout_ms;
    int64_t shutdown_timeout_ms;

    /* TLS (all owned; ssl_ctx is an SSL_CTX *, built at load time) */
    char *ssl_certificate, *ssl_certificate_key, *ssl_client_certificate;
    int ssl_verify_client;
    void *ssl_ctx;
    struct xds_authz *authz; /* authorize rules (owned reference), NULL = allow all */
} xds_discovery_conf_t;

typedef struct {
    uint8_t addr[16]; /* network, IPv4 in the first 4 bytes */
    int family;       /* AF_INET or AF_INET6 */
    int bits;
} xds_cidr_t;

typedef struct {
    int enabled;  /* an admin { } block is present */
    char *listen; /* owned; default 127.0.0.1:9901 */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    xds_cidr_t *allow; /* owned; clients allowed (none = any) */
    size_t nallow;
    char *token_file; /* owned, resolved */
    char *token;      /* owned; the bearer token read from token_file */
    int64_t forget_nodes_after_ms;
} xds_admin_conf_t;

/* Parse "10.0.0.0/8", "::1", "fd00::/8".  XDS_OK or XDS_ERROR. */
int xds_cidr_parse(const char *s, xds_cidr_t *c);
/* 1 when sa is inside c. */
int xds_cidr_match(const xds_cidr_t *c, const struct sockaddr *sa);

typedef struct xds_cycle {
    char *prefix;    /* owned; "" when none */
    char *conf_file; /* owned */
    xds_cnode_t *root;

    char *pid;       /* owned, resolved; NULL = no pid file */
    char *error_log; /* owned, resolved; NULL = stderr */
    int log_level;
    char *plugin_dir; /* owned, resolved */
    int strict;
    char *xds_cluster;         /* owned */
    char *schema_path;         /* owned, resolved; NULL = no schema validation */
    struct xds_schema *schema; /* loaded from schema_path, owned */
    int64_t refresh_delay_ms;
    char **node_group; /* `node_group`: node attributes that split groups, owned */
    size_t nnode_group;
    int locality_priority; /* `locality_priority on`: EDS prefers the proxy's zone */

    xds_discovery_conf_t discovery;
    xds_admin_conf_t admin;

    xds_plugin_t **plugins;
    size_t nplugins;
    xds_source_t **sources; /* in declaration order */
    size_t nsources;
    struct xds_cgen **cgens; /* `generator NAME { }` instances, in declaration order */
    size_t ncgens;
    const char *collections[8]; /* the model collections they read (XDS_MAX_EXTRA) */
    size_t ncollections;
} xds_cycle_t;

/* Parse conf_file, load plugins and create (not start) every source.
 * Returns the cycle or NULL with err naming file:line (or the plugin) and
 * why.  Blocking (reads files, dlopen): main thread only. */
xds_cycle_t *xds_cycle_load(const char *conf_file, const char *prefix, char *err, size_t errlen);
void xds_cycle_free(xds_cycle_t *c);

/* Parse "127.0.0.1:8050", "[::1]:8050", "*:8050", "0.0.0.0:8050" or "8050". */
int xds_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* 1 when the two discovery confs need different sockets or workers.  The
 * TLS context and authorization rules are not compared: a reload hands
 * those to the running workers. */
int xds_discovery_conf_differs(const xds_discovery_conf_t *a, const xds_discovery_conf_t *b);

#endif
