/*
 * cgen.c -- generator modules as generators of the build (cgen.h): the host
 * API a module's generate() sees, over the model, the node group's context
 * and the build's output.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgen.h"
#include "conf.h"
#include "log.h"

struct xdsd_gen_call {
    const xds_cgen_t *g;
    const xds_model_t *m;
    const xds_collection_t *items;
    xds_gen_out_t *out;
    xds_buf_t *text; /* items' JSON, serialized on first use */
    int failed;
};

static void api_log(xdsd_gen_call_t *call, int level, const char *fmt, ...)
{
    char msg[XDS_ERRLEN];
    va_list ap;
    if (level > xds_log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xds_log_write(level < XDSD_LOG_EMERG ? XDSD_LOG_EMERG : level, "generator \"%s\": %s",
                  call->g->name, msg);
}

static size_t api_items(xdsd_gen_call_t *call)
{
    return call->items->n;
}

static const char *api_item(xdsd_gen_call_t *call, size_t i, size_t *len)
{
    if (i >= call->items->n) {
        *len = 0;
        return NULL;
    }
    xds_buf_t *b = &call->text[i];
    if (b->data == NULL)
        xj_serialize(call->items->items[i].item, b);
    *len = b->len;
    return b->data;
}

static const char *api_item_name(xdsd_gen_call_t *call, size_t i)
{
    return i < call->items->n ? call->items->items[i].name : NULL;
}

static size_t api_node_keys(xdsd_gen_call_t *call)
{
    return call->m->node ? call->m->node->n : 0;
}

static const char *api_node_key(xdsd_gen_call_t *call, size_t k)
{
    return call->m->node && k < call->m->node->n ? call->m->node->keys[k] : NULL;
}

static const char *api_node(xdsd_gen_call_t *call, const char *key, size_t *len)
{
    const xds_str_t *v = key ? xds_ctx_get(call->m->node, key) : NULL;
    if (len)
        *len = v ? v->n : 0;
    return v ? v->p : NULL;
}

/* "runtime[name] (source S)" for item i, or "generator NAME". */
static void origin_of(xdsd_gen_call_t *call, size_t i, char *buf, size_t len)
{
    if (i < call->items->n)
        snprintf(buf, len, "%s[%s] (source %s)", call->g->collection, call->items->items[i].name,
                 call->items->items[i].source);
    else
        snprintf(buf, len, "generator %s", call->g->name);
}

static int api_error(xdsd_gen_call_t *call, size_t item, const char *fmt, ...)
{
    char msg[XDS_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    call->failed = 1;
    if (item < call->items->n) {
        const xds_model_item_t *it = &call->items->items[item];
        return xds_gen_error(call->out, "%s[%s]: %s (source %s)", call->g->collection, it->name,
                             msg, it->source);
    }
    return xds_gen_error(call->out, "generator %s: %s", call->g->name, msg);
}

static int api_add(xdsd_gen_call_t *call, size_t item, const char *name, const char *json,
                   size_t len)
{
    char err[XDS_ERRLEN], origin[XDS_ERRLEN];
    origin_of(call, item, origin, sizeof(origin));
    if (name == NULL || name[0] == '\0' || json == NULL) {
        call->failed = 1;
        return xds_gen_error(call->out,
                             "%s: generator %s added a resource without a name or "
                             "body",
                             origin, call->g->name);
    }
    xj_t *v = xj_parse(json, len, 100, err, sizeof(err));
    if (v == NULL || v->type != XJ_OBJECT) {
        xj_free(v);
        call->failed = 1;
        return xds_gen_error(call->out, "%s: generator %s made %s[%s] of invalid JSON: %s", origin,
                             call->g->name, call->g->type->path, name, v ? "not an object" : err);
    }
    xj_free(xj_take(v, "@type")); /* the snapshot writes it */
    return xds_gen_add(call->out, call->g->type->id, name, v,
                       item < call->items->n ? &call->items->items[item] : NULL, origin);
}

static const xdsd_gen_api_t api = {
    sizeof(xdsd_gen_api_t),
    XDSD_GENERATOR_ABI_MINOR,
    api_log,
    api_items,
    api_item,
    api_item_name,
    api_node_keys,
    api_node_key,
    api_node,
    api_add,
    api_error,
};

int xds_cgen_generate(const xds_model_t *m, xds_gen_out_t *out)
{
    size_t k = (size_t)out->cur_gen - xds_ngenerators;
    if (k >= m->opts.ncustom)
        return xds_gen_error(out, "generator index %d out of range", out->cur_gen);
    const xds_cgen_t *g = m->opts.custom[k];
    xdsd_gen_call_t call = {0};
    call.g = g;
    call.m = m;
    call.items = &m->extra[g->coll - XDS_COLL_EXTRA];
    call.out = out;
    call.text = xds_calloc(call.items->n ? call.items->n : 1, sizeof(xds_buf_t));
    int rc = g->pl->g->generate(g->state, &api, &call);
    for (size_t i = 0; i < call.items->n; i++)
        xds_buf_free(&call.text[i]);
    free(call.text);
    if (rc != XDSD_OK && !call.failed)
        xds_gen_error(out, "generator %s failed without saying why", g->name);
    return rc == XDSD_OK && !call.failed ? XDS_OK : XDS_ERROR;
}

xds_cgen_t *xds_cgen_create(xds_plugin_t *pl, const xds_cnode_t *block, const char *prefix,
                            int coll, char *err, size_t errlen)
{
    const char *type_path = NULL;
    for (size_t i = 0; i < block->nchildren; i++)
        if (strcmp(block->children[i].name, "type") == 0 && block->children[i].nargs == 1)
            type_path = block->children[i].args[0];
    const xds_type_t *type = type_path ? xds_type_by_path(type_path, strlen(type_path)) : NULL;
    if (type_path == NULL) {
        xds_conf_node_error(block, err, errlen,
                            "needs \"type TYPE;\" (the resource type it makes)");
        return NULL;
    }
    if (type == NULL) {
        xds_conf_node_error(block, err, errlen, "unknown resource type \"%s\"", type_path);
        return NULL;
    }
    if (pl->g->type && strcmp(pl->g->type, type->path) != 0) {
        xds_conf_node_error(block, err, errlen, "plugin \"%s\" makes %s, not %s", pl->name,
                            pl->g->type, type->path);
        return NULL;
    }
    void *conf = xds_plugin_conf_parse(pl, block, prefix, err, errlen);
    if (conf == NULL)
        return NULL;
    char perr[XDS_ERRLEN] = "";
    void *state = NULL;
    if (pl->g->create(conf, &state, perr, sizeof(perr)) != XDSD_OK) {
        xds_conf_node_error(block, err, errlen, "plugin \"%s\" refused the block: %s", pl->name,
                            perr[0] ? perr : "no reason given");
        xds_plugin_conf_free(pl, conf);
        return NULL;
    }
    xds_cgen_t *g = xds_calloc(1, sizeof(*g));
    atomic_init(&g->refs, 1);
    g->name = xds_strdup(block->args[0]);
    g->pl = xds_plugin_ref(pl);
    g->conf = conf;
    g->state = state;
    g->type = type;
    g->collection = pl->g->collection;
    g->coll = coll;
    g->scope = pl->g->scope(state) == XDSD_GEN_PER_NODE ? XDS_GEN_PER_NODE : XDS_GEN_PER_SET;
    return g;
}

xds_cgen_t *xds_cgen_ref(xds_cgen_t *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

void xds_cgen_unref(xds_cgen_t *g)
{
    if (g == NULL || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    g->pl->g->destroy(g->state);
    xds_plugin_conf_free(g->pl, g->conf);
    xds_plugin_unload(g->pl);
    free(g->name);
    free(g);
}
