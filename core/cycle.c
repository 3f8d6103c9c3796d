/*
 * cycle.c -- read the conf file into a new generation: the main-context and
 * block directive tables, plugin loading (explicit `load_plugin` or implied
 * by a source's `plugin NAME;`), and source creation.  Any failure frees
 * everything built so far and leaves the running generation untouched.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "authz.h"
#include "config.h"
#include "cycle.h"
#include "cgen.h"
#include "log.h"
#include "match.h"
#include "schema.h"

int xds_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *port;
    memset(ss, 0, sizeof(*ss));

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
            return XDS_ERROR;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL) {
            strcpy(host, "*");
            port = s;
        } else {
            if ((size_t)(colon - s) >= sizeof(host))
                return XDS_ERROR;
            memcpy(host, s, (size_t)(colon - s));
            host[colon - s] = '\0';
            port = colon + 1;
        }
    }
    int64_t p;
    if (xds_parse_int(port, &p) != XDS_OK || p < 1 || p > 65535)
        return XDS_ERROR;

    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (strcmp(host, "*") == 0 || host[0] == '\0') {
        in4->sin_family = AF_INET;
        in4->sin_addr.s_addr = htonl(INADDR_ANY);
        in4->sin_port = htons((uint16_t)p);
        *len = sizeof(*in4);
    } else if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p);
        *len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        *len = sizeof(*in6);
    } else {
        return XDS_ERROR;
    }
    return XDS_OK;
}

int xds_discovery_conf_differs(const xds_discovery_conf_t *a, const xds_discovery_conf_t *b)
{
    return a->addrlen != b->addrlen || memcmp(&a->addr, &b->addr, a->addrlen) != 0 ||
           a->workers != b->workers || a->client_max_body_size != b->client_max_body_size ||
           a->client_max_header_size != b->client_max_header_size ||
           a->max_connections != b->max_connections ||
           a->keepalive_timeout_ms != b->keepalive_timeout_ms ||
           a->read_timeout_ms != b->read_timeout_ms ||
           a->shutdown_timeout_ms != b->shutdown_timeout_ms;
}

/* ---- setters that need more than the generic ones ---- */

static __thread const char *cur_prefix; /* for path setters during apply */

static const char *set_path(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    char **field = (char **)((char *)conf + cmd->offset);
    free(*field);
    *field = xds_path_resolve(cur_prefix, n->args[0]);
    return NULL;
}

static const char *set_error_log(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    xds_cycle_t *c = conf;
    (void)cmd;
    free(c->error_log);
    c->error_log = NULL;
    if (strcmp(n->args[0], "stderr") != 0)
        c->error_log = xds_path_resolve(cur_prefix, n->args[0]);
    if (n->nargs == 2) {
        int level = xds_log_level_parse(n->args[1]);
        if (level < 0)
            return xds_conf_errf("invalid log level \"%s\" (emerg, alert, crit, error, warn, "
                                 "notice, info, debug)",
                                 n->args[1]);
        c->log_level = level;
    } else if (n->nargs > 2) {
        return "invalid number of arguments";
    }
    return NULL;
}

static const char *set_listen(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    xds_discovery_conf_t *d = conf;
    (void)cmd;
    if (xds_parse_addr(n->args[0], &d->addr, &d->addrlen) != XDS_OK)
        return xds_conf_errf("invalid address \"%s\" (expected HOST:PORT, [IPV6]:PORT, "
                             "*:PORT or PORT)",
                             n->args[0]);
    free(d->listen);
    d->listen = xds_strdup(n->args[0]);
    return NULL;
}

static const char *set_workers(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    xds_discovery_conf_t *d = conf;
    (void)cmd;
    if (strcmp(n->args[0], "auto") == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        d->workers = cpus > 0 ? cpus : 1;
        return NULL;
    }
    if (xds_parse_int(n->args[0], &d->workers) != XDS_OK || d->workers < 1 || d->workers > 256)
        return xds_conf_errf("invalid value \"%s\" (auto or 1..256)", n->args[0]);
    return NULL;
}

static const char *set_authorize(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    (void)cmd;
    return xds_authz_add_rule(&((xds_discovery_conf_t *)conf)->authz, n);
}

