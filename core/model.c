/*
 * model.c -- checking a source's document and merging the documents of all
 * sources into the model the generators read.
 *
 * A document is checked when its source publishes it, so that a broken
 * document is refused there (and the source keeps its last good one) rather
 * than failing every later build.  The check covers only the shape the merge
 * relies on: known collections, arrays of objects, a unique non-empty name
 * per item.  What an item means is the generators' business.
 *
 * The merge walks the documents in source declaration order; an item whose
 * name is already in its collection replaces the earlier item in place (so
 * the order of the model does not depend on which source won), and the
 * clash is logged.  Name lookups go through a hash table: merging 10,000
 * items is O(n).  The model borrows the items from the documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genout.h"
#include "log.h"
#include "model.h"

/* The collections a version 1 document may hold at its top level. */
enum { COLL_SERVICES, COLL_LISTENERS, COLL_RESOURCES, COLL_UNKNOWN };

static int key_is(const xj_member_t *m, const char *s)
{
    size_t n = strlen(s);
    return m->klen == n && memcmp(m->key, s, n) == 0;
}

static int collection_of(const xj_member_t *m)
{
    if (key_is(m, "services"))
        return COLL_SERVICES;
    if (key_is(m, "listeners"))
        return COLL_LISTENERS;
    if (key_is(m, "resources"))
        return COLL_RESOURCES;
    return COLL_UNKNOWN;
}

/* " (line L, column C)" for values that came from parsed text, else "". */
static const char *where(const xj_t *v, char *buf, size_t len)
{
    if (v == NULL || v->line == 0) {
        buf[0] = '\0';
        return buf;
    }
    snprintf(buf, len, " (line %u, column %u)", (unsigned)v->line, (unsigned)v->col);
    return buf;
}

/* Check one collection: an array of objects, each with a unique non-empty
 * string in name_field and valid "match" rules if it has any.  label is
 * "services" or "resources.clusters". */
static int check_collection(const xj_t *arr, const char *label, const char *name_field, char *err,
                            size_t errlen)
{
    char at[64], q[96];
    xds_name_index_t ix;
    int rc = XDS_OK;

    if (arr->type != XJ_ARRAY) {
        snprintf(err, errlen, "%s%s: expected an array, got %s", label, where(arr, at, sizeof(at)),
                 xj_type_name(arr->type));
        return XDS_ERROR;
    }
    xds_name_index_init(&ix, arr->u.arr.n, 0);
    for (size_t i = 0; i < arr->u.arr.n; i++) {
        const xj_t *item = arr->u.arr.v[i];
        const xj_t *name;
        size_t first;

        where(item, at, sizeof(at));
        if (item->type != XJ_OBJECT) {
            snprintf(err, errlen, "%s[%zu]%s: expected an object, got %s", label, i, at,
                     xj_type_name(item->type));
            rc = XDS_ERROR;
            break;
        }
        name = xj_get(item, name_field);
        if (name == NULL) {
            snprintf(err, errlen, "%s[%zu]%s: \"%s\" is missing", label, i, at, name_field);
            rc = XDS_ERROR;
            break;
        }
        if (name->type != XJ_STRING || name->u.str.len == 0) {
            snprintf(err, errlen, "%s[%zu]%s: \"%s\" must be a non-empty string", label, i, at,
                     name_field);
            rc = XDS_ERROR;
            break;
        }
        if (strlen(name->u.str.s) != name->u.str.len) {
            snprintf(err, errlen, "%s[%zu]%s: \"%s\" must not contain a NUL character", label, i,
                     at, name_field);
            rc = XDS_ERROR;
            break;
        }
        const xj_t *match = xj_get(item, "match");
        char why[XDS_ERRLEN];
        if (match != NULL && xds_match_check(match, why, sizeof(why)) != XDS_OK) {
            snprintf(err, errlen, "%s[%zu]%s: %s", label, i, where(match, at, sizeof(at)), why);
            rc = XDS_ERROR;
            break;
        }
        if (!xds_name_index_put(&ix, name->u.str.s, i, &first)) {
            snprintf(err, errlen, "%s[%zu]%s: duplicate name %s (first used by %s[%zu])", label, i,
                     at, xj_quote(name->u.str.s, name->u.str.len, q, sizeof(q)), label, first);
            rc = XDS_ERROR;
            break;
        }
    }
    xds_name_index_free(&ix);
    return rc;
}

