/*
 * xdsd_generator.h -- the one header a xdsd generator module includes.
 *
 * A generator module turns a collection of the model into Envoy resources
 * of one type, like the built-in generators (clusters, endpoints, ...).  It
 * is a shared object loaded like a source plugin (`load_plugin NAME;`, or
 * found in plugin_dir by `generator NAME { plugin P; type T; }`) and follows
 * the same ABI rules (xdsd_plugin.h): it exports exactly one symbol,
 * `xdsd_generator_entry`, a const xdsd_generator_t whose magic, ABI major
 * (equal), ABI minor (<= the host's) and struct size the host checks before
 * anything else; it never links against xdsd: all it needs comes through
 * the xdsd_gen_api_t table; its directives are declared in a table and
 * parsed by the host (file:line errors are the host's).
 *
 * The model.  The module names one collection (`collection`, e.g.
 * "runtime"): sources may then publish it at the top level of their
 * documents, an array of objects with a unique non-empty "name" and an
 * optional "match" (which proxies get the item), checked and merged by
 * the host exactly like "services".  Everything else about the items is
 * the module's to check: report bad data with api->error().
 *
 * Calls.  create() and destroy() run on the main thread at conf load and
 * unload.  generate() is pure: it may run on any thread, concurrently with
 * itself (one call per build and per node group), must not block, and
 * reads nothing but its conf, its state and the call.  It runs once on the
 * whole model (no node: node() answers NULL) when a build is made -- that
 * run decides whether the build is valid -- and again for each node group
 * whose items differ (scope XDSD_GEN_PER_SET) or for every node group
 * (XDSD_GEN_PER_NODE: the output depends on the node's attributes).
 * Resources are validated against Envoy's schema when the conf has one.
 *
 * ABI changelog
 *   1.0  first version.
 */
#ifndef XDSD_GENERATOR_H
#define XDSD_GENERATOR_H

#include "xdsd_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XDSD_GENERATOR_MAGIC        0x58445347u /* "XDSG" */
#define XDSD_GENERATOR_ABI_MAJOR    1
#define XDSD_GENERATOR_ABI_MINOR    0
#define XDSD_GENERATOR_ENTRY_SYMBOL "xdsd_generator_entry"

/* What a module's output depends on (xdsd_generator_t.scope). */
#define XDSD_GEN_PER_SET  1 /* only on which items of its collection a group gets */
#define XDSD_GEN_PER_NODE 2 /* also on the node group's attributes (api->node) */

/* One generate() call; opaque, owned by the host, valid during the call. */
typedef struct xdsd_gen_call xdsd_gen_call_t;

typedef struct xdsd_gen_api {
    uint32_t size;      /* sizeof(xdsd_gen_api_t) of the host */
    uint32_t abi_minor; /* XDSD_GENERATOR_ABI_MINOR of the host */

    /* Log a line prefixed with "generator NAME: ".  Any thread. */
    void (*log)(xdsd_gen_call_t *call, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    /* The items of the module's collection that this call covers (all of
     * them, or those that match the node group), in merge order. */
    size_t (*items)(xdsd_gen_call_t *call);
    /* Item i as compact JSON text (borrowed until generate returns; not
     * NUL-terminated: *len bytes) and its name (NUL-terminated). */
    const char *(*item)(xdsd_gen_call_t *call, size_t i, size_t *len);
    const char *(*item_name)(xdsd_gen_call_t *call, size_t i);

    /* The node group's attributes: how many keys its context has, key k's
     * name ("cluster", "locality.zone", "metadata.team"), and a key's value
     * (not NUL-terminated: *len bytes; NULL when the group's nodes do not
     * have it, or outside a group). */
    size_t (*node_keys)(xdsd_gen_call_t *call);
    const char *(*node_key)(xdsd_gen_call_t *call, size_t k);
    const char *(*node)(xdsd_gen_call_t *call, const char *key, size_t *len);

    /* Add a resource of the generator's type: its name and its message as
     * JSON (without "@type").  item: the item it comes from, or (size_t)-1.
     * XDSD_ERROR (and the call's output is refused) when the JSON does not
     * parse or is not an object. */
    int (*add)(xdsd_gen_call_t *call, size_t item, const char *name, const char *json, size_t len);

    /* Report invalid model data: item i (or (size_t)-1), e.g. error(call, 3,
     * "layer: expected an object") is reported as "runtime[name]: layer:
     * expected an object (source S)".  Refuses the build (or the group).
     * Returns XDSD_ERROR. */
    int (*error)(xdsd_gen_call_t *call, size_t item, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
} xdsd_gen_api_t;

typedef struct xdsd_generator {
    uint32_t magic;     /* XDSD_GENERATOR_MAGIC */
    uint16_t abi_major; /* XDSD_GENERATOR_ABI_MAJOR */
    uint16_t abi_minor; /* XDSD_GENERATOR_ABI_MINOR */
    uint32_t size;      /* sizeof(xdsd_generator_t) */

    const char *name;       /* must match the .so's base name */
    const char *version;    /* the module's own version string */
    const char *type;       /* resource type it makes ("runtime"), or NULL: any,
                               the conf's `type` says */
    const char *collection; /* the model collection it reads ("runtime") */

    const xdsd_directive_t *directives; /* NULL-name terminated; may be NULL */
    size_t conf_size;                   /* size of the conf struct */

    /* Validate conf (borrowed, lives as long as the instance), create the
     * state.  XDSD_ERROR with a one-line reason in err; nothing left
     * allocated. */
    int (*create)(const void *conf, void **state, char *err, size_t errlen);
    /* XDSD_GEN_PER_SET or XDSD_GEN_PER_NODE under this instance's conf. */
    int (*scope)(void *state);
    /* Make the resources of one call (see the top of the file).  XDSD_OK,
     * or XDSD_ERROR after api->error(). */
    int (*generate)(void *state, const xdsd_gen_api_t *api, xdsd_gen_call_t *call);
    void (*destroy)(void *state);
} xdsd_generator_t;

#ifdef __cplusplus
}
#endif

#endif /* XDSD_GENERATOR_H */
