/*
 * check.h -- `xdsd -t`: check the conf, and then the data it points at.
 */
#ifndef XDS_CHECK_H
#define XDS_CHECK_H

#include "cycle.h"

/* With the cycle c loaded (conf parsed, plugins loaded, sources created):
 * start every source on a private event loop and wait (at most wait_ms)
 * until each has delivered a document or failed; then merge, generate and
 * validate exactly as a build would.  Prints every problem to stderr, one a
 * line, and a summary.  A source that cannot be read (server down, file
 * missing) or does not answer in time is a warning: its data is not
 * checked; data a source delivers that is refused (malformed JSON, wrong
 * model shape), a source that fails to start, and every generator or
 * validation problem count.  Returns the number of problems.  Blocks (for at most wait_ms). */
size_t xds_check_data(xds_cycle_t *c, int64_t wait_ms);

#endif