static const char *set_secrets_without_cert(const xds_cnode_t *n, const xds_command_t *cmd,
                                            void *conf)
{
    int on;
    (void)cmd;
    if (xds_parse_flag(n->args[0], &on) != XDS_OK)
        return xds_conf_errf("invalid value \"%s\", expected on or off", n->args[0]);
    xds_authz_set_secrets_without_cert(&((xds_discovery_conf_t *)conf)->authz, on);
    return NULL;
}

static const xds_command_t discovery_commands[] = {
    {"authorize", XDS_CONF_TAKE2 | XDS_CONF_BLOCK | XDS_CONF_MULTI, set_authorize, 0, NULL},
    {"secrets_without_client_certificate", XDS_CONF_TAKE1, set_secrets_without_cert, 0, NULL},
    {"listen", XDS_CONF_TAKE1 | XDS_CONF_REQ, set_listen, 0, NULL},
    {"workers", XDS_CONF_TAKE1, set_workers, 0, NULL},
    {"client_max_body_size", XDS_CONF_TAKE1, xds_conf_set_size,
     offsetof(xds_discovery_conf_t, client_max_body_size), NULL},
    {"client_max_header_size", XDS_CONF_TAKE1, xds_conf_set_size,
     offsetof(xds_discovery_conf_t, client_max_header_size), NULL},
    {"max_connections", XDS_CONF_TAKE1, xds_conf_set_int,
     offsetof(xds_discovery_conf_t, max_connections), NULL},
    {"keepalive_timeout", XDS_CONF_TAKE1, xds_conf_set_msec,
     offsetof(xds_discovery_conf_t, keepalive_timeout_ms), NULL},
    {"read_timeout", XDS_CONF_TAKE1, xds_conf_set_msec,
     offsetof(xds_discovery_conf_t, read_timeout_ms), NULL},
    {"shutdown_timeout", XDS_CONF_TAKE1, xds_conf_set_msec,
     offsetof(xds_discovery_conf_t, shutdown_timeout_ms), NULL},
    {"ssl_certificate", XDS_CONF_TAKE1, set_path, offsetof(xds_discovery_conf_t, ssl_certificate),
     NULL},
    {"ssl_certificate_key", XDS_CONF_TAKE1, set_path,
     offsetof(xds_discovery_conf_t, ssl_certificate_key), NULL},
    {"ssl_client_certificate", XDS_CONF_TAKE1, set_path,
     offsetof(xds_discovery_conf_t, ssl_client_certificate), NULL},
    {"ssl_verify_client", XDS_CONF_TAKE1, xds_conf_set_flag,
     offsetof(xds_discovery_conf_t, ssl_verify_client), NULL},
    {NULL, 0, NULL, 0, NULL},
};

static __thread char *block_err; /* full "FILE:LINE: ..." from a nested apply */

/* "reason" of OpenSSL's last error, for messages. */
static const char *ssl_reason(void)
{
    static __thread char buf[256];
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0)
        return "unknown error";
    ERR_error_string_n(e, buf, sizeof(buf));
    return buf;
}

/* The TLS server context of the discovery listener: TLS 1.2+, the
 * certificate chain and key, and with ssl_verify_client a required client
 * certificate signed by ssl_client_certificate. */
static const char *make_ssl_ctx(xds_discovery_conf_t *d)
{
    if (d->ssl_certificate == NULL && d->ssl_certificate_key == NULL &&
        d->ssl_client_certificate == NULL && !d->ssl_verify_client)
        return NULL;
    if (d->ssl_certificate == NULL || d->ssl_certificate_key == NULL)
        return "TLS needs both ssl_certificate and ssl_certificate_key";
    if (d->ssl_verify_client && d->ssl_client_certificate == NULL)
        return "ssl_verify_client on needs ssl_client_certificate (the CA of the proxies)";
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return xds_conf_errf("SSL_CTX_new: %s", ssl_reason());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    d->ssl_ctx = ctx;
    if (SSL_CTX_use_certificate_chain_file(ctx, d->ssl_certificate) != 1)
        return xds_conf_errf("ssl_certificate \"%s\": %s", d->ssl_certificate, ssl_reason());
    if (SSL_CTX_use_PrivateKey_file(ctx, d->ssl_certificate_key, SSL_FILETYPE_PEM) != 1)
        return xds_conf_errf("ssl_certificate_key \"%s\": %s", d->ssl_certificate_key,
                             ssl_reason());
    if (SSL_CTX_check_private_key(ctx) != 1)
        return xds_conf_errf("ssl_certificate_key \"%s\" does not match ssl_certificate: %s",
                             d->ssl_certificate_key, ssl_reason());
    if (d->ssl_client_certificate) {
        if (SSL_CTX_load_verify_locations(ctx, d->ssl_client_certificate, NULL) != 1)
            return xds_conf_errf("ssl_client_certificate \"%s\": %s", d->ssl_client_certificate,
                                 ssl_reason());
        SSL_CTX_set_verify(ctx,
                           d->ssl_verify_client ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                                : SSL_VERIFY_PEER,
                           NULL);
    }
    return NULL;
}

