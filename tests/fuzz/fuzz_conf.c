/*
 * fuzz_conf.c -- libFuzzer target for the configuration language
 * (core/conf.c): the tokenizer and parser with `include`, the table-driven
 * xds_conf_apply with every generic setter and argument shape, the plugin
 * directive bridge and the host's own source directives (core/plugin.c,
 * core/source.c, through xds_source_create), and the daemon's real
 * top-level tables (core/cycle.c, through xds_cycle_load).
 *
 * Input: the main conf, optionally followed by FUZZ_SEP and the text of
 * up to two more files, which are written as inc1.conf and inc2.conf next
 * to main.conf in a private temporary directory, so that `include
 * inc*.conf;` (and recursive includes of main.conf) work.  To keep the
 * fuzzer inside that directory, this program defines glob() itself: a
 * pattern outside the directory matches nothing (core/conf.c resolves every
 * include through glob).  xds_cycle_load is only run on trees without
 * `source`, `load_plugin`, `schema` and `token_file`, which would dlopen or
 * read arbitrary files; it then always fails at "no source block", after
 * every other directive has been applied.
 */
/* core/conf.c calls glob(), not glob64(): this file must see the same name
 * (the plugins' HIREDIS_CFLAGS bring -D_FILE_OFFSET_BITS=64 along). */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "cycle.h"
#include "fuzz.h"
#include "host.h"
#include "plugin.h"
#include "source.h"

static char dir[64];
static char main_path[128];
static int glob_calls; /* proof that core/conf.c's glob() comes here */

/* ---- glob() confined to the temporary directory ---- */

typedef int (*glob_fn)(const char *, int, int (*)(const char *, int), glob_t *);

int glob(const char *restrict pattern, int flags, int (*errfunc)(const char *, int),
         glob_t *restrict pglob)
{
    static glob_fn real_glob;
    size_t n = strlen(dir);

    glob_calls++;
    if (real_glob == NULL) {
        real_glob = (glob_fn)dlsym(RTLD_NEXT, "glob");
        if (real_glob == NULL)
            abort();
    }
    if (dir[0] == '\0' || strncmp(pattern, dir, n) != 0 || pattern[n] != '/' ||
        strstr(pattern, "..") != NULL) {
        memset(pglob, 0, sizeof(*pglob));
        return GLOB_NOMATCH;
    }
    return real_glob(pattern, flags, errfunc, pglob);
}

/* ---- a directive table with every generic setter and shape ---- */

typedef struct {
    char *name;
    char *label;
    int flag;
    int64_t count, timeout_ms, size;
    int64_t nested_id;
    unsigned blocks;
} fuzz_conf_t;

static const char *set_block(const xds_cnode_t *n, const xds_command_t *cmd, void *conf);

static const xds_command_t nested_commands[] = {
    {"id", XDS_CONF_TAKE1 | XDS_CONF_REQ, xds_conf_set_int, offsetof(fuzz_conf_t, nested_id), NULL},
    {"label", XDS_CONF_TAKE1 | XDS_CONF_MULTI, xds_conf_set_str, offsetof(fuzz_conf_t, label),
     NULL},
    {"block", XDS_CONF_BLOCK | XDS_CONF_MULTI | XDS_CONF_NOARGS | XDS_CONF_1MORE, set_block, 0,
     NULL},
    {NULL, 0, NULL, 0, NULL},
};

