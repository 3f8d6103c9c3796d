/*
 * authz.c -- authorization of proxies (see authz.h).  Rules are globs
 * (fnmatch) on the client certificate's SANs or address ranges, each
 * allowing node clusters and ids; they are built at conf load and shared,
 * read-only, by the discovery workers.
 */
#include <fnmatch.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "authz.h"
#include "conf.h"
#include "cycle.h"

typedef struct {
    int identity;     /* 1: glob on SANs, 0: address range */
    char *pattern;    /* identity glob, or the range as written */
    xds_cidr_t range; /* address rules */
    char **clusters;  /* NULL-terminated globs, NULL = any */
    char **ids;
} rule_t;

struct xds_authz {
    atomic_uint refs;
    rule_t *rules;
    size_t n;
    int secrets_without_cert;
};

static xds_authz_t *get(xds_authz_t **a)
{
    if (*a == NULL) {
        *a = xds_calloc(1, sizeof(xds_authz_t));
        atomic_init(&(*a)->refs, 1);
    }
    return *a;
}

static char **strv(const xds_cnode_t *n)
{
    char **v = xds_calloc(n->nargs + 1, sizeof(char *));
    for (size_t i = 0; i < n->nargs; i++)
        v[i] = xds_strdup(n->args[i]);
    return v;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

const char *xds_authz_add_rule(xds_authz_t **ap, const xds_cnode_t *b)
{
    if (!b->block || b->nargs != 2)
        return "expects: authorize identity GLOB { ... } or authorize address CIDR { ... }";
    rule_t r = {0};
    if (strcmp(b->args[0], "identity") == 0) {
        r.identity = 1;
    } else if (strcmp(b->args[0], "address") != 0) {
        return xds_conf_errf("unknown kind \"%s\" (identity or address)", b->args[0]);
    } else if (xds_cidr_parse(b->args[1], &r.range) != XDS_OK) {
        return xds_conf_errf("invalid address range \"%s\"", b->args[1]);
    }
    for (size_t i = 0; i < b->nchildren; i++) {
        const xds_cnode_t *c = &b->children[i];
        char ***field = strcmp(c->name, "clusters") == 0 ? &r.clusters
                        : strcmp(c->name, "ids") == 0    ? &r.ids
                                                         : NULL;
        if (field == NULL || c->block || c->nargs == 0 || *field) {
            strv_free(r.clusters);
            strv_free(r.ids);
            return xds_conf_errf("%s:%u: \"%s\": expected clusters GLOB...; and/or ids GLOB...;",
                                 c->file, c->line, c->name);
        }
        *field = strv(c);
    }
    r.pattern = xds_strdup(b->args[1]);
    xds_authz_t *a = get(ap);
    a->rules = xds_realloc(a->rules, (a->n + 1) * sizeof(rule_t));
    a->rules[a->n++] = r;
    return NULL;
}

void xds_authz_set_secrets_without_cert(xds_authz_t **a, int on)
{
    get(a)->secrets_without_cert = on;
}

xds_authz_t *xds_authz_ref(xds_authz_t *a)
{
    if (a)
        atomic_fetch_add(&a->refs, 1);
    return a;
}

void xds_authz_unref(xds_authz_t *a)
{
    if (a == NULL || atomic_fetch_sub(&a->refs, 1) != 1)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->rules[i].pattern);
        strv_free(a->rules[i].clusters);
        strv_free(a->rules[i].ids);
    }
    free(a->rules);
    free(a);
}

void xds_peer_set_certificate(xds_peer_t *p, void *ssl_ptr)
{
    SSL *ssl = ssl_ptr;
    if (ssl == NULL || p->sans)
        return;
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert == NULL)
        return;
    p->verified = SSL_get_verify_result(ssl) == X509_V_OK;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int n = names ? sk_GENERAL_NAME_num(names) : 0;
    p->sans = xds_calloc((size_t)n + 1, sizeof(char *));
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type != GEN_URI && g->type != GEN_DNS)
            continue;
        const ASN1_IA5STRING *s =
            g->type == GEN_URI ? g->d.uniformResourceIdentifier : g->d.dNSName;
        p->sans[k++] =
            xds_strndup((const char *)ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
    }
    GENERAL_NAMES_free(names);
    X509_free(cert);
}

void xds_peer_free(xds_peer_t *p)
{
    strv_free(p->sans);
    p->sans = NULL;
}

static int any_glob(char *const *globs, const char *s)
{
    if (globs == NULL)
        return 1;
    for (size_t i = 0; globs[i]; i++)
        if (fnmatch(globs[i], s, 0) == 0)
            return 1;
    return 0;
}

int xds_authz_check(const xds_authz_t *a, const xds_peer_t *p, const xds_request_t *r, int secrets,
                    char *why, size_t len)
{
    char id[256], cluster[256];
    snprintf(id, sizeof(id), "%.*s", (int)(r->node_id.n > 200 ? 200 : r->node_id.n), r->node_id.p);
    snprintf(cluster, sizeof(cluster), "%.*s",
             (int)(r->node_cluster.n > 200 ? 200 : r->node_cluster.n), r->node_cluster.p);

    if (secrets && !p->verified && !(a && a->secrets_without_cert)) {
        snprintf(why, len, "secrets are only served to proxies with a verified client certificate");
        return XDS_ERROR;
    }
    if (a == NULL || a->n == 0)
        return XDS_OK;
    int matched_peer = 0;
    for (size_t i = 0; i < a->n; i++) {
        const rule_t *rule = &a->rules[i];
        int peer_ok = 0;
        if (rule->identity) {
            for (size_t k = 0; p->verified && p->sans && p->sans[k] && !peer_ok; k++)
                peer_ok = fnmatch(rule->pattern, p->sans[k], 0) == 0;
        } else {
            peer_ok = xds_cidr_match(&rule->range, (const struct sockaddr *)&p->addr);
        }
        if (!peer_ok)
            continue;
        matched_peer = 1;
        if (any_glob(rule->clusters, cluster) && any_glob(rule->ids, id))
            return XDS_OK;
    }
    if (matched_peer)
        snprintf(why, len, "node \"%s\" (cluster \"%s\") is not allowed for this client", id,
                 cluster);
    else
        snprintf(why, len, "no authorize rule matches this client%s",
                 p->verified ? "" : " (no verified client certificate)");
    return XDS_ERROR;
}