static const char *set_discovery(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    xds_cycle_t *c = conf;
    char err[XDS_ERRLEN];
    (void)cmd;
    if (xds_conf_apply(n, discovery_commands, &c->discovery, NULL, err, sizeof(err)) != XDS_OK) {
        block_err = xds_strdup(err);
        return "";
    }
    if (c->discovery.client_max_body_size < 1)
        return "client_max_body_size must be at least 1";
    if (c->discovery.client_max_header_size < 1024)
        return "client_max_header_size must be at least 1k";
    if (c->discovery.max_connections < 1)
        return "max_connections must be at least 1";
    if (c->discovery.read_timeout_ms < 1 || c->discovery.keepalive_timeout_ms < 1)
        return "read_timeout and keepalive_timeout must be positive";
    const char *tls = make_ssl_ctx(&c->discovery);
    if (tls)
        return tls;
    return NULL;
}

int xds_cidr_parse(const char *s, xds_cidr_t *c)
{
    char ip[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n >= sizeof(ip))
        return XDS_ERROR;
    memcpy(ip, s, n);
    ip[n] = '\0';
    memset(c, 0, sizeof(*c));
    int max;
    if (inet_pton(AF_INET, ip, c->addr) == 1) {
        c->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, ip, c->addr) == 1) {
        c->family = AF_INET6;
        max = 128;
    } else {
        return XDS_ERROR;
    }
    int64_t bits = max;
    if (slash && (xds_parse_int(slash + 1, &bits) != XDS_OK || bits > max))
        return XDS_ERROR;
    c->bits = (int)bits;
    return XDS_OK;
}

int xds_cidr_match(const xds_cidr_t *c, const struct sockaddr *sa)
{
    const uint8_t *a;
    if (sa->sa_family == AF_INET && c->family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
    } else if (sa->sa_family == AF_INET6 && c->family == AF_INET6) {
        a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    } else if (sa->sa_family == AF_INET6 && c->family == AF_INET) {
        /* IPv4-mapped IPv6 (::ffff:a.b.c.d) */
        const uint8_t *m = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(m, prefix, 12) != 0)
            return 0;
        a = m + 12;
    } else {
        return 0;
    }
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(a, c->addr, (size_t)full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((a[full] & mask) != (c->addr[full] & mask))
            return 0;
    }
    return 1;
}

static const char *set_admin_listen(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    xds_admin_conf_t *a = conf;
    (void)cmd;
    if (xds_parse_addr(n->args[0], &a->addr, &a->addrlen) != XDS_OK)
        return xds_conf_errf("invalid address \"%s\" (expected HOST:PORT, [IPV6]:PORT, "
                             "*:PORT or PORT)",
                             n->args[0]);
    free(a->listen);
    a->listen = xds_strdup(n->args[0]);
    return NULL;
}

static const char *set_allow(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    xds_admin_conf_t *a = conf;
    (void)cmd;
    for (size_t i = 0; i < n->nargs; i++) {
        xds_cidr_t c;
        if (xds_cidr_parse(n->args[i], &c) != XDS_OK)
            return xds_conf_errf("invalid address range \"%s\" (expected ADDR or ADDR/BITS)",
                                 n->args[i]);
        a->allow = xds_realloc(a->allow, (a->nallow + 1) * sizeof(*a->allow));
        a->allow[a->nallow++] = c;
    }
    return NULL;
}

static const char *set_admin_path(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    char **field = (char **)((char *)conf + cmd->offset);
    free(*field);
    *field = xds_path_resolve(cur_prefix, n->args[0]);
    return NULL;
}

