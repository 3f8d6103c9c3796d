/*
 * conf.c -- the nginx-style configuration language: a hand-written
 * tokenizer and recursive parser that turn a file (and the files it
 * includes) into a tree of directives, the table-driven xds_conf_apply()
 * that checks each block against a module's directive table, and the
 * generic setters and value parsers (durations, sizes, flags, integers).
 *
 * `include` is expanded while parsing: the included directives are spliced
 * into the block that holds the include, and every node remembers the file
 * it came from.  File name strings live in a list that belongs to the root:
 * the root is allocated inside a private xds_conf_root_t, so the public
 * struct did not need a new field and xds_conf_free() finds the list by
 * converting the root pointer back (it must be given the root).
 *
 * Errors are one line, "FILE:LINE: reason", or for directives
 * "FILE:LINE: directive \"NAME\": reason", written into the caller's buffer.
 */
#include <ctype.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"

#define CONF_INCLUDE_DEPTH 16 /* nested includes allowed below the main file */
#define CONF_BLOCK_DEPTH   64 /* nested { } blocks */

/* The root node with the names of all files read for the tree. */
typedef struct {
    xds_cnode_t node; /* first: a root pointer converts back to this */
    char **files;
    size_t nfiles;
} xds_conf_root_t;

typedef enum { TOK_WORD, TOK_SEMI, TOK_LBRACE, TOK_RBRACE, TOK_EOF, TOK_ERROR } conf_tok_t;

/* Reading position in one file. */
typedef struct {
    const char *file; /* owned by the root */
    const char *p, *end;
    unsigned line;
    int ends_in_newline;
} conf_lexer_t;

/* State shared by the main file and its includes. */
typedef struct {
    xds_conf_root_t *root;
    char *chain[CONF_INCLUDE_DEPTH + 1]; /* real paths of the files being read */
    unsigned nchain;
    unsigned include_depth;
    char *err;
    size_t errlen;
} conf_parser_t;

static int conf_parse_block(conf_parser_t *cp, conf_lexer_t *lx, xds_cnode_t *block, unsigned depth,
                            int nested);

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */

static void conf_error(conf_parser_t *cp, const char *file, unsigned line, const char *fmt, ...)
    XDS_PRINTF(4, 5);