/* An unknown key: an error when strict, else a warning and XDS_OK. */
static int unknown_key(const char *what, const xj_member_t *m, const char *in, int strict,
                       char *err, size_t errlen)
{
    char at[64], q[96];

    xj_quote(m->key, m->klen, q, sizeof(q));
    where(m->val, at, sizeof(at));
    if (strict) {
        snprintf(err, errlen, "unknown %s %s%s%s", what, q, in, at);
        return XDS_ERROR;
    }
    xds_log(XDS_LOG_WARN, "unknown %s %s%s%s ignored", what, q, in, at);
    return XDS_OK;
}

int xds_model_check_document(const xj_t *doc, int strict, char *err, size_t errlen)
{
    return xds_model_check_document_ex(doc, strict, NULL, 0, err, errlen);
}

/* Index of the extra collection named by m's key, or -1. */
static int extra_of(const xj_member_t *m, const char *const *extra, size_t nextra)
{
    for (size_t k = 0; k < nextra; k++)
        if (key_is(m, extra[k]))
            return (int)k;
    return -1;
}

/* Check a source's document before it is accepted (see model.h). */
int xds_model_check_document_ex(const xj_t *doc, int strict, const char *const *extra,
                                size_t nextra, char *err, size_t errlen)
{
    char at[64], label[64];

    if (doc == NULL || doc->type != XJ_OBJECT) {
        snprintf(err, errlen, "the document must be a JSON object, got %s",
                 doc ? xj_type_name(doc->type) : "nothing");
        return XDS_ERROR;
    }
    for (size_t i = 0; i < doc->u.obj.n; i++) {
        const xj_member_t *m = &doc->u.obj.m[i];

        switch (collection_of(m)) {
        case COLL_SERVICES:
        case COLL_LISTENERS:
            if (check_collection(m->val, m->key, "name", err, errlen) != XDS_OK)
                return XDS_ERROR;
            break;
        case COLL_RESOURCES:
            if (m->val->type != XJ_OBJECT) {
                snprintf(err, errlen, "resources%s: expected an object, got %s",
                         where(m->val, at, sizeof(at)), xj_type_name(m->val->type));
                return XDS_ERROR;
            }
            for (size_t j = 0; j < m->val->u.obj.n; j++) {
                const xj_member_t *r = &m->val->u.obj.m[j];
                const xds_type_t *t = xds_type_by_path(r->key, r->klen);
                if (t == NULL) {
                    if (unknown_key("resource type", r, " in resources", strict, err, errlen) !=
                        XDS_OK)
                        return XDS_ERROR;
                    continue;
                }
                snprintf(label, sizeof(label), "resources.%s", t->path);
                if (check_collection(r->val, label, t->name_field, err, errlen) != XDS_OK)
                    return XDS_ERROR;
            }
            break;
        default:
            if (extra_of(m, extra, nextra) >= 0) {
                if (check_collection(m->val, m->key, "name", err, errlen) != XDS_OK)
                    return XDS_ERROR;
                break;
            }
            if (unknown_key("collection", m, "", strict, err, errlen) != XDS_OK)
                return XDS_ERROR;
        }
    }
    return XDS_OK;
}

xds_doc_t *xds_doc_new(xj_t *root)
{
    xds_doc_t *d = xds_malloc(sizeof(*d));
    atomic_init(&d->refs, 1);
    d->root = root;
    return d;
}

xds_doc_t *xds_doc_ref(xds_doc_t *d)
{
    atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
    return d;
}