static const xds_command_t admin_commands[] = {
    {"listen", XDS_CONF_TAKE1, set_admin_listen, 0, NULL},
    {"allow", XDS_CONF_1MORE | XDS_CONF_MULTI, set_allow, 0, NULL},
    {"token_file", XDS_CONF_TAKE1, set_admin_path, offsetof(xds_admin_conf_t, token_file), NULL},
    {"forget_nodes_after", XDS_CONF_TAKE1, xds_conf_set_msec,
     offsetof(xds_admin_conf_t, forget_nodes_after_ms), NULL},
    {NULL, 0, NULL, 0, NULL},
};

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

static const char *set_admin(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    xds_cycle_t *c = conf;
    xds_admin_conf_t *a = &c->admin;
    char err[XDS_ERRLEN];
    (void)cmd;
    a->enabled = 1;
    if (xds_conf_apply(n, admin_commands, a, NULL, err, sizeof(err)) != XDS_OK) {
        block_err = xds_strdup(err);
        return "";
    }
    if (a->listen == NULL) {
        a->listen = xds_strdup("127.0.0.1:9901");
        xds_parse_addr(a->listen, &a->addr, &a->addrlen);
    }
    if (a->token_file) {
        size_t len;
        a->token = xds_read_file(a->token_file, &len, err, sizeof(err));
        if (a->token == NULL)
            return xds_conf_errf("token_file: %s", err);
        while (len &&
               (a->token[len - 1] == '\n' || a->token[len - 1] == '\r' || a->token[len - 1] == ' '))
            a->token[--len] = '\0';
        if (len == 0)
            return xds_conf_errf("token_file \"%s\" is empty", a->token_file);
    }
    if (!is_loopback(&a->addr) && a->nallow == 0 && a->token == NULL)
        return xds_conf_errf("admin listen %s is not a loopback address: the admin API shows the "
                             "whole fleet, so set \"allow\" ranges or a \"token_file\"",
                             a->listen);
    return NULL;
}

/* `node_group KEY ...;`: cluster, id, locality (= its three parts),
 * locality.region|zone|sub_zone, metadata.<key>. */
static const char *set_node_group(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    xds_cycle_t *c = conf;
    (void)cmd;
    for (size_t i = 0; i < c->nnode_group; i++)
        free(c->node_group[i]);
    free(c->node_group);
    c->node_group = xds_calloc(n->nargs * 3, sizeof(char *));
    c->nnode_group = 0;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *a = n->args[i];
        if (strcmp(a, "locality") == 0) {
            c->node_group[c->nnode_group++] = xds_strdup("locality.region");
            c->node_group[c->nnode_group++] = xds_strdup("locality.zone");
            c->node_group[c->nnode_group++] = xds_strdup("locality.sub_zone");
        } else if (xds_attr_name_valid(a, strlen(a))) {
            c->node_group[c->nnode_group++] = xds_strdup(a);
        } else {
            return xds_conf_errf("unknown node attribute \"%s\" (expected cluster, id, locality, "
                                 "locality.region, locality.zone, locality.sub_zone or "
                                 "metadata.<key>)",
                                 a);
        }
    }
    return NULL;
}

static const xds_command_t envoy_commands[] = {
    {"xds_cluster", XDS_CONF_TAKE1, xds_conf_set_str, offsetof(xds_cycle_t, xds_cluster), NULL},
    {"refresh_delay", XDS_CONF_TAKE1, xds_conf_set_msec, offsetof(xds_cycle_t, refresh_delay_ms),
     NULL},
    {"node_group", XDS_CONF_1MORE, set_node_group, 0, NULL},
    {"locality_priority", XDS_CONF_TAKE1, xds_conf_set_flag,
     offsetof(xds_cycle_t, locality_priority), NULL},
    {NULL, 0, NULL, 0, NULL},
};

static const char *set_envoy(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    char err[XDS_ERRLEN];
    (void)cmd;
    if (xds_conf_apply(n, envoy_commands, conf, NULL, err, sizeof(err)) != XDS_OK) {
        block_err = xds_strdup(err);
        return "";
    }
    if (((xds_cycle_t *)conf)->refresh_delay_ms < 1)
        return "refresh_delay must be positive";
    return NULL;
}

/* `schema PATH;`: load Envoy's API schema now, so a missing or corrupt file
 * is a conf error with file and line. */
static const char *set_schema(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    xds_cycle_t *c = conf;
    char err[XDS_ERRLEN];
    (void)cmd;
    free(c->schema_path);
    c->schema_path = xds_path_resolve(cur_prefix, n->args[0]);
    xds_schema_free(c->schema);
    c->schema = xds_schema_load(c->schema_path, err, sizeof(err));
    if (c->schema == NULL)
        return xds_conf_errf("%s", err);
    return NULL;
}