static void conf_error(conf_parser_t *cp, const char *file, unsigned line, const char *fmt, ...)
{
    int n = snprintf(cp->err, cp->errlen, "%s:%u: ", file, line);
    if (n < 0 || (size_t)n >= cp->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cp->err + n, cp->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static void conf_verror_at(const char *file, unsigned line, const char *name, char *err,
                           size_t errlen, const char *fmt, va_list ap)
{
    int n;
    if (name != NULL)
        n = snprintf(err, errlen, "%s:%u: directive \"%s\": ", file, line, name);
    else
        n = snprintf(err, errlen, "%s:%u: ", file, line);
    if (n < 0 || (size_t)n >= errlen)
        return;
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
}

static void conf_error_at(const char *file, unsigned line, const char *name, char *err,
                          size_t errlen, const char *fmt, ...) XDS_PRINTF(6, 7);

static void conf_error_at(const char *file, unsigned line, const char *name, char *err,
                          size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    conf_verror_at(file, line, name, err, errlen, fmt, ap);
    va_end(ap);
}

void xds_conf_node_error(const xds_cnode_t *node, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    conf_verror_at(node->file ? node->file : "(none)", node->line, node->name, err, errlen, fmt,
                   ap);
    va_end(ap);
}

const char *xds_conf_errf(const char *fmt, ...)
{
    static _Thread_local char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

/* ---------------------------------------------------------------------- */
/* Tree                                                                    */

/* Grow an array whose capacity is implied by its length: 4, then powers of
 * two, so appends stay amortized O(1) without a capacity field. */
static void *conf_grow(void *arr, size_t n, size_t elem)
{
    if (n == 0)
        return xds_malloc(4 * elem);
    if (n >= 4 && (n & (n - 1)) == 0)
        return xds_realloc(arr, 2 * n * elem);
    return arr;
}

static void conf_node_clear(xds_cnode_t *n)
{
    free(n->name);
    for (size_t i = 0; i < n->nargs; i++)
        free(n->args[i]);
    free(n->args);
    for (size_t i = 0; i < n->nchildren; i++)
        conf_node_clear(&n->children[i]);
    free(n->children);
    memset(n, 0, sizeof(*n));
}

static void conf_push_child(xds_cnode_t *block, xds_cnode_t *child)
{
    block->children = conf_grow(block->children, block->nchildren, sizeof(xds_cnode_t));
    block->children[block->nchildren++] = *child;
    memset(child, 0, sizeof(*child));
}

static void conf_push_arg(xds_cnode_t *n, char *arg)
{
    n->args = conf_grow(n->args, n->nargs, sizeof(char *));
    n->args[n->nargs++] = arg;
}

/* Keep a copy of a file name for the tree's lifetime; returns the copy. */
static const char *conf_add_file(xds_conf_root_t *root, const char *name)
{
    root->files = conf_grow(root->files, root->nfiles, sizeof(char *));
    char *copy = xds_strdup(name);
    root->files[root->nfiles++] = copy;
    return copy;
}

void xds_conf_free(xds_cnode_t *root)
{
    if (root == NULL)
        return;
    xds_conf_root_t *r = (xds_conf_root_t *)root;
    conf_node_clear(&r->node);
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i]);
    free(r->files);
    free(r);
}

/* ---------------------------------------------------------------------- */
/* Tokenizer                                                               */

static int conf_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int conf_is_special(char c)
{
    return c == ';' || c == '{' || c == '}';
}

static void conf_lexer_init(conf_lexer_t *lx, const char *file, const char *text, size_t len)
{
    lx->file = file;
    lx->p = text;
    lx->end = text + len;
    lx->line = 1;
    lx->ends_in_newline = len > 0 && text[len - 1] == '\n';
}

/* Line to blame for an unexpected end of file: the file's last line. */
static unsigned conf_eof_line(const conf_lexer_t *lx)
{
    return lx->ends_in_newline && lx->line > 1 ? lx->line - 1 : lx->line;
}

/* Read a quoted argument (lx->p at the opening quote) into word. */
static conf_tok_t conf_lex_quoted(conf_parser_t *cp, conf_lexer_t *lx, xds_buf_t *word)
{
    char quote = *lx->p++;
    unsigned start_line = lx->line;

    for (;;) {
        if (lx->p == lx->end) {
            conf_error(cp, lx->file, start_line, "unterminated quoted string");
            return TOK_ERROR;
        }
        char c = *lx->p++;
        if (c == quote)
            break;
        if (c == '\\' && lx->p < lx->end) {
            char e = *lx->p++;
            switch (e) {
            case '"':
            case '\'':
            case '\\':
                xds_buf_append(word, &e, 1);
                break;
            case 'n':
                xds_buf_append(word, "\n", 1);
                break;
            case 't':
                xds_buf_append(word, "\t", 1);
                break;
            default: /* unknown escapes stay as written, e.g. regexes */
                if (e == '\n')
                    lx->line++;
                xds_buf_append(word, "\\", 1);
                xds_buf_append(word, &e, 1);
                break;
            }
            continue;
        }
        if (c == '\n')
            lx->line++;
        xds_buf_append(word, &c, 1);
    }
    if (lx->p < lx->end && !conf_is_space(*lx->p) && !conf_is_special(*lx->p) && *lx->p != '#') {
        conf_error(cp, lx->file, lx->line, "unexpected \"%c\" after quoted string", *lx->p);
        return TOK_ERROR;
    }
    return TOK_WORD;
}

/* Next token; a word goes into word (reset first), its line into *line. */
static conf_tok_t conf_lex(conf_parser_t *cp, conf_lexer_t *lx, xds_buf_t *word, unsigned *line)
{
    word->len = 0;
    if (word->data != NULL)
        word->data[0] = '\0';

    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') {
            lx->line++;
            lx->p++;
        } else if (conf_is_space(c)) {
            lx->p++;
        } else if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else {
            break;
        }
    }
    *line = lx->line;
    if (lx->p == lx->end) {
        *line = conf_eof_line(lx);
        return TOK_EOF;
    }

    switch (*lx->p) {
    case ';':
        lx->p++;
        return TOK_SEMI;
    case '{':
        lx->p++;
        return TOK_LBRACE;
    case '}':
        lx->p++;
        return TOK_RBRACE;
    case '"':
    case '\'':
        return conf_lex_quoted(cp, lx, word);
    default:
        break;
    }
    const char *start = lx->p;
    while (lx->p < lx->end && !conf_is_space(*lx->p) && !conf_is_special(*lx->p))
        lx->p++;
    xds_buf_append(word, start, (size_t)(lx->p - start));
    return TOK_WORD;
}

