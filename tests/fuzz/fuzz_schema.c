/*
 * fuzz_schema.c -- libFuzzer target for the validation of generated
 * resources against Envoy's API schema (core/schema.c, schema_refs.c,
 * schema_text.c: proto3 JSON rules, PGV rules, Any/typed_config, well-known
 * types, the references between resources).  The schema is the
 * FileDescriptorSet the unit tests use, tests/.deps/envoy.pb, loaded once
 * in LLVMFuzzerInitialize (core/schema_load.c); without it every input is
 * skipped (tests/schema/build.sh makes it).  The path can be overridden
 * with XDSD_FUZZ_SCHEMA.
 *
 * Input: a JSON object shaped like a model's "resources" (type path ->
 * array of resources, e.g. {"clusters":[{"name":"x",...}]}); each element
 * is added under its name field (or "r<index>" when it has none) exactly as
 * the raw generator would, sorted and checked for duplicates by
 * xds_generate, then validated with xds_schema_validate.  Two optional
 * members reach further: "check": ["<message name or type URL>", value]
 * runs xds_schema_check on any message type, and "bootstrap": value checks
 * an Envoy bootstrap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "genout.h"
#include "json.h"
#include "host.h"
#include "model.h"
#include "schema.h"

static xds_schema_t *schema;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[XDS_ERRLEN];
    const char *path = getenv("XDSD_FUZZ_SCHEMA");
    (void)argc;
    (void)argv;
    fuzz_log_init();
    if (path == NULL)
        path = "tests/.deps/envoy.pb";
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "fuzz_schema: %s missing: every input is skipped\n", path);
        return 0;
    }
    schema = xds_schema_load(path, err, sizeof(err));
    if (schema == NULL) {
        fprintf(stderr, "fuzz_schema: %s\n", err);
        abort();
    }
    return 0;
}

static void check_problems(size_t n, const xds_buf_t *errors, size_t max)
{
    if ((n == 0) != (errors->len == 0) || (max && n > max)) {
        fprintf(stderr, "fuzz_schema: %zu problems reported, %zu bytes of text\n", n, errors->len);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[XDS_ERRLEN], name[32];

    if (schema == NULL || size > 256 * 1024)
        return 0;
    xj_t *doc = xj_parse((const char *)data, size, 64, err, sizeof(err));
    if (doc == NULL)
        return 0;
    if (doc->type != XJ_OBJECT) {
        xj_free(doc);
        return 0;
    }

    xds_gen_out_t *out = xds_gen_out_new();
    xds_buf_t errors = {0};
    for (size_t i = 0; i < doc->u.obj.n; i++) {
        const xj_member_t *mem = &doc->u.obj.m[i];
        const xds_type_t *type = xds_type_by_path(mem->key, mem->klen);
        if (type != NULL && mem->val->type == XJ_ARRAY) {
            for (size_t k = 0; k < mem->val->u.arr.n; k++) {
                const xj_t *res = mem->val->u.arr.v[k];
                if (res->type != XJ_OBJECT)
                    continue;
                const char *nm = xj_str(xj_get(res, type->name_field));
                if (nm == NULL) {
                    snprintf(name, sizeof(name), "r%zu", k);
                    nm = name;
                }
                xds_gen_add(out, type->id, nm, xj_clone(res), NULL, "resources (source fuzz)");
            }
        } else if (mem->klen == 5 && memcmp(mem->key, "check", 5) == 0 &&
                   mem->val->type == XJ_ARRAY && mem->val->u.arr.n == 2 &&
                   xj_str(mem->val->u.arr.v[0]) != NULL) {
            size_t n = xds_schema_check(schema, xj_str(mem->val->u.arr.v[0]), mem->val->u.arr.v[1],
                                        "v", &errors, 100);
            check_problems(n, &errors, 100);
            xds_buf_free(&errors);
        } else if (mem->klen == 9 && memcmp(mem->key, "bootstrap", 9) == 0) {
            size_t n = xds_schema_check(schema, "envoy.config.bootstrap.v3.Bootstrap", mem->val,
                                        "bootstrap", &errors, 0);
            check_problems(n, &errors, 0);
            xds_buf_free(&errors);
        }
    }

    /* Sorted and duplicate-free, as after a build; then validated. */
    xds_model_t empty;
    memset(&empty, 0, sizeof(empty));
    empty.opts.xds_cluster = "xds_cluster";
    empty.opts.refresh_delay_ms = 1000;
    if (xds_generate(&empty, out) == XDS_OK) {
        size_t n = xds_schema_validate(schema, out, &errors, 100);
        check_problems(n, &errors, 100);
        xds_buf_free(&errors);
    }
    xds_gen_out_free(out);
    xj_free(doc);
    return 0;
}