static const char *set_log_level(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    (void)cmd;
    int level = xds_log_level_parse(n->args[0]);
    if (level < 0)
        return xds_conf_errf("invalid log level \"%s\"", n->args[0]);
    ((xds_cycle_t *)conf)->log_level = level;
    return NULL;
}

static const xds_command_t main_commands[] = {
    {"pid", XDS_CONF_TAKE1, set_path, offsetof(xds_cycle_t, pid), NULL},
    {"error_log", XDS_CONF_1MORE, set_error_log, 0, NULL},
    {"log_level", XDS_CONF_TAKE1, set_log_level, 0, NULL},
    {"plugin_dir", XDS_CONF_TAKE1, set_path, offsetof(xds_cycle_t, plugin_dir), NULL},
    {"strict", XDS_CONF_TAKE1, xds_conf_set_flag, offsetof(xds_cycle_t, strict), NULL},
    {"schema", XDS_CONF_TAKE1, set_schema, 0, NULL},
    {"discovery", XDS_CONF_BLOCK | XDS_CONF_NOARGS | XDS_CONF_REQ, set_discovery, 0, NULL},
    {"envoy", XDS_CONF_BLOCK | XDS_CONF_NOARGS, set_envoy, 0, NULL},
    {"admin", XDS_CONF_BLOCK | XDS_CONF_NOARGS, set_admin, 0, NULL},
    {NULL, 0, NULL, 0, NULL},
};

static const char *const main_skip[] = {"load_plugin", "source", "generator", NULL};

/* ---- plugins and sources ---- */

static xds_plugin_t *find_plugin(xds_cycle_t *c, const char *name)
{
    for (size_t i = 0; i < c->nplugins; i++)
        if (strcmp(c->plugins[i]->name, name) == 0)
            return c->plugins[i];
    return NULL;
}