void xds_doc_unref(xds_doc_t *d)
{
    if (d == NULL || atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
        return;
    xj_free(d->root);
    free(d);
}

/* Merge state of one collection. */
typedef struct {
    xds_collection_t *c;
    size_t cap;
    xds_name_index_t ix;
    char label[64]; /* "services", "resources.clusters" */
} merge_t;

static void merge_items(merge_t *mg, const xj_t *arr, const char *name_field, const char *source)
{
    if (arr == NULL || arr->type != XJ_ARRAY)
        return;
    for (size_t i = 0; i < arr->u.arr.n; i++) {
        const xj_t *item = arr->u.arr.v[i];
        const char *name = xj_str(xj_get(item, name_field));
        size_t at;

        if (item->type != XJ_OBJECT || name == NULL || *name == '\0')
            continue; /* refused by the check; never in a checked document */
        if (!xds_name_index_put(&mg->ix, name, mg->c->n, &at)) {
            xds_model_item_t *old = &mg->c->items[at];
            xds_log(XDS_LOG_NOTICE, "%s[%s]: source \"%s\" replaces the item from source \"%s\"",
                    mg->label, name, source, old->source);
            old->item = item;
            old->source = source;
            old->name = name; /* the index keeps the old, equal key */
            continue;
        }
        if (mg->c->n == mg->cap) {
            mg->cap = mg->cap ? mg->cap * 2 : 16;
            mg->c->items = xds_realloc(mg->c->items, mg->cap * sizeof(xds_model_item_t));
        }
        mg->c->items[mg->c->n++] = (xds_model_item_t){item, source, name, NULL, 0, 0};
    }
}

/* Merge checked documents into m (see model.h). */
int xds_model_build(xds_model_t *m, const xj_t *const *docs, const char *const *sources, size_t n)
{
    merge_t mg[XDS_NCOLL];

    memset(mg, 0, sizeof(mg));
    mg[0].c = &m->services;
    snprintf(mg[0].label, sizeof(mg[0].label), "services");
    mg[1].c = &m->listeners;
    snprintf(mg[1].label, sizeof(mg[1].label), "listeners");
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        mg[2 + t].c = &m->resources[t];
        snprintf(mg[2 + t].label, sizeof(mg[2 + t].label), "resources.%s", xds_types[t].path);
    }
    for (size_t k = 0; k < XDS_MAX_EXTRA; k++) {
        mg[XDS_COLL_EXTRA + k].c = &m->extra[k];
        if (k < m->nextra)
            snprintf(mg[XDS_COLL_EXTRA + k].label, sizeof(mg[0].label), "%s", m->extra_names[k]);
    }

    for (size_t d = 0; d < n; d++) {
        const xj_t *doc = docs[d];
        const char *source = sources ? sources[d] : "?";
        if (doc == NULL || doc->type != XJ_OBJECT)
            continue;
        for (size_t i = 0; i < doc->u.obj.n; i++) {
            const xj_member_t *mb = &doc->u.obj.m[i];
            switch (collection_of(mb)) {
            case COLL_SERVICES:
                merge_items(&mg[0], mb->val, "name", source);
                break;
            case COLL_LISTENERS:
                merge_items(&mg[1], mb->val, "name", source);
                break;
            case COLL_RESOURCES:
                if (mb->val->type != XJ_OBJECT)
                    break;
                for (size_t j = 0; j < mb->val->u.obj.n; j++) {
                    const xj_member_t *r = &mb->val->u.obj.m[j];
                    const xds_type_t *t = xds_type_by_path(r->key, r->klen);
                    if (t != NULL)
                        merge_items(&mg[2 + t->id], r->val, t->name_field, source);
                }
                break;
            default: {
                int k = extra_of(mb, m->extra_names,
                                 m->nextra < XDS_MAX_EXTRA ? m->nextra : XDS_MAX_EXTRA);
                if (k >= 0) /* else an unknown collection: warned about by the check */
                    merge_items(&mg[XDS_COLL_EXTRA + k], mb->val, "name", source);
                break;
            }
            }
        }
    }
    for (size_t i = 0; i < xds_nelems(mg); i++) {
        xds_name_index_free(&mg[i].ix);
        for (size_t k = 0; k < mg[i].c->n; k++) { /* after the merge: winners only */
            xds_model_item_t *it = &mg[i].c->items[k];
            it->index = k;
            it->coll = (int)i; /* mg[] is laid out as XDS_COLL_* */
            it->match = xds_match_compile(xj_get(it->item, "match"));
        }
    }
    return XDS_OK;
}

static void free_collection(xds_collection_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        xds_match_free((xds_match_t *)c->items[i].match);
    free(c->items);
    *c = (xds_collection_t){0};
}

/* Free the item arrays of m; the documents stay with their sources. */
void xds_model_free(xds_model_t *m)
{
    free_collection(&m->services);
    free_collection(&m->listeners);
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
        free_collection(&m->resources[t]);
    for (size_t k = 0; k < XDS_MAX_EXTRA; k++)
        free_collection(&m->extra[k]);
}
