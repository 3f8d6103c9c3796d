/*
 * conf.h -- the nginx-style configuration language.
 *
 * Parsing happens in two steps.  xds_conf_parse_file() turns a file (and the
 * files it includes) into a tree of directives, reporting syntax errors with
 * file and line.  Then each module applies its directive table to the block
 * it owns with xds_conf_apply(): every directive is looked up in the table,
 * its argument count checked, and its setter run; a setter returns NULL or a
 * short phrase, and the core turns that into
 *     "FILE:LINE: directive \"NAME\": PHRASE".
 *
 * Syntax: directives are words separated by blanks and ended by ';'; a block
 * directive ends with '{' ... '}' instead.  '#' starts a comment to the end of
 * the line.  Arguments may be quoted with "..." or '...' (backslash escapes
 * \" \' \\ \n \t inside quotes).  `include GLOB;` is expanded at parse time
 * anywhere (relative globs against the directory of the including file; a
 * wildcard that matches nothing is not an error, a plain path that does not
 * exist is; a file may not include itself
 * recursively, depth limit 16).
 */
#ifndef XDS_CONF_H
#define XDS_CONF_H

#include "xdsd.h"

typedef struct xds_cnode xds_cnode_t;

struct xds_cnode {
    char *name;  /* directive name, owned */
    char **args; /* arguments after the name, owned */
    size_t nargs;
    const char *file; /* file it was read from (owned by the tree's root) */
    unsigned line;    /* line of the directive name */
    int block;        /* 1 when it has a { } body (possibly empty) */
    xds_cnode_t *children;
    size_t nchildren;
};

/* Parse path into a tree whose root is an unnamed block holding the
 * top-level directives.  Returns NULL with err = "FILE:LINE: reason" on a
 * syntax error or unreadable file.  Blocking (reads files). */
xds_cnode_t *xds_conf_parse_file(const char *path, char *err, size_t errlen);
/* Same, from a string; `name` is used as the file name in errors. */
xds_cnode_t *xds_conf_parse_string(const char *text, const char *name, char *err, size_t errlen);
void xds_conf_free(xds_cnode_t *root);

typedef struct xds_command xds_command_t;

/* A setter: store node's arguments into conf.  Returns NULL, or a phrase such
 * as "invalid duration \"5x\"" (static or in the thread-local buffer from
 * xds_conf_errf). */
typedef const char *(*xds_conf_set_pt)(const xds_cnode_t *node, const xds_command_t *cmd,
                                       void *conf);

/* Argument shape flags. */
#define XDS_CONF_NOARGS 0x0001u
#define XDS_CONF_TAKE1  0x0002u
#define XDS_CONF_TAKE2  0x0004u
#define XDS_CONF_TAKE3  0x0008u
#define XDS_CONF_1MORE  0x0010u /* one or more */
#define XDS_CONF_BLOCK  0x0100u /* must have a { } body; without it must not */
#define XDS_CONF_MULTI  0x0200u /* may appear more than once in a block */
#define XDS_CONF_REQ    0x0400u /* must appear in the block */

struct xds_command {
    const char *name; /* NULL ends the table */
    unsigned flags;
    xds_conf_set_pt set;
    size_t offset;    /* offsetof(conf struct, field) for generic setters */
    const void *post; /* setter-specific data (e.g. enum table) */
};

/* Apply table to every child of block.  conf is the struct the offsets point
 * into.  Returns XDS_OK, or XDS_ERROR with err = "FILE:LINE: directive
 * \"NAME\": reason" for the first problem: unknown directive, wrong number of
 * arguments, block/non-block mismatch, duplicate (without MULTI), missing
 * REQ directive (reported at the block's own line), or a setter's phrase.
 * Directives named in `skip` (NULL-terminated list, may be NULL) are left
 * alone for the caller to handle. */
int xds_conf_apply(const xds_cnode_t *block, const xds_command_t *table, void *conf,
                   const char *const *skip, char *err, size_t errlen);

/* Format "FILE:LINE: directive \"NAME\": reason" for node into err. */
void xds_conf_node_error(const xds_cnode_t *node, char *err, size_t errlen, const char *fmt, ...)
    XDS_PRINTF(4, 5);

/* Format a phrase into a thread-local buffer and return it (for setters). */
const char *xds_conf_errf(const char *fmt, ...) XDS_PRINTF(1, 2);

/* Generic setters; the field at cmd->offset has the type in brackets. */
const char *xds_conf_set_str(const xds_cnode_t *, const xds_command_t *,
                             void *); /* char * (strdup'd; freed by the owner) */
const char *xds_conf_set_flag(const xds_cnode_t *, const xds_command_t *, void *); /* int: on|off */
const char *xds_conf_set_int(const xds_cnode_t *, const xds_command_t *, void *); /* int64_t >= 0 */
const char *xds_conf_set_msec(const xds_cnode_t *, const xds_command_t *, void *); /* int64_t ms */
const char *xds_conf_set_size(const xds_cnode_t *, const xds_command_t *,
                              void *); /* int64_t bytes */

/* Value parsers behind the setters (also used by the plugin directive
 * bridge).  Return XDS_OK or XDS_ERROR. */
/* "250ms" "5s" "1m" "2h" "1d"; a bare number means seconds; "1m30s" allowed. */
int xds_parse_msec(const char *s, int64_t *out);
/* "512" "64k" "1m" "1g" (binary units, case-insensitive). */
int xds_parse_size(const char *s, int64_t *out);
int xds_parse_flag(const char *s, int *out);
int xds_parse_int(const char *s, int64_t *out);

#endif
