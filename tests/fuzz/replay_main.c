/*
 * replay_main.c -- a main() for the fuzz targets without libFuzzer: run
 * LLVMFuzzerTestOneInput once on each file named on the command line (a
 * directory stands for the files in it).  The normal test suite links every
 * target with this file and replays the seed corpora and the regression
 * inputs (tests/fuzz/corpus/<target>/, tests/fuzz/regress/<target>/) under
 * whatever compiler and sanitizers the tree was configured with, so a crash
 * that fuzzing once found stays fixed without clang or a fuzzing run.
 *
 * Exit status: 0 when every input ran (a bug aborts the process, as under
 * libFuzzer), 2 when a file could not be read.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path, int verbose)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    for (;;) {
        if (data == NULL) {
            fprintf(stderr, "%s: out of memory\n", path);
            fclose(f);
            return -1;
        }
        len += fread(data + len, 1, cap - len, f);
        if (len < cap)
            break;
        cap *= 2;
        data = realloc(data, cap);
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        perror(path);
        free(data);
        return -1;
    }
    if (verbose)
        fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
    /* A copy of exactly len bytes, so that reads past the end are caught. */
    uint8_t *input = malloc(len ? len : 1);
    if (input == NULL) {
        free(data);
        return -1;
    }
    if (len)
        memcpy(input, data, len);
    free(data);
    LLVMFuzzerTestOneInput(input, len);
    free(input);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file in dir, in name order (so runs are repeatable). */
static int run_dir(const char *dir, int verbose, size_t *count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof(*names));
            if (nn == NULL)
                break;
            names = nn;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (names[n] == NULL)
            break;
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(names[i], verbose) != 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int verbose = getenv("FUZZ_REPLAY_VERBOSE") != NULL, rc = 0;
    size_t count = 0;

    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            rc = 2;
        } else if (S_ISDIR(st.st_mode)) {
            if (run_dir(argv[i], verbose, &count) != 0)
                rc = 2;
        } else if (run_file(argv[i], verbose) != 0) {
            rc = 2;
        } else {
            count++;
        }
    }
    fprintf(stderr, "%s: %zu input%s replayed\n", argv[0], count, count == 1 ? "" : "s");
    return rc;
}