/* A right-sized copy of the word just read (the buffer is reused). */
static char *conf_word_copy(const xds_buf_t *word)
{
    return xds_strndup(word->data ? word->data : "", word->len);
}

static const char *conf_tok_text(conf_tok_t t)
{
    switch (t) {
    case TOK_SEMI:
        return ";";
    case TOK_LBRACE:
        return "{";
    case TOK_RBRACE:
        return "}";
    default:
        return "?";
    }
}

/* ---------------------------------------------------------------------- */
/* Parser                                                                  */

/* Parse text as the contents of file `name` (already registered with the
 * root), appending its top-level directives to block. */
static int conf_parse_text(conf_parser_t *cp, const char *name, const char *text, size_t len,
                           xds_cnode_t *block, unsigned depth)
{
    const char *nul = memchr(text, '\0', len);
    if (nul != NULL) {
        unsigned line = 1;
        for (const char *q = text; q < nul; q++)
            line += *q == '\n';
        conf_error(cp, name, line, "unexpected NUL byte");
        return XDS_ERROR;
    }
    conf_lexer_t lx;
    conf_lexer_init(&lx, name, text, len);
    return conf_parse_block(cp, &lx, block, depth, 0);
}

/* Read one included file into block. */
static int conf_include_file(conf_parser_t *cp, const xds_cnode_t *inc, const char *path,
                             xds_cnode_t *block, unsigned depth)
{
    char *real = NULL, *text = NULL;
    char rerr[XDS_ERRLEN];
    int rc = XDS_ERROR;
    size_t len;

    if (cp->include_depth >= CONF_INCLUDE_DEPTH) {
        conf_error(cp, inc->file, inc->line, "include \"%s\": includes nested deeper than %d",
                   inc->args[0], CONF_INCLUDE_DEPTH);
        goto failed;
    }
    real = realpath(path, NULL);
    for (unsigned i = 0; real != NULL && i < cp->nchain; i++) {
        if (cp->chain[i] != NULL && strcmp(cp->chain[i], real) == 0) {
            conf_error(cp, inc->file, inc->line, "include \"%s\": recursive include of \"%s\"",
                       inc->args[0], path);
            goto failed;
        }
    }
    text = xds_read_file(path, &len, rerr, sizeof(rerr));
    if (text == NULL) {
        conf_error(cp, inc->file, inc->line, "include \"%s\": %s", inc->args[0], rerr);
        goto failed;
    }

    const char *name = conf_add_file(cp->root, path);
    cp->chain[cp->nchain++] = real;
    cp->include_depth++;
    rc = conf_parse_text(cp, name, text, len, block, depth);
    cp->include_depth--;
    cp->nchain--;

failed:
    free(real);
    free(text);
    return rc;
}

/* Expand `include PATTERN;` (node inc) into block. */
static int conf_include(conf_parser_t *cp, const xds_cnode_t *inc, xds_cnode_t *block,
                        unsigned depth)
{
    if (inc->nargs != 1) {
        conf_error_at(inc->file, inc->line, inc->name, cp->err, cp->errlen,
                      "invalid number of arguments");
        return XDS_ERROR;
    }
    const char *pat = inc->args[0];
    xds_buf_t full = {0};
    const char *slash = strrchr(inc->file, '/');
    if (pat[0] != '/' && slash != NULL)
        xds_buf_append(&full, inc->file, (size_t)(slash - inc->file) + 1);
    xds_buf_appends(&full, pat);

    /* A wildcard that matches nothing (an empty conf.d) is fine; a plain
     * path that does not exist is a typo and an error, as in nginx. */
    int rc = XDS_OK;
    glob_t g;
    int grc = glob(full.data, 0, NULL, &g);
    if (grc == GLOB_NOMATCH) {
        if (strpbrk(pat, "*?[") == NULL) {
            conf_error(cp, inc->file, inc->line, "include \"%s\": %s: No such file", pat,
                       full.data);
            rc = XDS_ERROR;
        }
        xds_buf_free(&full);
        return rc;
    }
    if (grc != 0) {
        conf_error(cp, inc->file, inc->line, "include \"%s\": glob() failed", pat);
        xds_buf_free(&full);
        return XDS_ERROR;
    }
    for (size_t i = 0; i < g.gl_pathc && rc == XDS_OK; i++)
        rc = conf_include_file(cp, inc, g.gl_pathv[i], block, depth);
    globfree(&g);
    xds_buf_free(&full);
    return rc;
}

