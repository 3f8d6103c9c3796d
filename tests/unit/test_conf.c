/*
 * test_conf.c -- unit tests for core/conf.c: the tokenizer and parser
 * (syntax errors with file:line, quoting, comments, blocks), include with
 * globs and its recursion limits (on files in a mkdtemp directory),
 * xds_conf_apply() against a directive table, and the value parsers.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

static xds_cnode_t *parse_ok(const char *text)
{
    char err[XDS_ERRLEN];
    xds_cnode_t *root = xds_conf_parse_string(text, "x.conf", err, sizeof(err));
    if (root == NULL)
        fail_msg("parse failed: %s", err);
    return root;
}

static void parse_fails(const char *text, const char *want)
{
    char err[XDS_ERRLEN];
    xds_cnode_t *root = xds_conf_parse_string(text, "conf/x.conf", err, sizeof(err));
    if (root != NULL) {
        xds_conf_free(root);
        fail_msg("parse of [%s] succeeded, expected %s", text, want);
    }
    assert_string_equal(err, want);
}

static void test_basic(void **state)
{
    (void)state;
    xds_cnode_t *root = parse_ok("# leading comment\n"
                                 "pid   /run/xdsd.pid;   # trailing comment\n"
                                 "\n"
                                 "discovery { listen 0.0.0.0:8050; workers auto; }\n"
                                 "source catalog {\n"
                                 "    plugin file;\n"
                                 "    inner { deep a b c; }\n"
                                 "    empty { }\n"
                                 "}\n"
                                 "noargs;\n"
                                 "a#b c;");
    assert_null(root->name);
    assert_int_equal(root->block, 1);
    assert_string_equal(root->file, "x.conf");
    assert_int_equal(root->line, 1);
    assert_int_equal(root->nchildren, 5);

    const xds_cnode_t *n = &root->children[0];
    assert_string_equal(n->name, "pid");
    assert_int_equal(n->nargs, 1);
    assert_string_equal(n->args[0], "/run/xdsd.pid");
    assert_int_equal(n->line, 2);
    assert_int_equal(n->block, 0);
    assert_string_equal(n->file, "x.conf");

    n = &root->children[1];
    assert_string_equal(n->name, "discovery");
    assert_int_equal(n->nargs, 0);
    assert_int_equal(n->block, 1);
    assert_int_equal(n->line, 4);
    assert_int_equal(n->nchildren, 2);
    assert_string_equal(n->children[0].name, "listen");
    assert_string_equal(n->children[0].args[0], "0.0.0.0:8050");
    assert_string_equal(n->children[1].args[0], "auto");
    assert_int_equal(n->children[1].line, 4);

    n = &root->children[2];
    assert_string_equal(n->name, "source");
    assert_string_equal(n->args[0], "catalog");
    assert_int_equal(n->nchildren, 3);
    const xds_cnode_t *inner = &n->children[1];
    assert_int_equal(inner->line, 7);
    assert_int_equal(inner->nchildren, 1);
    assert_string_equal(inner->children[0].name, "deep");
    assert_int_equal(inner->children[0].nargs, 3);
    assert_string_equal(inner->children[0].args[2], "c");
    assert_int_equal(n->children[2].block, 1);
    assert_int_equal(n->children[2].nchildren, 0);

    assert_string_equal(root->children[3].name, "noargs");
    assert_int_equal(root->children[3].line, 10);
    /* '#' starts a comment only at the start of a word */
    assert_string_equal(root->children[4].name, "a#b");
    xds_conf_free(root);

    root = parse_ok("");
    assert_int_equal(root->nchildren, 0);
    xds_conf_free(root);
    root = parse_ok("  # only a comment");
    assert_int_equal(root->nchildren, 0);
    xds_conf_free(root);

    /* many directives and arguments */
    xds_buf_t b = {0};
    for (int i = 0; i < 3000; i++)
        xds_buf_printf(&b, "d%d a b c d e f g h i j;\n", i);
    root = parse_ok(b.data);
    assert_int_equal(root->nchildren, 3000);
    assert_int_equal(root->children[2999].line, 3000);
    assert_int_equal(root->children[2999].nargs, 10);
    xds_conf_free(root);
    xds_buf_free(&b);
}

