/*
 * plugin.c -- the plugin loader (source plugins and generator modules).  Like Varnish's VMOD
 * loader, it refuses anything whose magic, ABI major, ABI minor or struct size is not what this
 * xdsd speaks, and says which check failed.  Plugin directives are parsed here from the plugin's
 * own table, so typos in a source block are caught by `xdsd -t` with file and line like any other
 * directive.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "plugin.h"
#include "types.h"

static const char *const host_directives[] = {"plugin", "required", "stale_after",
                                              "max_document_size", NULL};

int xds_source_directive(const char *name)
{
    for (size_t i = 0; host_directives[i]; i++)
        if (strcmp(host_directives[i], name) == 0)
            return 1;
    return 0;
}

char *xds_path_resolve(const char *prefix, const char *path)
{
    if (path[0] == '/' || prefix == NULL || prefix[0] == '\0')
        return xds_strdup(path);
    xds_buf_t b = {0};
    xds_buf_appends(&b, prefix);
    if (b.len && b.data[b.len - 1] != '/')
        xds_buf_append(&b, "/", 1);
    xds_buf_appends(&b, path);
    return xds_buf_detach(&b, NULL);
}

int xds_generator_directive(const char *name)
{
    return strcmp(name, "plugin") == 0 || strcmp(name, "type") == 0;
}

/* The checks both kinds share: magic, ABI, struct size, name, directives. */
static int check_abi(const char *name, const char *path, const char *kind, uint32_t magic,
                     uint32_t want_magic, unsigned major, unsigned minor, unsigned want_major,
                     unsigned want_minor, size_t size, size_t want_size, const char *self,
                     const xdsd_directive_t *dirs, size_t conf_size, int (*host)(const char *),
                     char *err, size_t errlen)
{
    if (magic != want_magic) {
        snprintf(err, errlen,
                 "plugin \"%s\" (%s): bad magic 0x%08x, expected 0x%08x: not a xdsd %s", name, path,
                 magic, want_magic, kind);
        return XDS_ERROR;
    }
    if (major != want_major) {
        snprintf(err, errlen,
                 "plugin \"%s\" (%s): built for %s ABI major %u.%u, this xdsd speaks %u.%u: "
                 "rebuild it against this xdsd's headers",
                 name, path, kind, major, minor, want_major, want_minor);
        return XDS_ERROR;
    }
    if (minor > want_minor) {
        snprintf(err, errlen,
                 "plugin \"%s\" (%s): needs %s ABI minor %u.%u, this xdsd speaks %u.%u: "
                 "upgrade xdsd",
                 name, path, kind, major, minor, want_major, want_minor);
        return XDS_ERROR;
    }
    if (size < want_size) {
        snprintf(err, errlen,
                 "plugin \"%s\" (%s): struct size %zu is smaller than this ABI's %zu: "
                 "corrupt or mismatched %s",
                 name, path, size, want_size, kind);
        return XDS_ERROR;
    }
    if (self == NULL || strcmp(self, name) != 0) {
        snprintf(err, errlen, "plugin \"%s\" (%s): calls itself \"%s\"", name, path,
                 self ? self : "(null)");
        return XDS_ERROR;
    }
    for (const xdsd_directive_t *d = dirs; d && d->name; d++) {
        if (d->type < XDSD_ARG_STRING || d->type > XDSD_ARG_STRING_LIST ||
            d->offset >= (conf_size ? conf_size : 1) || host(d->name)) {
            snprintf(err, errlen, "plugin \"%s\" (%s): invalid directive table entry \"%s\"", name,
                     path, d->name);
            return XDS_ERROR;
        }
    }
    return XDS_OK;
}