static const xds_command_t main_commands[] = {
    {"name", XDS_CONF_TAKE1, xds_conf_set_str, offsetof(fuzz_conf_t, name), NULL},
    {"label", XDS_CONF_TAKE1 | XDS_CONF_MULTI, xds_conf_set_str, offsetof(fuzz_conf_t, label),
     NULL},
    {"flag", XDS_CONF_TAKE1, xds_conf_set_flag, offsetof(fuzz_conf_t, flag), NULL},
    {"count", XDS_CONF_TAKE1, xds_conf_set_int, offsetof(fuzz_conf_t, count), NULL},
    {"timeout", XDS_CONF_TAKE1 | XDS_CONF_MULTI, xds_conf_set_msec,
     offsetof(fuzz_conf_t, timeout_ms), NULL},
    {"size", XDS_CONF_TAKE1 | XDS_CONF_MULTI, xds_conf_set_size, offsetof(fuzz_conf_t, size), NULL},
    {"pair", XDS_CONF_TAKE2, NULL, 0, NULL},
    {"triple", XDS_CONF_TAKE3 | XDS_CONF_MULTI, NULL, 0, NULL},
    {"some", XDS_CONF_TAKE1 | XDS_CONF_TAKE2, NULL, 0, NULL},
    {"many", XDS_CONF_1MORE | XDS_CONF_MULTI, NULL, 0, NULL},
    {"bare", XDS_CONF_NOARGS, NULL, 0, NULL},
    {"block", XDS_CONF_BLOCK | XDS_CONF_MULTI | XDS_CONF_NOARGS | XDS_CONF_1MORE, set_block, 0,
     NULL},
    {NULL, 0, NULL, 0, NULL},
};

static const char *const main_skip[] = {"source", "load_plugin", NULL};

/* A nested block: applied with its own table (which requires `id`). */
static const char *set_block(const xds_cnode_t *n, const xds_command_t *cmd, void *conf)
{
    fuzz_conf_t *c = conf;
    char err[XDS_ERRLEN];
    (void)cmd;
    if (++c->blocks > 64)
        return "too many blocks";
    if (xds_conf_apply(n, nested_commands, conf, NULL, err, sizeof(err)) != XDS_OK)
        return xds_conf_errf("%s", err);
    return NULL;
}

/* ---- a plugin with a directive of every type ---- */

typedef struct {
    char *str;
    char *path;
    int64_t duration, size, integer;
    int flag;
    char **list;
} fuzz_plugin_conf_t;

static const xdsd_directive_t plugin_directives[] = {
    {"str", XDSD_ARG_STRING, offsetof(fuzz_plugin_conf_t, str), XDSD_DIRECTIVE_REQUIRED},
    {"path", XDSD_ARG_PATH, offsetof(fuzz_plugin_conf_t, path), 0},
    {"duration", XDSD_ARG_DURATION, offsetof(fuzz_plugin_conf_t, duration), 0},
    {"size", XDSD_ARG_SIZE, offsetof(fuzz_plugin_conf_t, size), 0},
    {"flag", XDSD_ARG_FLAG, offsetof(fuzz_plugin_conf_t, flag), 0},
    {"integer", XDSD_ARG_INT, offsetof(fuzz_plugin_conf_t, integer), 0},
    {"list", XDSD_ARG_STRING_LIST, offsetof(fuzz_plugin_conf_t, list), 0},
    {NULL, 0, 0, 0},
};

static int plugin_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                         void **state, char *err, size_t errlen)
{
    const fuzz_plugin_conf_t *c = conf;
    (void)api;
    (void)src;
    if (c->str == NULL || (c->list != NULL && c->list[0] == NULL)) {
        snprintf(err, errlen, "the host broke its promise about the conf");
        abort();
    }
    *state = (void *)conf;
    return XDSD_OK;
}

static int plugin_start(void *state, char *err, size_t errlen)
{
    (void)state;
    (void)err;
    (void)errlen;
    return XDSD_OK;
}

static void plugin_destroy(void *state)
{
    (void)state;
}

static const xdsd_plugin_t plugin_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "fuzz",
    .version = "0",
    .directives = plugin_directives,
    .conf_size = sizeof(fuzz_plugin_conf_t),
    .create = plugin_create,
    .start = plugin_start,
    .destroy = plugin_destroy,
};

static xds_plugin_t plugin = {.name = "fuzz", .path = "(built in)", .p = &plugin_entry};