/* Parse directives into block: up to its closing '}' when nested (the body
 * of a { } in this file), else up to the end of the file.  depth counts the
 * enclosing blocks. */
static int conf_parse_block(conf_parser_t *cp, conf_lexer_t *lx, xds_cnode_t *block, unsigned depth,
                            int nested)
{
    xds_buf_t word = {0};
    xds_cnode_t n = {0};
    unsigned line;

    for (;;) {
        conf_tok_t t = conf_lex(cp, lx, &word, &line);
        if (t == TOK_ERROR)
            goto failed;
        if (t == TOK_EOF) {
            if (nested) {
                conf_error(cp, lx->file, line, "unexpected end of file, expecting \"}\"");
                goto failed;
            }
            break;
        }
        if (t == TOK_RBRACE && nested)
            break;
        if (t != TOK_WORD) {
            conf_error(cp, lx->file, line, "unexpected \"%s\"", conf_tok_text(t));
            goto failed;
        }

        n.name = conf_word_copy(&word);
        n.file = lx->file;
        n.line = line;
        while ((t = conf_lex(cp, lx, &word, &line)) == TOK_WORD)
            conf_push_arg(&n, conf_word_copy(&word));

        switch (t) {
        case TOK_SEMI:
            if (strcmp(n.name, "include") == 0) {
                if (conf_include(cp, &n, block, depth) != XDS_OK)
                    goto failed;
                conf_node_clear(&n);
                continue;
            }
            break;
        case TOK_LBRACE:
            if (strcmp(n.name, "include") == 0) {
                conf_error_at(n.file, n.line, n.name, cp->err, cp->errlen, "takes no { } block");
                goto failed;
            }
            if (depth >= CONF_BLOCK_DEPTH) {
                conf_error(cp, lx->file, line, "blocks nested deeper than %d", CONF_BLOCK_DEPTH);
                goto failed;
            }
            n.block = 1;
            if (conf_parse_block(cp, lx, &n, depth + 1, 1) != XDS_OK)
                goto failed;
            break;
        case TOK_EOF:
            conf_error(cp, lx->file, line, "unexpected end of file, expecting \";\" or \"}\"");
            goto failed;
        case TOK_RBRACE:
            conf_error(cp, lx->file, line, "unexpected \"}\"");
            goto failed;
        default: /* TOK_ERROR: already reported */
            goto failed;
        }
        conf_push_child(block, &n);
    }
    xds_buf_free(&word);
    return XDS_OK;

failed:
    xds_buf_free(&word);
    conf_node_clear(&n);
    return XDS_ERROR;
}

/* Parse text as the main file called name (path: its real path, or NULL). */
static xds_cnode_t *conf_parse_main(const char *text, size_t len, const char *name,
                                    const char *path, char *err, size_t errlen)
{
    conf_parser_t cp = {.err = err, .errlen = errlen};
    cp.root = xds_calloc(1, sizeof(*cp.root));
    cp.root->node.file = conf_add_file(cp.root, name);
    cp.root->node.line = 1;
    cp.root->node.block = 1;
    char *real = path ? realpath(path, NULL) : NULL;
    if (real != NULL)
        cp.chain[cp.nchain++] = real;

    int rc = conf_parse_text(&cp, cp.root->node.file, text, len, &cp.root->node, 0);
    free(real);
    if (rc != XDS_OK) {
        xds_conf_free(&cp.root->node);
        return NULL;
    }
    return &cp.root->node;
}

xds_cnode_t *xds_conf_parse_file(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = xds_read_file(path, &len, err, errlen);
    if (text == NULL)
        return NULL;
    xds_cnode_t *root = conf_parse_main(text, len, path, path, err, errlen);
    free(text);
    return root;
}

