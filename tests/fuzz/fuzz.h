/*
 * fuzz.h -- what the libFuzzer targets in tests/fuzz/ share: the two entry
 * points libFuzzer calls (declared here so that -Wmissing-prototypes holds
 * for the targets too), and a splitter for inputs that carry several parts.
 *
 * Each target is built two ways: with clang -fsanitize=fuzzer (`make fuzz`,
 * libFuzzer's own main drives it), and with tests/fuzz/replay_main.c as a
 * plain program that runs the files named on its command line once each
 * (the regression run of the normal test suite, under any compiler).
 *
 * Seeds are in tests/fuzz/corpus/<target>/, inputs that once crashed in
 * tests/fuzz/regress/<target>/ (both replayed by `make fuzz-replay`).
 * Environment: XDSD_FUZZ_LOG=1 logs at debug level (what an input did);
 * XDSD_FUZZ_LAX=1 skips fuzz_request's check of the /nodes output (to keep
 * fuzzing past a reported problem); XDSD_FUZZ_SCHEMA=PATH is the schema of
 * fuzz_schema (default tests/.deps/envoy.pb).
 */
#ifndef XDS_FUZZ_H
#define XDS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Run one input.  Returns 0 (libFuzzer reserves other values); a bug is a
 * crash, a sanitizer report or abort(). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Optional one-time set-up, before the first input (weak: most targets do
 * not define it). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Parts of an input are separated by this line; the seeds stay readable and
 * the mutator finds it in the dictionary-free case too (it is short). */
#define FUZZ_SEP     "\n----\n"
#define FUZZ_SEP_LEN (sizeof(FUZZ_SEP) - 1)

/* The next part of [*p, end): sets *part and *len and advances *p past the
 * separator (to NULL after the last part).  Returns 0 when nothing is left. */
static inline int fuzz_next_part(const uint8_t **p, const uint8_t *end, const uint8_t **part,
                                 size_t *len)
{
    if (*p == NULL)
        return 0;
    const uint8_t *s = *p;
    size_t left = (size_t)(end - s);
    const uint8_t *sep = left >= FUZZ_SEP_LEN ? memmem(s, left, FUZZ_SEP, FUZZ_SEP_LEN) : NULL;
    *part = s;
    if (sep == NULL) {
        *len = left;
        *p = NULL; /* this was the last part */
    } else {
        *len = (size_t)(sep - s);
        *p = sep + FUZZ_SEP_LEN;
    }
    return 1;
}

#endif
