/* Times the C interface from C and counts heap allocations per call.
 *
 *   infer_bench model.bin digit.png [iterations] [images-idx3-ubyte.gz [count]]
 *
 * Prints the median and 90th percentile of infer_run, infer_classify_png_memory and
 * infer_classify_png, each after a warm-up, and the malloc calls per call measured by wrapping
 * glibc's allocator in this program (which interposes on libinfer's and libpng's calls too).
 * With an MNIST image file (IDX, gzipped), infer_run also goes through its first `count` digits
 * (default 3,000) as pixels / 255, one call each, round after round: real digits touch different
 * weight rows on every call, where the fixed input keeps the same rows in cache.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "infer.h"

#include "bench_support.h"

static void *read_all(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *bytes = __libc_malloc(n > 0 ? (size_t)n : 1);
    if (fread(bytes, 1, (size_t)n, f) != (size_t)n) { fclose(f); return NULL; }
    fclose(f);
    *length = (size_t)n;
    return bytes;
}

/* The first `count` images of a gzipped IDX file as floats in [0, 1]; NULL on any error. */
static float *read_digits(const char *path, size_t pixels, size_t *count) {
    gzFile f = gzopen(path, "rb");
    if (f == NULL) return NULL;
    unsigned char header[16];
    float *out = NULL;
    if (gzread(f, header, 16) == 16 && header[2] == 8 && header[3] == 3) {
        size_t stored = (size_t)header[4] << 24 | (size_t)header[5] << 16 | (size_t)header[6] << 8 | header[7];
        size_t size = ((size_t)header[8] << 24 | (size_t)header[9] << 16 | (size_t)header[10] << 8 | header[11])
                      * ((size_t)header[12] << 24 | (size_t)header[13] << 16 | (size_t)header[14] << 8 | header[15]);
        if (*count > stored) *count = stored;
        unsigned char *bytes = __libc_malloc(*count * pixels);
        if (size == pixels && bytes != NULL && gzread(f, bytes, (unsigned)(*count * pixels)) == (int)(*count * pixels)) {
            out = __libc_malloc(*count * pixels * sizeof(float));
            for (size_t i = 0; out != NULL && i < *count * pixels; i++) out[i] = (float)bytes[i] / 255.0f;
        }
        __libc_free(bytes);
    }
    gzclose(f);
    return out;
}

enum { RUN, PNG_MEMORY, PNG_FILE, RUN_DIGITS };

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s model.bin digit.png [iterations]\n", argv[0]); return 2; }
    int iterations = argc > 3 ? atoi(argv[3]) : 20000;
    size_t model_len, png_len;
    void *model_bytes = read_all(argv[1], &model_len), *png = read_all(argv[2], &png_len);
    if (model_bytes == NULL || png == NULL) { fprintf(stderr, "cannot read inputs\n"); return 1; }
    size_t arena_len;
    if (infer_arena_size(model_bytes, model_len, &arena_len) != INFER_OK) { fprintf(stderr, "%s\n", infer_last_error()); return 1; }
    void *arena = __libc_memalign(64, arena_len);
    infer_model *model;
    if (infer_open(model_bytes, model_len, arena, arena_len, &model) != INFER_OK) { fprintf(stderr, "%s\n", infer_last_error()); return 1; }
    size_t n_in = infer_input_len(model), n_out = infer_output_len(model);
    float *input = __libc_malloc(n_in * sizeof(float)), *output = __libc_malloc(n_out * sizeof(float));
    /* A fixed input with MNIST's share of non-zero pixels (about 19%). */
    for (size_t i = 0; i < n_in; i++) input[i] = (i * 37) % 5 == 0 ? (float)((i * 13) % 255 + 1) / 255.0f : 0.0f;
    double *times = __libc_malloc(sizeof(double) * (size_t)iterations);
    const char *names[] = {"infer_run", "infer_classify_png_memory", "infer_classify_png", "infer_run_mnist_digits"};
    size_t digit_count = argc > 5 ? (size_t)atoi(argv[5]) : 3000;
    float *digits = argc > 4 ? read_digits(argv[4], n_in, &digit_count) : NULL;
    if (argc > 4 && digits == NULL) { fprintf(stderr, "cannot read %zu-pixel images from %s\n", n_in, argv[4]); return 1; }
    printf("model %s: arena %zu bytes, %zu inputs, %zu outputs\n", argv[1], arena_len, n_in, n_out);
    for (int which = RUN; which <= (digits != NULL ? RUN_DIGITS : PNG_FILE); which++) {
        int label = -1;
        int rounds = which == RUN || which == RUN_DIGITS ? iterations : iterations / 4;
        uint64_t calls = 0;
        for (int pass = 0; pass < 2; pass++) { /* pass 0 warms up */
            allocations = 0;
            for (int i = 0; i < rounds; i++) {
                double start = now_us();
                infer_status status;
                if (which == RUN) status = infer_run(model, input, n_in, output, n_out);
                else if (which == RUN_DIGITS) status = infer_run(model, digits + (size_t)i % digit_count * n_in, n_in, output, n_out);
                else if (which == PNG_MEMORY) status = infer_classify_png_memory(model, png, png_len, &label, output, n_out);
                else status = infer_classify_png(model, argv[2], &label, output, n_out);
                times[i] = now_us() - start;
                if (status != INFER_OK) { fprintf(stderr, "%s: %s\n", names[which], infer_last_error()); return 1; }
            }
            calls = allocations;
        }
        qsort(times, (size_t)rounds, sizeof(double), compare);
        printf("%-26s median %7.2f us  p90 %7.2f us  min %7.2f us  mallocs/call %.3f  (%d calls)\n", names[which],
               times[rounds / 2], times[rounds * 9 / 10], times[0], (double)calls / rounds, rounds);
    }
    return 0;
}