xds_cnode_t *xds_conf_parse_string(const char *text, const char *name, char *err, size_t errlen)
{
    return conf_parse_main(text, strlen(text), name, NULL, err, errlen);
}

/* ---------------------------------------------------------------------- */
/* Directive tables                                                        */

#define CONF_ARGS_MASK                                                                             \
    (XDS_CONF_NOARGS | XDS_CONF_TAKE1 | XDS_CONF_TAKE2 | XDS_CONF_TAKE3 | XDS_CONF_1MORE)

/* Whether nargs fits the shape flags; no shape flag at all means none. */
static int conf_nargs_ok(unsigned flags, size_t nargs)
{
    unsigned shape = flags & CONF_ARGS_MASK;
    if (shape == 0)
        shape = XDS_CONF_NOARGS;
    return ((shape & XDS_CONF_NOARGS) && nargs == 0) || ((shape & XDS_CONF_TAKE1) && nargs == 1) ||
           ((shape & XDS_CONF_TAKE2) && nargs == 2) || ((shape & XDS_CONF_TAKE3) && nargs == 3) ||
           ((shape & XDS_CONF_1MORE) && nargs >= 1);
}

static int conf_in_list(const char *const *list, const char *name)
{
    for (; list != NULL && *list != NULL; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

int xds_conf_apply(const xds_cnode_t *block, const xds_command_t *table, void *conf,
                   const char *const *skip, char *err, size_t errlen)
{
    size_t ncmds = 0;
    while (table[ncmds].name != NULL)
        ncmds++;
    unsigned *seen = xds_calloc(ncmds + 1, sizeof(unsigned));

    for (size_t i = 0; i < block->nchildren; i++) {
        const xds_cnode_t *n = &block->children[i];
        if (conf_in_list(skip, n->name))
            continue;
        size_t c = 0;
        while (c < ncmds && strcmp(table[c].name, n->name) != 0)
            c++;
        if (c == ncmds) {
            xds_conf_node_error(n, err, errlen, "unknown directive");
            goto failed;
        }
        const xds_command_t *cmd = &table[c];
        if (seen[c] && !(cmd->flags & XDS_CONF_MULTI)) {
            xds_conf_node_error(n, err, errlen, "is duplicate");
            goto failed;
        }
        seen[c]++;
        if ((cmd->flags & XDS_CONF_BLOCK) && !n->block) {
            xds_conf_node_error(n, err, errlen, "must have a { } block");
            goto failed;
        }
        if (!(cmd->flags & XDS_CONF_BLOCK) && n->block) {
            xds_conf_node_error(n, err, errlen, "takes no { } block");
            goto failed;
        }
        if (!conf_nargs_ok(cmd->flags, n->nargs)) {
            xds_conf_node_error(n, err, errlen, "invalid number of arguments");
            goto failed;
        }
        if (cmd->set != NULL) {
            const char *phrase = cmd->set(n, cmd, conf);
            if (phrase != NULL) {
                xds_conf_node_error(n, err, errlen, "%s", phrase);
                goto failed;
            }
        }
    }

    for (size_t c = 0; c < ncmds; c++) {
        if ((table[c].flags & XDS_CONF_REQ) && !seen[c]) {
            conf_error_at(block->file ? block->file : "(none)", block->line ? block->line : 1,
                          table[c].name, err, errlen, "is required");
            goto failed;
        }
    }
    free(seen);
    return XDS_OK;

failed:
    free(seen);
    return XDS_ERROR;
}

/* ---------------------------------------------------------------------- */
/* Value parsers                                                           */

/* Read decimal digits at *s into *out (no sign); advances *s.  XDS_ERROR
 * when there is no digit or the value overflows int64. */
static int conf_digits(const char **s, int64_t *out)
{
    const char *p = *s;
    int64_t v = 0;
    if (*p < '0' || *p > '9')
        return XDS_ERROR;
    for (; *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (v > (INT64_MAX - d) / 10)
            return XDS_ERROR;
        v = v * 10 + d;
    }
    *s = p;
    *out = v;
    return XDS_OK;
}

int xds_parse_int(const char *s, int64_t *out)
{
    int64_t v;
    if (conf_digits(&s, &v) != XDS_OK || *s != '\0')
        return XDS_ERROR;
    *out = v;
    return XDS_OK;
}

int xds_parse_flag(const char *s, int *out)
{
    if (strcasecmp(s, "on") == 0)
        *out = 1;
    else if (strcasecmp(s, "off") == 0)
        *out = 0;
    else
        return XDS_ERROR;
    return XDS_OK;
}

int xds_parse_size(const char *s, int64_t *out)
{
    int64_t v, mult = 1;
    if (conf_digits(&s, &v) != XDS_OK)
        return XDS_ERROR;
    switch (*s) {
    case '\0':
        break;
    case 'k':
    case 'K':
        mult = 1024;
        s++;
        break;
    case 'm':
    case 'M':
        mult = 1024 * 1024;
        s++;
        break;
    case 'g':
    case 'G':
        mult = 1024 * 1024 * 1024;
        s++;
        break;
    default:
        return XDS_ERROR;
    }
    if (*s != '\0' || v > INT64_MAX / mult)
        return XDS_ERROR;
    *out = v * mult;
    return XDS_OK;
}

int xds_parse_msec(const char *s, int64_t *out)
{
    /* units from the largest; each may appear once, in this order */
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"ms", 1}, {"m", 60000}, {"s", 1000}};
    static const int rank[] = {0, 1, 4, 2, 3}; /* order of units[i] in time */
    int64_t total = 0, v;
    int last_rank = -1;

    if (conf_digits(&s, &v) != XDS_OK)
        return XDS_ERROR;
    if (*s == '\0') { /* a bare number means seconds */
        if (v > INT64_MAX / 1000)
            return XDS_ERROR;
        *out = v * 1000;
        return XDS_OK;
    }
    for (;;) {
        size_t u = 0;
        while (u < xds_nelems(units) && strncmp(s, units[u].suffix, strlen(units[u].suffix)) != 0)
            u++;
        if (u == xds_nelems(units) || rank[u] <= last_rank)
            return XDS_ERROR;
        s += strlen(units[u].suffix);
        last_rank = rank[u];
        if (v > INT64_MAX / units[u].ms || total > INT64_MAX - v * units[u].ms)
            return XDS_ERROR;
        total += v * units[u].ms;
        if (*s == '\0')
            break;
        if (conf_digits(&s, &v) != XDS_OK)
            return XDS_ERROR;
    }
    *out = total;
    return XDS_OK;
}