static int check_generator(const char *name, const char *path, const xdsd_generator_t *g, char *err,
                           size_t errlen)
{
    if (check_abi(name, path, "generator", g->magic, XDSD_GENERATOR_MAGIC, g->abi_major,
                  g->abi_minor, XDSD_GENERATOR_ABI_MAJOR, XDSD_GENERATOR_ABI_MINOR, g->size,
                  sizeof(xdsd_generator_t), g->name, g->directives, g->conf_size,
                  xds_generator_directive, err, errlen) != XDS_OK)
        return XDS_ERROR;
    if (g->create == NULL || g->scope == NULL || g->generate == NULL || g->destroy == NULL) {
        snprintf(err, errlen, "plugin \"%s\" (%s): create, scope, generate or destroy is missing",
                 name, path);
        return XDS_ERROR;
    }
    if (g->collection == NULL || g->collection[0] == '\0') {
        snprintf(err, errlen, "plugin \"%s\" (%s): names no model collection", name, path);
        return XDS_ERROR;
    }
    if (g->type && xds_type_by_path(g->type, strlen(g->type)) == NULL) {
        snprintf(err, errlen, "plugin \"%s\" (%s): makes an unknown resource type \"%s\"", name,
                 path, g->type);
        return XDS_ERROR;
    }
    return XDS_OK;
}

xds_plugin_t *xds_plugin_load(const char *name, const char *path, char *err, size_t errlen)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        snprintf(err, errlen, "plugin \"%s\": cannot load: %s", name, dlerror());
        return NULL;
    }
    const xdsd_plugin_t *p = dlsym(dl, XDSD_PLUGIN_ENTRY_SYMBOL);
    const xdsd_generator_t *g = p ? NULL : dlsym(dl, XDSD_GENERATOR_ENTRY_SYMBOL);
    if (p == NULL && g == NULL) {
        snprintf(err, errlen,
                 "plugin \"%s\" (%s): no symbol \"" XDSD_PLUGIN_ENTRY_SYMBOL
                 "\" (nor \"" XDSD_GENERATOR_ENTRY_SYMBOL "\"): not a xdsd plugin",
                 name, path);
        goto failed;
    }
    if (g != NULL) {
        if (check_generator(name, path, g, err, errlen) != XDS_OK)
            goto failed;
    } else {
        if (check_abi(name, path, "plugin", p->magic, XDSD_PLUGIN_MAGIC, p->abi_major, p->abi_minor,
                      XDSD_PLUGIN_ABI_MAJOR, XDSD_PLUGIN_ABI_MINOR, p->size, sizeof(xdsd_plugin_t),
                      p->name, p->directives, p->conf_size, xds_source_directive, err,
                      errlen) != XDS_OK)
            goto failed;
        if (p->create == NULL || p->start == NULL || p->destroy == NULL) {
            snprintf(err, errlen, "plugin \"%s\" (%s): create, start or destroy is missing", name,
                     path);
            goto failed;
        }
    }

    xds_plugin_t *pl = xds_calloc(1, sizeof(*pl));
    pl->name = xds_strdup(name);
    pl->path = xds_strdup(path);
    pl->dl = dl;
    pl->p = p;
    pl->g = g;
    atomic_init(&pl->refs, 1);
    return pl;

failed:
    dlclose(dl);
    return NULL;
}

xds_plugin_t *xds_plugin_ref(xds_plugin_t *pl)
{
    atomic_fetch_add_explicit(&pl->refs, 1, memory_order_relaxed);
    return pl;
}

void xds_plugin_unload(xds_plugin_t *pl)
{
    if (pl == NULL || atomic_fetch_sub_explicit(&pl->refs, 1, memory_order_acq_rel) != 1)
        return;
    dlclose(pl->dl);
    free(pl->name);
    free(pl->path);
    free(pl);
}

/* The directive table, conf size and host directives of either kind. */
static const xdsd_directive_t *directives_of(const xds_plugin_t *pl, size_t *conf_size)
{
    *conf_size = pl->g ? pl->g->conf_size : pl->p->conf_size;
    return pl->g ? pl->g->directives : pl->p->directives;
}

static int host_directive(const xds_plugin_t *pl, const char *name)
{
    return pl->g ? xds_generator_directive(name) : xds_source_directive(name);
}

static const char *arg_type_name(xdsd_arg_type_t t)
{
    switch (t) {
    case XDSD_ARG_DURATION:
        return "duration";
    case XDSD_ARG_SIZE:
        return "size";
    case XDSD_ARG_FLAG:
        return "value, expected on or off";
    case XDSD_ARG_INT:
        return "integer";
    default:
        return "value";
    }
}

