/*
 * host.c -- see host.h.  The plugin behind the fuzz source is a stub whose
 * create() only remembers the API table it is given; everything the targets
 * call through that table is core/source.c's real code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "genout.h"
#include "host.h"
#include "log.h"
#include "model.h"

static const xdsd_host_api_t *captured_api;
static int stub_state;

static int stub_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                       void **state, char *err, size_t errlen)
{
    (void)src;
    (void)conf;
    (void)err;
    (void)errlen;
    captured_api = api;
    *state = &stub_state;
    return XDSD_OK;
}

static int stub_start(void *state, char *err, size_t errlen)
{
    (void)state;
    (void)err;
    (void)errlen;
    return XDSD_OK;
}

static void stub_destroy(void *state)
{
    (void)state;
}

static const xdsd_directive_t stub_directives[] = {{NULL, 0, 0, 0}};

static const xdsd_plugin_t stub_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "fuzz",
    .version = "0",
    .directives = stub_directives,
    .conf_size = 0,
    .create = stub_create,
    .start = stub_start,
    .destroy = stub_destroy,
};

static xds_plugin_t stub_plugin = {.name = "fuzz", .path = "(built in)", .p = &stub_entry};

/* Create a source from conf (see host.h). */
xds_source_t *fuzz_source_new(const char *conf, int strict, const xdsd_host_api_t **api, char *err,
                              size_t errlen)
{
    fuzz_log_init();
    xds_cnode_t *root = xds_conf_parse_string(conf, "fuzz.conf", err, errlen);
    if (root == NULL)
        return NULL;
    xds_source_t *s = NULL;
    if (root->nchildren == 1 && root->children[0].nargs == 1)
        s = xds_source_create(&root->children[0], &stub_plugin, "/", strict, err, errlen);
    else
        snprintf(err, errlen, "fuzz.conf: expected one source block");
    xds_conf_free(root);
    if (s != NULL && api != NULL)
        *api = captured_api;
    return s;
}

/* See host.h. */
void fuzz_log_init(void)
{
    xds_log_level = getenv("XDSD_FUZZ_LOG") != NULL ? XDS_LOG_DEBUG : -1;
}

/* Destroy a source made by fuzz_source_new (its last good document too). */
void fuzz_source_free(xds_source_t *s)
{
    xds_source_destroy(s);
}

static const char model_json[] =
    "{\"services\":[{\"name\":\"greeter\",\"domains\":[\"greeter.example.com\"],"
    "\"discovery\":\"eds\",\"endpoints\":[{\"address\":\"10.0.0.1\",\"port\":8080}]},"
    "{\"name\":\"inventory\",\"domains\":[\"inventory.example.com\"],"
    "\"endpoints\":[{\"address\":\"10.0.0.2\",\"port\":9090}]}],"
    "\"listeners\":[{\"name\":\"ingress\",\"port\":10000}]}";

/* See host.h. */
xds_snapshot_t *fuzz_snapshot_new(void)
{
    char err[XDS_ERRLEN];
    xj_t *doc = xj_parse(model_json, strlen(model_json), 64, err, sizeof(err));
    if (doc == NULL || xds_model_check_document(doc, 1, err, sizeof(err)) != XDS_OK) {
        fprintf(stderr, "fuzz: built-in model: %s\n", err);
        abort();
    }
    const xj_t *docs[1] = {doc};
    const char *names[1] = {"catalog"};
    xds_model_t m;
    memset(&m, 0, sizeof(m));
    m.opts.xds_cluster = "xds_cluster";
    m.opts.refresh_delay_ms = 1000;
    xds_model_build(&m, docs, names, 1);
    xds_gen_out_t *out = xds_gen_out_new();
    if (xds_generate(&m, out) != XDS_OK) {
        fprintf(stderr, "fuzz: built-in model: %s\n", out->error);
        abort();
    }
    xds_snapshot_t *s = xds_snapshot_build(out, 1);
    xds_gen_out_free(out);
    xds_model_free(&m);
    xj_free(doc);
    return s;
}