/* ---------------------------------------------------------------------- */
/* Generic setters                                                         */

static void *conf_field(void *conf, const xds_command_t *cmd)
{
    return (char *)conf + cmd->offset;
}

const char *xds_conf_set_str(const xds_cnode_t *node, const xds_command_t *cmd, void *conf)
{
    if (node->nargs != 1)
        return "invalid number of arguments";
    char **field = conf_field(conf, cmd);
    free(*field);
    *field = xds_strdup(node->args[0]);
    return NULL;
}

const char *xds_conf_set_flag(const xds_cnode_t *node, const xds_command_t *cmd, void *conf)
{
    if (node->nargs != 1)
        return "invalid number of arguments";
    if (xds_parse_flag(node->args[0], conf_field(conf, cmd)) != XDS_OK)
        return xds_conf_errf("invalid value \"%s\", expected on or off", node->args[0]);
    return NULL;
}

const char *xds_conf_set_int(const xds_cnode_t *node, const xds_command_t *cmd, void *conf)
{
    if (node->nargs != 1)
        return "invalid number of arguments";
    if (xds_parse_int(node->args[0], conf_field(conf, cmd)) != XDS_OK)
        return xds_conf_errf("invalid number \"%s\"", node->args[0]);
    return NULL;
}

const char *xds_conf_set_msec(const xds_cnode_t *node, const xds_command_t *cmd, void *conf)
{
    if (node->nargs != 1)
        return "invalid number of arguments";
    if (xds_parse_msec(node->args[0], conf_field(conf, cmd)) != XDS_OK)
        return xds_conf_errf("invalid duration \"%s\"", node->args[0]);
    return NULL;
}

const char *xds_conf_set_size(const xds_cnode_t *node, const xds_command_t *cmd, void *conf)
{
    if (node->nargs != 1)
        return "invalid number of arguments";
    if (xds_parse_size(node->args[0], conf_field(conf, cmd)) != XDS_OK)
        return xds_conf_errf("invalid size \"%s\"", node->args[0]);
    return NULL;
}
