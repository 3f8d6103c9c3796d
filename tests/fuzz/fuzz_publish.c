/*
 * fuzz_publish.c -- libFuzzer target for the host side that every source's
 * data goes through: the publish() of the host API table that xdsd hands
 * to plugins (core/source.c api_publish: max_document_size, xj_parse with
 * the model depth limit, xds_model_check_document, the fail-static
 * bookkeeping), with failed() and unchanged() in between.  The API table is
 * the daemon's own, obtained through xds_source_create (tests/fuzz/host.c).
 *
 * Input: a control byte, then up to four documents separated by FUZZ_SEP,
 * published in order into one source.  The control byte picks strict or
 * lenient model checks and a small max_document_size (so the size limit is
 * hit), and whether failed()/unchanged() are called between publishes.
 * Checked: a refused document never replaces the last good one (the same
 * tree stays in place), an accepted one always does, and publish() returns
 * only XDSD_OK or XDSD_ERROR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "host.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_publish: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const limits[4] = {"64m", "1k", "100", "0"};
    const xdsd_host_api_t *api;
    char conf[128], err[XDS_ERRLEN];

    if (size < 1 || size > 256 * 1024)
        return 0;
    unsigned ctl = data[0];
    snprintf(conf, sizeof(conf), "source fuzz { plugin fuzz; max_document_size %s; }",
             limits[ctl & 3]);
    xds_source_t *s = fuzz_source_new(conf, (ctl >> 2) & 1, &api, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "fuzz_publish: %s\n", err);
        abort();
    }

    const uint8_t *p = data + 1, *part;
    size_t len;
    for (int i = 0; i < 4 && fuzz_next_part(&p, data + size, &part, &len); i++) {
        const xj_t *before = s->doc;
        uint64_t updates = s->updates;
        /* An exact-size copy, as a plugin's buffer would be. */
        char *buf = malloc(len ? len : 1);
        if (buf == NULL)
            abort();
        memcpy(buf, part, len);
        int rc = api->publish((xdsd_source_t *)s, buf, len, i & 1 ? NULL : "fuzz input");
        free(buf);
        if (rc == XDSD_OK) {
            if (s->doc == NULL || s->doc == before || s->updates != updates + 1 || s->failing)
                fail("an accepted document did not replace the last good one");
        } else if (rc == XDSD_ERROR) {
            if (s->doc != before || s->updates != updates || !s->failing || !s->refused ||
                s->last_error == NULL)
                fail("a refused document changed the source or left no reason");
        } else {
            fail("publish returned something other than XDSD_OK or XDSD_ERROR");
        }
        if (ctl & 0x10)
            api->failed((xdsd_source_t *)s, "fuzz: refresh failed");
        if (ctl & 0x20)
            api->unchanged((xdsd_source_t *)s);
        if (api->name((xdsd_source_t *)s) == NULL || strcmp(api->name((xdsd_source_t *)s), "fuzz"))
            fail("name() changed");
    }
    fuzz_source_free(s);
    return 0;
}