void *xds_plugin_conf_parse(const xds_plugin_t *pl, const xds_cnode_t *block, const char *prefix,
                            char *err, size_t errlen)
{
    size_t conf_size;
    const xdsd_directive_t *dirs = directives_of(pl, &conf_size);
    char *conf = xds_calloc(1, conf_size ? conf_size : 1);
    size_t nd = 0;
    while (dirs && dirs[nd].name)
        nd++;
    unsigned char *seen = xds_calloc(nd ? nd : 1, 1);

    for (size_t i = 0; i < block->nchildren; i++) {
        const xds_cnode_t *c = &block->children[i];
        if (host_directive(pl, c->name))
            continue;
        size_t k;
        for (k = 0; k < nd; k++)
            if (strcmp(dirs[k].name, c->name) == 0)
                break;
        if (k == nd) {
            xds_conf_node_error(c, err, errlen, "unknown directive for plugin \"%s\"", pl->name);
            goto failed;
        }
        const xdsd_directive_t *d = &dirs[k];
        if (c->block) {
            xds_conf_node_error(c, err, errlen, "takes no { } block");
            goto failed;
        }
        if (c->nargs != 1) {
            xds_conf_node_error(c, err, errlen, "invalid number of arguments");
            goto failed;
        }
        if (seen[k] && d->type != XDSD_ARG_STRING_LIST) {
            xds_conf_node_error(c, err, errlen, "is duplicate");
            goto failed;
        }
        seen[k] = 1;
        const char *a = c->args[0];
        void *field = conf + d->offset;
        int rc = XDS_OK;
        switch (d->type) {
        case XDSD_ARG_STRING_LIST: {
            char **list = *(char ***)field;
            size_t n = 0;
            while (list && list[n])
                n++;
            list = xds_realloc(list, (n + 2) * sizeof(char *));
            list[n] = xds_strdup(a);
            list[n + 1] = NULL;
            *(char ***)field = list;
            break;
        }
        case XDSD_ARG_STRING:
            *(char **)field = xds_strdup(a);
            break;
        case XDSD_ARG_PATH:
            *(char **)field = xds_path_resolve(prefix, a);
            break;
        case XDSD_ARG_DURATION:
            rc = xds_parse_msec(a, (int64_t *)field);
            break;
        case XDSD_ARG_SIZE:
            rc = xds_parse_size(a, (int64_t *)field);
            break;
        case XDSD_ARG_FLAG:
            rc = xds_parse_flag(a, (int *)field);
            break;
        case XDSD_ARG_INT:
            rc = xds_parse_int(a, (int64_t *)field);
            break;
        }
        if (rc != XDS_OK) {
            xds_conf_node_error(c, err, errlen, "invalid %s \"%s\"", arg_type_name(d->type), a);
            goto failed;
        }
    }
    for (size_t k = 0; k < nd; k++) {
        if ((dirs[k].flags & XDSD_DIRECTIVE_REQUIRED) && !seen[k]) {
            xds_conf_node_error(block, err, errlen, "directive \"%s\" is required by plugin \"%s\"",
                                dirs[k].name, pl->name);
            goto failed;
        }
    }
    free(seen);
    return conf;

failed:
    free(seen);
    xds_plugin_conf_free(pl, conf);
    return NULL;
}

void xds_plugin_conf_free(const xds_plugin_t *pl, void *conf)
{
    if (conf == NULL)
        return;
    size_t conf_size;
    for (const xdsd_directive_t *d = directives_of(pl, &conf_size); d && d->name; d++) {
        void *field = (char *)conf + d->offset;
        if (d->type == XDSD_ARG_STRING || d->type == XDSD_ARG_PATH) {
            free(*(char **)field);
        } else if (d->type == XDSD_ARG_STRING_LIST && *(char ***)field) {
            for (char **p = *(char ***)field; *p; p++)
                free(*p);
            free(*(char ***)field);
        }
    }
    free(conf);
}
