/* sample_bench: the time infer_sample takes per sample from C, for a generative model file.
 *
 *   sample_bench model.bin [COUNT]
 *
 * Draws COUNT samples (default 200; seeds 1 .. COUNT) after one warm-up sample and prints one line:
 *   infer_sample: median M us, mean A us, min N us over COUNT samples, H heap allocations
 * The allocations are those of the timed calls (every one in the process is counted). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "bench_support.h"
#include "infer.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s model.bin [COUNT]\n", argv[0]);
        return 2;
    }
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
    if (count < 1 || count > 1000000) {
        fprintf(stderr, "sample_bench: COUNT must be 1 to 1000000\n");
        return 2;
    }
    FILE *file = fopen(argv[1], "rb");
    if (file == NULL) {
        fprintf(stderr, "sample_bench: cannot open %s\n", argv[1]);
        return 1;
    }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    void *bytes = size > 0 ? aligned_alloc(64, ((size_t)size + 63) / 64 * 64) : NULL;
    if (bytes == NULL || fread(bytes, 1, (size_t)size, file) != (size_t)size) {
        fprintf(stderr, "sample_bench: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(file);
    size_t arena_len = 0;
    infer_model *model = NULL;
    infer_status status = infer_arena_size(bytes, (size_t)size, &arena_len);
    void *arena = status == INFER_OK ? aligned_alloc(64, (arena_len + 63) / 64 * 64) : NULL;
    if (status == INFER_OK) status = infer_open(bytes, (size_t)size, arena, arena_len, &model);
    size_t n = status == INFER_OK ? infer_output_len(model) : 0;
    float *out = n > 0 ? malloc(n * sizeof(float)) : NULL;
    double *times = malloc((size_t)count * sizeof(double));
    if (status == INFER_OK && out != NULL && times != NULL) status = infer_sample(model, 0, out, n);
    uint64_t before = allocations;
    for (long k = 0; status == INFER_OK && k < count; k++) {
        double start = now_us();
        status = infer_sample(model, (unsigned long long)k + 1, out, n);
        times[k] = now_us() - start;
    }
    uint64_t calls = allocations - before;
    if (status != INFER_OK) {
        fprintf(stderr, "sample_bench: %s\n", infer_last_error());
        return 1;
    }
    double total = 0;
    for (long k = 0; k < count; k++) total += times[k];
    qsort(times, (size_t)count, sizeof(double), compare);
    printf("infer_sample: median %.1f us, mean %.1f us, min %.1f us over %ld samples, %llu heap allocations\n",
           times[count / 2], total / (double)count, times[0], count, (unsigned long long)calls);
    return 0;
}