/* The checks core/cycle.c makes before it creates a source, then create. */
static void create_source(const xds_cnode_t *n)
{
    char err[XDS_ERRLEN];
    if (!n->block || n->nargs != 1)
        return;
    const xds_cnode_t *pn = NULL;
    for (size_t k = 0; k < n->nchildren; k++) {
        if (strcmp(n->children[k].name, "plugin") == 0) {
            if (pn)
                return;
            pn = &n->children[k];
        }
    }
    if (pn == NULL || pn->nargs != 1 || pn->block)
        return;
    xds_source_t *s = xds_source_create(n, &plugin, "/prefix", 1, err, sizeof(err));
    xds_source_destroy(s);
}

/* ---- the driver ---- */

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    return fclose(f) != 0 || w != len ? -1 : 0;
}

/* 1 when the tree has a directive (at any depth) that xds_cycle_load would
 * turn into a dlopen or a read of an arbitrary file. */
static int unsafe_for_cycle(const xds_cnode_t *n)
{
    static const char *const names[] = {"source", "load_plugin", "schema", "token_file"};
    for (size_t i = 0; i < n->nchildren; i++) {
        for (size_t k = 0; k < xds_nelems(names); k++)
            if (strcmp(n->children[i].name, names[k]) == 0)
                return 1;
        if (unsafe_for_cycle(&n->children[i]))
            return 1;
    }
    return 0;
}

static void cleanup_dir(void)
{
    char path[160];
    static const char *const files[] = {"main.conf", "inc1.conf", "inc2.conf"};
    for (size_t i = 0; i < xds_nelems(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
}

/* At exit: leave no temporary directory behind. */
static void remove_dir(void)
{
    cleanup_dir();
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_log_init();
    snprintf(dir, sizeof(dir), "%s/xdsd-fuzz-conf-XXXXXX",
             getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 32 ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror(dir);
        abort();
    }
    snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
    atexit(remove_dir);

    /* An include outside the directory must reach our glob and match nothing. */
    char err[XDS_ERRLEN];
    xds_cnode_t *root = xds_conf_parse_string("include /etc/*;", main_path, err, sizeof(err));
    if (root == NULL || root->nchildren != 0 || glob_calls != 1) {
        fprintf(stderr, "fuzz_conf: glob() is not confined: %s\n", root ? "matched" : err);
        abort();
    }
    xds_conf_free(root);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *part = data;
    size_t len = 0;
    char path[160], err[XDS_ERRLEN];

    if (dir[0] == '\0' || size > 65536)
        return 0;
    cleanup_dir();
    fuzz_next_part(&p, data + size, &part, &len);
    char *text = xds_strndup((const char *)part, len); /* stops at a NUL, as a string would */
    if (write_file(main_path, part, len) != 0)
        abort();
    for (int i = 1; i <= 2 && fuzz_next_part(&p, data + size, &part, &len); i++) {
        snprintf(path, sizeof(path), "%s/inc%d.conf", dir, i);
        if (write_file(path, part, len) != 0)
            abort();
    }

    err[0] = '\0';
    xds_cnode_t *root = xds_conf_parse_string(text, main_path, err, sizeof(err));
    if (root == NULL) {
        if (err[0] == '\0')
            abort(); /* refused without a reason */
        free(text);
        return 0;
    }

    fuzz_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    err[0] = '\0';
    if (xds_conf_apply(root, main_commands, &conf, main_skip, err, sizeof(err)) != XDS_OK &&
        err[0] == '\0')
        abort();
    free(conf.name);
    free(conf.label);
    for (size_t i = 0; i < root->nchildren; i++)
        if (strcmp(root->children[i].name, "source") == 0)
            create_source(&root->children[i]);

    if (!unsafe_for_cycle(root)) {
        xds_cycle_t *c = xds_cycle_load(main_path, NULL, err, sizeof(err));
        if (c != NULL) /* impossible without a source */
            abort();
    }
    xds_conf_free(root);
    free(text);
    return 0;
}