static xds_plugin_t *load_plugin(xds_cycle_t *c, const xds_cnode_t *at, const char *name,
                                 const char *path, char *err, size_t errlen)
{
    char perr[XDS_ERRLEN];
    for (const char *p = name; *p; p++) {
        if (!(*p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9'))) {
            xds_conf_node_error(at, err, errlen, "invalid plugin name \"%s\"", name);
            return NULL;
        }
    }
    char *file;
    if (path) {
        file = xds_path_resolve(c->prefix, path);
    } else {
        xds_buf_t b = {0};
        xds_buf_printf(&b, "%s/%s.so", c->plugin_dir, name);
        file = xds_buf_detach(&b, NULL);
    }
    xds_plugin_t *pl = xds_plugin_load(name, file, perr, sizeof(perr));
    free(file);
    if (pl == NULL) {
        snprintf(err, errlen, "%s:%u: %s", at->file, at->line, perr);
        return NULL;
    }
    c->plugins = xds_realloc(c->plugins, (c->nplugins + 1) * sizeof(*c->plugins));
    c->plugins[c->nplugins++] = pl;
    return pl;
}

/* The plugin block n names with its one `plugin NAME;`, loaded if needed. */
static xds_plugin_t *block_plugin(xds_cycle_t *c, const xds_cnode_t *n, char *err, size_t errlen)
{
    const xds_cnode_t *pn = NULL;
    for (size_t k = 0; k < n->nchildren; k++) {
        if (strcmp(n->children[k].name, "plugin") == 0) {
            if (pn) {
                xds_conf_node_error(&n->children[k], err, errlen, "is duplicate");
                return NULL;
            }
            pn = &n->children[k];
        }
    }
    if (pn == NULL) {
        xds_conf_node_error(n, err, errlen, "needs a \"plugin NAME;\" directive");
        return NULL;
    }
    if (pn->nargs != 1 || pn->block) {
        xds_conf_node_error(pn, err, errlen, "invalid number of arguments");
        return NULL;
    }
    xds_plugin_t *pl = find_plugin(c, pn->args[0]);
    if (pl == NULL)
        pl = load_plugin(c, pn, pn->args[0], NULL, err, errlen);
    return pl;
}

/* `generator NAME { plugin P; type T; ... }`: generator module instances,
 * and the model collections they read. */
static int load_generators(xds_cycle_t *c, char *err, size_t errlen)
{
    const xds_cnode_t *root = c->root;
    for (size_t i = 0; i < root->nchildren; i++) {
        const xds_cnode_t *n = &root->children[i];
        if (strcmp(n->name, "generator") != 0)
            continue;
        if (!n->block || n->nargs != 1) {
            xds_conf_node_error(n, err, errlen,
                                !n->block ? "must have a { } block" : "takes one name");
            return XDS_ERROR;
        }
        for (size_t k = 0; k < c->ncgens; k++)
            if (strcmp(c->cgens[k]->name, n->args[0]) == 0) {
                xds_conf_node_error(n, err, errlen, "generator \"%s\" is defined twice",
                                    n->args[0]);
                return XDS_ERROR;
            }
        for (size_t k = 0; k < n->nchildren; k++)
            if (strcmp(n->children[k].name, "type") == 0 &&
                (n->children[k].nargs != 1 || n->children[k].block)) {
                xds_conf_node_error(&n->children[k], err, errlen, "invalid number of arguments");
                return XDS_ERROR;
            }
        xds_plugin_t *pl = block_plugin(c, n, err, errlen);
        if (pl == NULL)
            return XDS_ERROR;
        if (pl->g == NULL) {
            xds_conf_node_error(n, err, errlen,
                                "plugin \"%s\" is a source plugin, not a generator module",
                                pl->name);
            return XDS_ERROR;
        }
        const char *coll = pl->g->collection;
        if (strcmp(coll, "services") == 0 || strcmp(coll, "listeners") == 0 ||
            strcmp(coll, "resources") == 0) {
            xds_conf_node_error(n, err, errlen, "plugin \"%s\" reads \"%s\", a built-in collection",
                                pl->name, coll);
            return XDS_ERROR;
        }
        size_t k;
        for (k = 0; k < c->ncollections; k++)
            if (strcmp(c->collections[k], coll) == 0)
                break;
        if (k == c->ncollections) {
            if (k == XDS_MAX_EXTRA) {
                xds_conf_node_error(n, err, errlen, "more than %d model collections for generators",
                                    XDS_MAX_EXTRA);
                return XDS_ERROR;
            }
            c->collections[c->ncollections++] = coll;
        }
        if (c->ncgens + xds_ngenerators >= 64) {
            xds_conf_node_error(n, err, errlen, "too many generators");
            return XDS_ERROR;
        }
        xds_cgen_t *g = xds_cgen_create(pl, n, c->prefix, XDS_COLL_EXTRA + (int)k, err, errlen);
        if (g == NULL)
            return XDS_ERROR;
        c->cgens = xds_realloc(c->cgens, (c->ncgens + 1) * sizeof(*c->cgens));
        c->cgens[c->ncgens++] = g;
    }
    return XDS_OK;
}

static int load_sources(xds_cycle_t *c, char *err, size_t errlen)
{
    const xds_cnode_t *root = c->root;

    for (size_t i = 0; i < root->nchildren; i++) {
        const xds_cnode_t *n = &root->children[i];
        if (strcmp(n->name, "load_plugin") != 0)
            continue;
        if (n->block || n->nargs < 1 || n->nargs > 2) {
            xds_conf_node_error(n, err, errlen,
                                n->block ? "takes no { } block" : "invalid number of arguments");
            return XDS_ERROR;
        }
        if (find_plugin(c, n->args[0])) {
            xds_conf_node_error(n, err, errlen, "plugin \"%s\" is already loaded", n->args[0]);
            return XDS_ERROR;
        }
        if (load_plugin(c, n, n->args[0], n->nargs == 2 ? n->args[1] : NULL, err, errlen) == NULL)
            return XDS_ERROR;
    }

    if (load_generators(c, err, errlen) != XDS_OK)
        return XDS_ERROR;

    for (size_t i = 0; i < root->nchildren; i++) {
        const xds_cnode_t *n = &root->children[i];
        if (strcmp(n->name, "source") != 0)
            continue;
        if (!n->block || n->nargs != 1) {
            xds_conf_node_error(n, err, errlen,
                                !n->block ? "must have a { } block" : "takes one name");
            return XDS_ERROR;
        }
        for (size_t k = 0; k < c->nsources; k++) {
            if (strcmp(c->sources[k]->name, n->args[0]) == 0) {
                xds_conf_node_error(n, err, errlen, "source \"%s\" is defined twice", n->args[0]);
                return XDS_ERROR;
            }
        }
        xds_plugin_t *pl = block_plugin(c, n, err, errlen);
        if (pl == NULL)
            return XDS_ERROR;
        if (pl->p == NULL) {
            xds_conf_node_error(n, err, errlen,
                                "plugin \"%s\" is a generator module: use it in a "
                                "\"generator NAME { plugin %s; type TYPE; }\" block",
                                pl->name, pl->name);
            return XDS_ERROR;
        }
        xds_source_t *s = xds_source_create(n, pl, c->prefix, c->strict, err, errlen);
        if (s == NULL)
            return XDS_ERROR;
        s->extra_names = c->collections;
        s->nextra = c->ncollections;
        c->sources = xds_realloc(c->sources, (c->nsources + 1) * sizeof(*c->sources));
        c->sources[c->nsources++] = s;
    }
    if (c->nsources == 0) {
        snprintf(err, errlen, "%s: no \"source\" block: xdsd would have nothing to serve",
                 c->conf_file);
        return XDS_ERROR;
    }
    return XDS_OK;
}

xds_cycle_t *xds_cycle_load(const char *conf_file, const char *prefix, char *err, size_t errlen)
{
    xds_cycle_t *c = xds_calloc(1, sizeof(*c));
    c->prefix = xds_strdup(prefix ? prefix : "");
    c->conf_file = xds_path_resolve(c->prefix, conf_file);
    c->log_level = XDS_LOG_INFO;
    c->strict = 1;
    c->refresh_delay_ms = 1000;
    c->discovery.client_max_body_size = 1024 * 1024;
    c->discovery.client_max_header_size = 16 * 1024;
    c->discovery.max_connections = 4096;
    c->discovery.keepalive_timeout_ms = 75000;
    c->discovery.read_timeout_ms = 30000;
    c->discovery.shutdown_timeout_ms = 10000;
    c->admin.forget_nodes_after_ms = 10 * 60 * 1000;
    {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        c->discovery.workers = cpus > 0 ? cpus : 1;
    }

    c->root = xds_conf_parse_file(c->conf_file, err, errlen);
    if (c->root == NULL)
        goto failed;

    cur_prefix = c->prefix;
    block_err = NULL;
    if (xds_conf_apply(c->root, main_commands, c, main_skip, err, errlen) != XDS_OK) {
        if (block_err)
            snprintf(err, errlen, "%s", block_err);
        free(block_err);
        block_err = NULL;
        goto failed;
    }
    if (c->plugin_dir == NULL)
        c->plugin_dir = xds_strdup(XDS_PLUGIN_DIR);
    if (c->xds_cluster == NULL)
        c->xds_cluster = xds_strdup("xds_cluster");
    if (c->node_group == NULL) {
        c->node_group = xds_calloc(1, sizeof(char *));
        c->node_group[c->nnode_group++] = xds_strdup("cluster");
    }

    if (load_sources(c, err, errlen) != XDS_OK)
        goto failed;
    return c;

failed:
    xds_cycle_free(c);
    return NULL;
}

void xds_cycle_free(xds_cycle_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nsources; i++)
        xds_source_destroy(c->sources[i]);
    free(c->sources);
    for (size_t i = 0; i < c->ncgens; i++)
        xds_cgen_unref(c->cgens[i]);
    free(c->cgens);
    for (size_t i = 0; i < c->nplugins; i++)
        xds_plugin_unload(c->plugins[i]);
    free(c->plugins);
    xds_conf_free(c->root);
    free(c->prefix);
    free(c->conf_file);
    free(c->pid);
    free(c->error_log);
    free(c->plugin_dir);
    free(c->xds_cluster);
    for (size_t i = 0; i < c->nnode_group; i++)
        free(c->node_group[i]);
    free(c->node_group);
    free(c->schema_path);
    xds_schema_free(c->schema);
    free(c->discovery.listen);
    free(c->discovery.ssl_certificate);
    free(c->discovery.ssl_certificate_key);
    free(c->discovery.ssl_client_certificate);
    SSL_CTX_free(c->discovery.ssl_ctx);
    xds_authz_unref(c->discovery.authz);
    free(c->admin.listen);
    free(c->admin.allow);
    free(c->admin.token_file);
    if (c->admin.token)
        memset(c->admin.token, 0, strlen(c->admin.token));
    free(c->admin.token);
    free(c);
}
