/*
 * plugin.c -- the source plugin loader.  Like Varnish's VMOD loader, it
 * refuses anything whose magic, ABI major, ABI minor or struct size is not
 * what this xdsd speaks, and says which check failed.  Plugin directives
 * are parsed here from the plugin's own table, so typos in a source block
 * are caught by `xdsd -t` with file and line like any other directive.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "plugin.h"

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

xds_plugin_t *xds_plugin_load(const char *name, const char *path, char *err, size_t errlen)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        snprintf(err, errlen, "plugin \"%s\": cannot load: %s", name, dlerror());
        return NULL;
    }
    const xdsd_plugin_t *p = dlsym(dl, XDSD_PLUGIN_ENTRY_SYMBOL);
    if (p == NULL) {
        snprintf(err, errlen,
                 "plugin \"%s\" (%s): no symbol \"" XDSD_PLUGIN_ENTRY_SYMBOL
                 "\": not a xdsd plugin",
                 name, path);
        goto failed;
    }
    if (p->magic != XDSD_PLUGIN_MAGIC) {
        snprintf(err, errlen,
                 "plugin \"%s\" (%s): bad magic 0x%08x, expected 0x%08x: not a xdsd plugin", name,
                 path, p->magic, XDSD_PLUGIN_MAGIC);
        goto failed;
    }
    if (p->abi_major != XDSD_PLUGIN_ABI_MAJOR) {
        snprintf(err, errlen,
                 "plugin \"%s\" (%s): built for plugin ABI major %u.%u, this xdsd speaks %u.%u: "
                 "rebuild the plugin against this xdsd's xdsd_plugin.h",
                 name, path, p->abi_major, p->abi_minor, XDSD_PLUGIN_ABI_MAJOR,
                 XDSD_PLUGIN_ABI_MINOR);
        goto failed;
    }
    if (p->abi_minor > XDSD_PLUGIN_ABI_MINOR) {
        snprintf(err, errlen,
                 "plugin \"%s\" (%s): needs plugin ABI minor %u.%u, this xdsd speaks %u.%u: "
                 "upgrade xdsd",
                 name, path, p->abi_major, p->abi_minor, XDSD_PLUGIN_ABI_MAJOR,
                 XDSD_PLUGIN_ABI_MINOR);
        goto failed;
    }
    if (p->size < sizeof(xdsd_plugin_t)) {
        snprintf(err, errlen,
                 "plugin \"%s\" (%s): struct size %u is smaller than this ABI's %zu: "
                 "corrupt or mismatched plugin",
                 name, path, p->size, sizeof(xdsd_plugin_t));
        goto failed;
    }
    if (p->name == NULL || strcmp(p->name, name) != 0) {
        snprintf(err, errlen, "plugin \"%s\" (%s): calls itself \"%s\"", name, path,
                 p->name ? p->name : "(null)");
        goto failed;
    }
    if (p->create == NULL || p->start == NULL || p->destroy == NULL) {
        snprintf(err, errlen, "plugin \"%s\" (%s): create, start or destroy is missing", name,
                 path);
        goto failed;
    }
    for (const xdsd_directive_t *d = p->directives; d && d->name; d++) {
        if (d->type < XDSD_ARG_STRING || d->type > XDSD_ARG_STRING_LIST ||
            d->offset >= (p->conf_size ? p->conf_size : 1) || xds_source_directive(d->name)) {
            snprintf(err, errlen, "plugin \"%s\" (%s): invalid directive table entry \"%s\"", name,
                     path, d->name);
            goto failed;
        }
    }

    xds_plugin_t *pl = xds_calloc(1, sizeof(*pl));
    pl->name = xds_strdup(name);
    pl->path = xds_strdup(path);
    pl->dl = dl;
    pl->p = p;
    return pl;

failed:
    dlclose(dl);
    return NULL;
}

void xds_plugin_unload(xds_plugin_t *pl)
{
    if (pl == NULL)
        return;
    dlclose(pl->dl);
    free(pl->name);
    free(pl->path);
    free(pl);
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
    const xdsd_plugin_t *p = pl->p;
    char *conf = xds_calloc(1, p->conf_size ? p->conf_size : 1);
    size_t nd = 0;
    while (p->directives && p->directives[nd].name)
        nd++;
    unsigned char *seen = xds_calloc(nd ? nd : 1, 1);

    for (size_t i = 0; i < block->nchildren; i++) {
        const xds_cnode_t *c = &block->children[i];
        if (xds_source_directive(c->name))
            continue;
        size_t k;
        for (k = 0; k < nd; k++)
            if (strcmp(p->directives[k].name, c->name) == 0)
                break;
        if (k == nd) {
            xds_conf_node_error(c, err, errlen, "unknown directive for plugin \"%s\"", pl->name);
            goto failed;
        }
        const xdsd_directive_t *d = &p->directives[k];
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
        if ((p->directives[k].flags & XDSD_DIRECTIVE_REQUIRED) && !seen[k]) {
            xds_conf_node_error(block, err, errlen, "directive \"%s\" is required by plugin \"%s\"",
                                p->directives[k].name, pl->name);
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
    for (const xdsd_directive_t *d = pl->p->directives; d && d->name; d++) {
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
