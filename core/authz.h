/*
 * authz.h -- which proxies may receive which configuration.
 *
 *   discovery {
 *       authorize identity "spiffe://mesh/edge/?*" { clusters edge; ids "edge-*"; }
 *       authorize address  10.1.0.0/16          { clusters internal; }
 *       secrets_without_client_certificate off;
 *   }
 *
 * With no authorize rule every proxy may claim any node.  With rules, a
 * request is served only when some rule matches the connection -- an
 * identity rule: a SAN (URI or DNS) of the verified client certificate
 * matches its glob; an address rule: the peer address is in its range --
 * and the node the request claims matches that rule's clusters and ids
 * globs (absent: any).  Secrets (SDS) need a verified client certificate
 * unless secrets_without_client_certificate is on.
 */
#ifndef XDS_AUTHZ_H
#define XDS_AUTHZ_H

#include <sys/socket.h>

#include "request.h"

typedef struct xds_authz xds_authz_t; /* immutable once built; reference-counted */

struct xds_cnode;
/* Add the rule of an `authorize KIND ARG { ... }` block to *a (created on
 * first use).  Returns NULL or a phrase for the conf error. */
const char *xds_authz_add_rule(xds_authz_t **a, const struct xds_cnode *block);
void xds_authz_set_secrets_without_cert(xds_authz_t **a, int on);

xds_authz_t *xds_authz_ref(xds_authz_t *a);
void xds_authz_unref(xds_authz_t *a);

/* What a connection is: its peer address and, when it presented a
 * verified client certificate, that certificate's SANs. */
typedef struct {
    struct sockaddr_storage addr;
    int verified; /* a client certificate was presented and verified */
    char **sans;  /* URI and DNS SANs, NULL-terminated (owned) */
} xds_peer_t;

/* Fill the SANs from the connection's verified certificate (ssl is an
 * SSL *; NULL: no TLS). */
void xds_peer_set_certificate(xds_peer_t *p, void *ssl);
void xds_peer_free(xds_peer_t *p);

/* XDS_OK when the peer may get `secrets` (1: an SDS request) for the node
 * r claims; else XDS_ERROR with a one-line reason. a may be NULL. */
int xds_authz_check(const xds_authz_t *a, const xds_peer_t *p, const xds_request_t *r, int secrets,
                    char *why, size_t len);

#endif