static void test_quoting(void **state)
{
    (void)state;
    xds_cnode_t *root =
        parse_ok("dsn \"host=/run/postgresql dbname=x\" 'single \"q\"';\n"
                 "esc \"a\\\"b\" 'c\\'d' \"e\\\\f\" \"n\\nt\\t\" \"re\\d+\" \"\" '';\n"
                 "multi \"line one\n"
                 "line two\";\n"
                 "after \"x\"{ y; }\n"
                 "semi \"a;b{c}\"; hash \"#not comment\";");
    const xds_cnode_t *n = &root->children[0];
    assert_string_equal(n->args[0], "host=/run/postgresql dbname=x");
    assert_string_equal(n->args[1], "single \"q\"");
    n = &root->children[1];
    assert_int_equal(n->nargs, 7);
    assert_string_equal(n->args[0], "a\"b");
    assert_string_equal(n->args[1], "c'd");
    assert_string_equal(n->args[2], "e\\f");
    assert_string_equal(n->args[3], "n\nt\t");
    assert_string_equal(n->args[4], "re\\d+");
    assert_string_equal(n->args[5], "");
    assert_string_equal(n->args[6], "");
    n = &root->children[2];
    assert_string_equal(n->args[0], "line one\nline two");
    assert_int_equal(n->line, 3);
    n = &root->children[3];
    assert_int_equal(n->line, 5);
    assert_int_equal(n->block, 1);
    assert_string_equal(n->children[0].name, "y");
    assert_string_equal(root->children[4].args[0], "a;b{c}");
    assert_string_equal(root->children[5].args[0], "#not comment");
    xds_conf_free(root);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    parse_fails("a b;\n\n}\n", "conf/x.conf:3: unexpected \"}\"");
    parse_fails("a {\n  b;\n", "conf/x.conf:2: unexpected end of file, expecting \"}\"");
    parse_fails("a {\n  b;", "conf/x.conf:2: unexpected end of file, expecting \"}\"");
    parse_fails("a b", "conf/x.conf:1: unexpected end of file, expecting \";\" or \"}\"");
    parse_fails("x;\na b\n\n", "conf/x.conf:3: unexpected end of file, expecting \";\" or \"}\"");
    parse_fails("a;\nb \"never\nclosed;\n", "conf/x.conf:2: unterminated quoted string");
    parse_fails("a 'x\\'", "conf/x.conf:1: unterminated quoted string");
    parse_fails("a;\n;", "conf/x.conf:2: unexpected \";\"");
    parse_fails("{ a; }", "conf/x.conf:1: unexpected \"{\"");
    parse_fails("s {\n a b }\n", "conf/x.conf:2: unexpected \"}\"");
    parse_fails("a \"x\"y;", "conf/x.conf:1: unexpected \"y\" after quoted string");
    parse_fails("a {\n\n}\n}", "conf/x.conf:4: unexpected \"}\"");

    char err[XDS_ERRLEN];
    /* blocks nest at most 64 deep */
    xds_buf_t b = {0};
    for (int i = 0; i < 100; i++)
        xds_buf_appends(&b, "a {");
    assert_null(xds_conf_parse_string(b.data, "d.conf", err, sizeof(err)));
    assert_string_equal(err, "d.conf:1: blocks nested deeper than 64");
    xds_buf_free(&b);
}

/* ---- files ---- */

static char tmpdir[64];

