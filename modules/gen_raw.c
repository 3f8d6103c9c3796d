/*
 * gen_raw.c -- pass-through of raw Envoy resources from the model's
 * "resources" object ("resources": {"clusters": [{...}]}).  Each item is
 * copied as-is under its type and named by the type's name field; an
 * "@type" member, if the author wrote one, must be the type's URL and is
 * dropped (the snapshot adds it when it serializes the resource as Any).
 * "match" (which proxies get it, core/match.h) is xdsd's, not Envoy's, and
 * dropped too.  A raw resource with the name of a generated one is caught
 * as a duplicate by xds_generate.
 */
#include <stdio.h>
#include <string.h>

#include "gen_util.h"

static int generate_raw(const xds_model_t *m, xds_gen_out_t *out)
{
    char coll[64], got[96], origin[XDS_ERRLEN];
    int failed = XDS_OK;

    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        const xds_type_t *type = &xds_types[t];
        snprintf(coll, sizeof(coll), "resources.%s", type->path);
        for (size_t i = 0; i < m->resources[t].n; i++) {
            const xds_model_item_t *it = &m->resources[t].items[i];
            const xj_t *at = xj_get(it->item, "@type");
            gen_ctx_t c;
            xj_t *res;

            gen_ctx_item(&c, out, coll, it);
            if (at != NULL && (at->type != XJ_STRING || strcmp(at->u.str.s, type->type_url) != 0)) {
                failed = gen_fail(&c, "\"@type\"", "expected \"%s\", got %s", type->type_url,
                                  gen_describe(at, got, sizeof(got)));
                continue; /* go on: report every item's mistakes */
            }
            res = xj_clone(it->item);
            xj_free(xj_take(res, "@type"));
            xj_free(xj_take(res, "match")); /* ours, not Envoy's */
            if (xds_gen_add(out, type->id, it->name, res, it,
                            gen_origin(&c, origin, sizeof(origin))) != XDS_OK)
                failed = XDS_ERROR;
        }
    }
    return failed;
}

/* The raw resources generator, listed in core/modules.c. */
const xds_generator_t xds_gen_raw = {"raw", generate_raw, NULL, NULL};