static void write_file(const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/xdsd-test-conf-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    return 0;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_parse_file(void **state)
{
    (void)state;
    char path[256], err[XDS_ERRLEN];
    write_file("plain.conf", "a 1;\nb { c; }\n");
    snprintf(path, sizeof(path), "%s/plain.conf", tmpdir);
    xds_cnode_t *root = xds_conf_parse_file(path, err, sizeof(err));
    assert_non_null(root);
    assert_string_equal(root->file, path);
    assert_string_equal(root->children[1].children[0].file, path);
    assert_int_equal(root->children[1].children[0].line, 2);
    xds_conf_free(root);

    snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
    assert_null(xds_conf_parse_file(path, err, sizeof(err)));
    char want[1024];
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    assert_string_equal(err, want);

    write_file("nul.conf", "a;\n");
    snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
    FILE *f = fopen(path, "a");
    fputc(0, f);
    fclose(f);
    assert_null(xds_conf_parse_file(path, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s:2: unexpected NUL byte", path);
    assert_string_equal(err, want);
}

static void test_include(void **state)
{
    (void)state;
    char path[256], err[XDS_ERRLEN], want[1024];
    snprintf(path, sizeof(path), "%s/inc.d", tmpdir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/inc.d/sub", tmpdir);
    mkdir(path, 0700);
    write_file("inc.d/b.conf", "from_b;\n");
    write_file("inc.d/a.conf", "from_a 1;\n\nsrc { include sub/*.conf; }\n");
    write_file("inc.d/sub/s.conf", "\n\nfrom_sub;\n");
    write_file("inc.d/skip.txt", "never;\n");
    write_file("main.conf", "first;\n"
                            "include inc.d/*.conf;\n"
                            "include nothing/*.conf;\n"
                            "blk {\n"
                            "  include 'inc.d/b.conf';\n"
                            "}\n"
                            "last;\n");
    snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
    xds_cnode_t *root = xds_conf_parse_file(path, err, sizeof(err));
    if (root == NULL)
        fail_msg("%s", err);
    assert_int_equal(root->nchildren, 6);
    const char *names[] = {"first", "from_a", "src", "from_b", "blk", "last"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(root->children[i].name, names[i]);

    char a[256], s[256], b[256];
    snprintf(a, sizeof(a), "%s/inc.d/a.conf", tmpdir);
    snprintf(b, sizeof(b), "%s/inc.d/b.conf", tmpdir);
    snprintf(s, sizeof(s), "%s/inc.d/sub/s.conf", tmpdir);
    assert_string_equal(root->children[0].file, path);
    assert_string_equal(root->children[1].file, a);
    assert_int_equal(root->children[2].line, 3);
    assert_string_equal(root->children[2].children[0].name, "from_sub");
    assert_string_equal(root->children[2].children[0].file, s);
    assert_int_equal(root->children[2].children[0].line, 3);
    assert_string_equal(root->children[3].file, b);
    assert_string_equal(root->children[4].children[0].name, "from_b");
    assert_string_equal(root->children[4].children[0].file, b);
    assert_int_equal(root->children[5].line, 7);
    xds_conf_free(root);

    /* a plain path that does not exist is a typo, not an empty glob */
    write_file("main_missing.conf", "a;\ninclude missing.conf;\n");
    snprintf(path, sizeof(path), "%s/main_missing.conf", tmpdir);
    assert_null(xds_conf_parse_file(path, err, sizeof(err)));
    snprintf(want, sizeof(want),
             "%s/main_missing.conf:2: include \"missing.conf\": %s/missing.conf: No such file",
             tmpdir, tmpdir);
    assert_string_equal(err, want);

    /* an error inside an included file names that file */
    write_file("bad.d.conf", "ok;\n\nbroken {\n");
    write_file("main2.conf", "include bad.d.conf;\n");
    snprintf(path, sizeof(path), "%s/main2.conf", tmpdir);
    assert_null(xds_conf_parse_file(path, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s/bad.d.conf:3: unexpected end of file, expecting \"}\"",
             tmpdir);
    assert_string_equal(err, want);

    /* an included file cannot close the includer's block */
    write_file("closer.conf", "x; }\n");
    write_file("main3.conf", "blk {\n include closer.conf;\n}\n");
    snprintf(path, sizeof(path), "%s/main3.conf", tmpdir);
    assert_null(xds_conf_parse_file(path, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s/closer.conf:1: unexpected \"}\"", tmpdir);
    assert_string_equal(err, want);

    /* include's own shape */
    parse_fails("include;", "conf/x.conf:1: directive \"include\": invalid number of arguments");
    parse_fails("include a b;",
                "conf/x.conf:1: directive \"include\": invalid number of arguments");
    parse_fails("\ninclude a { }", "conf/x.conf:2: directive \"include\": takes no { } block");

    /* a directory that matches is unreadable */
    write_file("main4.conf", "include inc.*;\n");
    snprintf(path, sizeof(path), "%s/main4.conf", tmpdir);
    assert_null(xds_conf_parse_file(path, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s:1: include \"inc.*\": %s/inc.d: not a regular file", path,
             tmpdir);
    assert_string_equal(err, want);
}

static void test_include_recursion(void **state)
{
    (void)state;
    char path[256], err[XDS_ERRLEN], want[1024];

    write_file("self.conf", "a;\ninclude self.conf;\n");
    snprintf(path, sizeof(path), "%s/self.conf", tmpdir);
    assert_null(xds_conf_parse_file(path, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s:2: include \"self.conf\": recursive include of \"%s\"", path,
             path);
    assert_string_equal(err, want);

    write_file("ping.conf", "include pong.conf;\n");
    write_file("pong.conf", "x;\n\ninclude p*ng.conf;\n");
    snprintf(path, sizeof(path), "%s/ping.conf", tmpdir);
    assert_null(xds_conf_parse_file(path, err, sizeof(err)));
    snprintf(want, sizeof(want),
             "%s/pong.conf:3: include \"p*ng.conf\": recursive include of \"%s/ping.conf\"", tmpdir,
             tmpdir);
    assert_string_equal(err, want);

    /* a chain of distinct files: 16 levels of include are fine, 17 are not */
    for (int i = 0; i <= 17; i++) {
        char name[32], text[64];
        snprintf(name, sizeof(name), "chain%02d.conf", i);
        if (i < 17)
            snprintf(text, sizeof(text), "level%d;\ninclude chain%02d.conf;\n", i, i + 1);
        else
            snprintf(text, sizeof(text), "level%d;\n", i);
        write_file(name, text);
    }
    snprintf(path, sizeof(path), "%s/chain01.conf", tmpdir);
    xds_cnode_t *root = xds_conf_parse_file(path, err, sizeof(err));
    if (root == NULL)
        fail_msg("%s", err);
    assert_int_equal(root->nchildren, 17);
    assert_string_equal(root->children[16].name, "level17");
    xds_conf_free(root);

    snprintf(path, sizeof(path), "%s/chain00.conf", tmpdir);
    assert_null(xds_conf_parse_file(path, err, sizeof(err)));
    snprintf(want, sizeof(want),
             "%s/chain16.conf:2: include \"chain17.conf\": includes nested deeper than 16", tmpdir);
    assert_string_equal(err, want);
}

/* ---- apply ---- */

typedef struct {
    char *pid;
    int daemon;
    int64_t workers;
    int64_t timeout;
    int64_t buf;
    int listens;
    int blocks;
} test_conf_t;

static const char *count_listen(const xds_cnode_t *node, const xds_command_t *cmd, void *conf)
{
    (void)cmd;
    test_conf_t *c = conf;
    if (strcmp(node->args[0], "bad") == 0)
        return xds_conf_errf("cannot listen on \"%s\"", node->args[0]);
    c->listens++;
    return NULL;
}

static const char *count_block(const xds_cnode_t *node, const xds_command_t *cmd, void *conf)
{
    (void)node;
    (void)cmd;
    ((test_conf_t *)conf)->blocks++;
    return NULL;
}

static const xds_command_t table[] = {
    {"pid", XDS_CONF_TAKE1 | XDS_CONF_REQ, xds_conf_set_str, offsetof(test_conf_t, pid), NULL},
    {"daemon", XDS_CONF_TAKE1, xds_conf_set_flag, offsetof(test_conf_t, daemon), NULL},
    {"workers", XDS_CONF_TAKE1, xds_conf_set_int, offsetof(test_conf_t, workers), NULL},
    {"timeout", XDS_CONF_TAKE1, xds_conf_set_msec, offsetof(test_conf_t, timeout), NULL},
    {"buffer", XDS_CONF_TAKE1, xds_conf_set_size, offsetof(test_conf_t, buf), NULL},
    {"listen", XDS_CONF_TAKE1 | XDS_CONF_TAKE2 | XDS_CONF_MULTI, count_listen, 0, NULL},
    {"server", XDS_CONF_BLOCK | XDS_CONF_1MORE | XDS_CONF_MULTI, count_block, 0, NULL},
    {"admin", XDS_CONF_BLOCK, count_block, 0, NULL},
    {"flagonly", XDS_CONF_NOARGS, NULL, 0, NULL},
    {"three", XDS_CONF_TAKE3, NULL, 0, NULL},
    {NULL, 0, NULL, 0, NULL},
};

static int apply_text(const char *text, test_conf_t *c, const char *const *skip, char *err)
{
    char perr[XDS_ERRLEN];
    xds_cnode_t *root = xds_conf_parse_string(text, "conf/x.conf", perr, sizeof(perr));
    if (root == NULL)
        fail_msg("parse failed: %s", perr);
    memset(c, 0, sizeof(*c));
    int rc = xds_conf_apply(root, table, c, skip, err, XDS_ERRLEN);
    xds_conf_free(root);
    return rc;
}

static void apply_fails(const char *text, const char *want)
{
    test_conf_t c;
    char err[XDS_ERRLEN];
    int rc = apply_text(text, &c, NULL, err);
    free(c.pid);
    if (rc == XDS_OK)
        fail_msg("apply of [%s] succeeded, expected %s", text, want);
    assert_string_equal(err, want);
}

static void test_apply(void **state)
{
    (void)state;
    test_conf_t c;
    char err[XDS_ERRLEN];
    int rc = apply_text("pid /run/a.pid;\n"
                        "daemon on;\n"
                        "workers 8;\n"
                        "timeout 1m30s;\n"
                        "buffer 64k;\n"
                        "listen a;\nlisten b c;\n"
                        "server x { anything goes; }\nserver y z {}\n"
                        "admin { }\n"
                        "flagonly;\n"
                        "three 1 2 3;\n",
                        &c, NULL, err);
    if (rc != XDS_OK)
        fail_msg("%s", err);
    assert_string_equal(c.pid, "/run/a.pid");
    assert_int_equal(c.daemon, 1);
    assert_int_equal(c.workers, 8);
    assert_int_equal(c.timeout, 90000);
    assert_int_equal(c.buf, 65536);
    assert_int_equal(c.listens, 2);
    assert_int_equal(c.blocks, 3);
    free(c.pid);

    apply_fails("pid a;\nbogus 1;", "conf/x.conf:2: directive \"bogus\": unknown directive");
    apply_fails("pid a;\n\npid b;", "conf/x.conf:3: directive \"pid\": is duplicate");
    apply_fails("pid;", "conf/x.conf:1: directive \"pid\": invalid number of arguments");
    apply_fails("pid a b;", "conf/x.conf:1: directive \"pid\": invalid number of arguments");
    apply_fails("pid a; listen;",
                "conf/x.conf:1: directive \"listen\": invalid number of arguments");
    apply_fails("pid a; listen 1 2 3;",
                "conf/x.conf:1: directive \"listen\": invalid number of arguments");
    apply_fails("pid a; flagonly x;",
                "conf/x.conf:1: directive \"flagonly\": invalid number of arguments");
    apply_fails("pid a; three 1 2;",
                "conf/x.conf:1: directive \"three\": invalid number of arguments");
    apply_fails("pid a; server {}",
                "conf/x.conf:1: directive \"server\": invalid number of arguments");
    apply_fails("pid a;\nadmin;", "conf/x.conf:2: directive \"admin\": must have a { } block");
    apply_fails("pid a;\nadmin x { }",
                "conf/x.conf:2: directive \"admin\": invalid number of arguments");
    apply_fails("pid a;\ndaemon on { }", "conf/x.conf:2: directive \"daemon\": takes no { } block");
    apply_fails("pid a;\nadmin {}\nadmin {}", "conf/x.conf:3: directive \"admin\": is duplicate");
    apply_fails("daemon off;", "conf/x.conf:1: directive \"pid\": is required");
    apply_fails("pid a;\ndaemon maybe;",
                "conf/x.conf:2: directive \"daemon\": invalid value \"maybe\", expected on or off");
    apply_fails("pid a;\ntimeout 5x;",
                "conf/x.conf:2: directive \"timeout\": invalid duration \"5x\"");
    apply_fails("pid a;\nbuffer 12q;", "conf/x.conf:2: directive \"buffer\": invalid size \"12q\"");
    apply_fails("pid a;\nworkers -1;",
                "conf/x.conf:2: directive \"workers\": invalid number \"-1\"");
    apply_fails("pid a;\nlisten bad;",
                "conf/x.conf:2: directive \"listen\": cannot listen on \"bad\"");

    /* skip list: left for the caller, even when unknown to the table */
    const char *const skip[] = {"source", "bogus", NULL};
    rc = apply_text("pid a;\nsource s { plugin x; }\nbogus;\n", &c, skip, err);
    assert_int_equal(rc, XDS_OK);
    free(c.pid);

    /* set_str replaces (and frees) an earlier value */
    c.pid = xds_strdup("old");
    char perr[XDS_ERRLEN];
    xds_cnode_t *root = xds_conf_parse_string("pid new;", "y.conf", perr, sizeof(perr));
    assert_int_equal(xds_conf_apply(root, table, &c, NULL, err, sizeof(err)), XDS_OK);
    assert_string_equal(c.pid, "new");
    free(c.pid);
    xds_conf_free(root);
}

static void test_apply_nested_required(void **state)
{
    (void)state;
    static const xds_command_t inner[] = {
        {"plugin", XDS_CONF_TAKE1 | XDS_CONF_REQ, NULL, 0, NULL},
        {NULL, 0, NULL, 0, NULL},
    };
    char err[XDS_ERRLEN];
    xds_cnode_t *root = parse_ok("a;\n\nsource s {\n  path x;\n}\nsource t { plugin p; }\n");
    const xds_cnode_t *src = &root->children[1];
    assert_int_equal(xds_conf_apply(src, inner, NULL, NULL, err, sizeof(err)), XDS_ERROR);
    assert_string_equal(err, "x.conf:4: directive \"path\": unknown directive");
    const char *const skip[] = {"path", NULL};
    assert_int_equal(xds_conf_apply(src, inner, NULL, skip, err, sizeof(err)), XDS_ERROR);
    assert_string_equal(err, "x.conf:3: directive \"plugin\": is required");
    assert_int_equal(xds_conf_apply(&root->children[2], inner, NULL, NULL, err, sizeof(err)),
                     XDS_OK);

    /* node_error and errf */
    xds_conf_node_error(src, err, sizeof(err), "bad %s %d", "thing", 7);
    assert_string_equal(err, "x.conf:3: directive \"source\": bad thing 7");
    assert_string_equal(xds_conf_errf("n=%d", 5), "n=5");
    char small[16];
    xds_conf_node_error(src, small, sizeof(small), "long");
    assert_string_equal(small, "x.conf:3: direc");
    xds_conf_free(root);
}

/* ---- value parsers ---- */

static void msec_ok(const char *s, int64_t want)
{
    int64_t v = -1;
    if (xds_parse_msec(s, &v) != XDS_OK)
        fail_msg("duration \"%s\" rejected", s);
    assert_true(v == want);
}

static void msec_bad(const char *s)
{
    int64_t v = -1;
    if (xds_parse_msec(s, &v) == XDS_OK)
        fail_msg("duration \"%s\" accepted", s);
}

static void test_parse_msec(void **state)
{
    (void)state;
    msec_ok("250ms", 250);
    msec_ok("5s", 5000);
    msec_ok("1m", 60000);
    msec_ok("2h", 7200000);
    msec_ok("1d", 86400000);
    msec_ok("5", 5000);
    msec_ok("0", 0);
    msec_ok("0ms", 0);
    msec_ok("1m30s", 90000);
    msec_ok("1d2h3m4s5ms", 86400000 + 7200000 + 180000 + 4000 + 5);
    msec_ok("90s", 90000);
    msec_ok("9223372036854775807ms", INT64_MAX);
    msec_ok("9223372036854775s", INT64_C(9223372036854775000));
    const char *bad[] = {"",
                         "5x",
                         "-5s",
                         "s",
                         "5 s",
                         " 5s",
                         "5s ",
                         "1m30",
                         "1s1m",
                         "1s1s",
                         "5S",
                         "1.5s",
                         "+5s",
                         "5sec",
                         "1mm",
                         "9223372036854775808ms",
                         "9223372036854776s",
                         "106751991167301d",
                         "9223372036854776",
                         "106751991167300d1d"};
    for (size_t i = 0; i < xds_nelems(bad); i++)
        msec_bad(bad[i]);
    /* INT64_MAX ms is 106751991167d7h12m55s807ms: one more overflows the sum */
    msec_ok("106751991167d7h12m55s807ms", INT64_MAX);
    msec_bad("106751991167d7h12m55s808ms");
    msec_bad("106751991167d7h12m56s");
}

static void test_parse_size(void **state)
{
    (void)state;
    struct {
        const char *s;
        int64_t v;
    } ok[] = {{"0", 0},
              {"512", 512},
              {"64k", 65536},
              {"64K", 65536},
              {"1m", 1048576},
              {"1M", 1048576},
              {"1g", 1073741824},
              {"2G", INT64_C(2147483648)},
              {"9223372036854775807", INT64_MAX},
              {"8589934591g", INT64_C(8589934591) * 1073741824}};
    for (size_t i = 0; i < xds_nelems(ok); i++) {
        int64_t v = -1;
        assert_int_equal(xds_parse_size(ok[i].s, &v), XDS_OK);
        assert_true(v == ok[i].v);
    }
    const char *bad[] = {"",
                         "12q",
                         "k",
                         "-1",
                         "1kb",
                         "1 k",
                         "1.5m",
                         "1t",
                         "8589934592g",
                         "9223372036854775808",
                         "9007199254740992k",
                         " 1"};
    for (size_t i = 0; i < xds_nelems(bad); i++) {
        int64_t v = -1;
        if (xds_parse_size(bad[i], &v) == XDS_OK)
            fail_msg("size \"%s\" accepted", bad[i]);
    }
}

static void test_parse_flag_int(void **state)
{
    (void)state;
    int f = -1;
    assert_int_equal(xds_parse_flag("on", &f), XDS_OK);
    assert_int_equal(f, 1);
    assert_int_equal(xds_parse_flag("off", &f), XDS_OK);
    assert_int_equal(f, 0);
    assert_int_equal(xds_parse_flag("ON", &f), XDS_OK);
    assert_int_equal(f, 1);
    const char *badf[] = {"", "maybe", "yes", "1", "onn", "of"};
    for (size_t i = 0; i < xds_nelems(badf); i++)
        assert_int_equal(xds_parse_flag(badf[i], &f), XDS_ERROR);

    int64_t v = -1;
    assert_int_equal(xds_parse_int("0", &v), XDS_OK);
    assert_true(v == 0);
    assert_int_equal(xds_parse_int("007", &v), XDS_OK);
    assert_true(v == 7);
    assert_int_equal(xds_parse_int("9223372036854775807", &v), XDS_OK);
    assert_true(v == INT64_MAX);
    const char *badi[] = {
        "", "-1", "+1", "1x", "1 ", " 1", "1.0", "9223372036854775808", "99999999999999999999999"};
    for (size_t i = 0; i < xds_nelems(badi); i++) {
        if (xds_parse_int(badi[i], &v) == XDS_OK)
            fail_msg("int \"%s\" accepted", badi[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),          cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_syntax_errors),  cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_include),        cmocka_unit_test(test_include_recursion),
        cmocka_unit_test(test_apply),          cmocka_unit_test(test_apply_nested_required),
        cmocka_unit_test(test_parse_msec),     cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_flag_int),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
