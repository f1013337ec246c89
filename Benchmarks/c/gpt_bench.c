/* Times character generation through the C interface and counts heap allocations per token.
 *
 *   gpt_bench model.bin [tokens] [rounds]
 *
 * Each round resets the model and decodes `tokens` bytes greedily from a one-byte prompt (token
 * 0), one infer_next call per byte, as PyTorch's reference (Benchmarks/reference/gpt_pytorch.py
 * generate) does. A call whose sequence still fits in the context uses the key/value cache; a
 * later one recomputes the window. Prints the median microseconds per call in each regime over all
 * rounds (the first round is a warm-up and not counted), the malloc calls per call, and the same
 * figures as one JSON line.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infer.h"

#include "bench_support.h"

static double median(double *values, size_t count) {
    if (count == 0) return 0;
    qsort(values, count, sizeof *values, compare);
    return values[count / 2];
}

static void *read_all(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    void *bytes = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n > 0 && fseek(f, 0, SEEK_SET) == 0) {
        bytes = __libc_malloc((size_t)n);
        if (bytes != NULL && fread(bytes, 1, (size_t)n, f) != (size_t)n) {
            __libc_free(bytes);
            bytes = NULL;
        }
    }
    fclose(f);
    *length = n > 0 ? (size_t)n : 0;
    return bytes;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s model.bin [tokens] [rounds]\n", argv[0]);
        return 2;
    }
    size_t tokens = argc > 2 ? strtoul(argv[2], NULL, 10) : 300;
    size_t rounds = argc > 3 ? strtoul(argv[3], NULL, 10) : 5;
    if (tokens == 0 || rounds == 0) {
        fprintf(stderr, "gpt_bench: tokens and rounds must be positive\n");
        return 2;
    }
    size_t model_len = 0, arena_len = 0;
    void *bytes = read_all(argv[1], &model_len);
    if (bytes == NULL) {
        fprintf(stderr, "gpt_bench: cannot read %s\n", argv[1]);
        return 1;
    }
    infer_model *model = NULL;
    infer_status status = infer_arena_size(bytes, model_len, &arena_len);
    void *arena = status == INFER_OK ? __libc_memalign(64, arena_len) : NULL;
    if (status == INFER_OK) status = infer_open(bytes, model_len, arena, arena_len, &model);
    size_t vocab = status == INFER_OK ? infer_vocab_len(model) : 0;
    size_t context = status == INFER_OK ? infer_context_len(model) : 0;
    if (status == INFER_OK && vocab == 0) status = INFER_E_SHAPE;
    if (status != INFER_OK) {
        fprintf(stderr, "gpt_bench: %s: %s (%s)\n", argv[1], infer_status_string(status), infer_last_error());
        return 1;
    }
    float *probs = __libc_malloc(vocab * sizeof(float));
    double *within = __libc_malloc(tokens * rounds * sizeof(double));
    double *past = __libc_malloc(tokens * rounds * sizeof(double));
    size_t n_within = 0, n_past = 0;
    uint64_t counted_calls = 0, counted_allocations = 0;
    for (size_t round = 0; round <= rounds && status == INFER_OK; round++) {
        status = infer_reset(model);
        int token = 0;
        for (size_t i = 0; i < tokens && status == INFER_OK; i++) {
            uint64_t before = allocations;
            double start = now_us();
            status = infer_next(model, token, probs, vocab);
            double elapsed = now_us() - start;
            uint64_t made = allocations - before;
            int best = 0;
            for (size_t v = 1; v < vocab; v++) if (probs[v] > probs[best]) best = (int)v;
            token = best;
            if (round == 0) continue;
            counted_calls++;
            counted_allocations += made;
            if (i + 1 <= context) within[n_within++] = elapsed; else past[n_past++] = elapsed;
        }
    }
    if (status != INFER_OK) {
        fprintf(stderr, "gpt_bench: infer_next: %s (%s)\n", infer_status_string(status), infer_last_error());
        return 1;
    }
    double m_within = median(within, n_within), m_past = median(past, n_past);
    double per_call = counted_calls ? (double)counted_allocations / (double)counted_calls : 0;
    printf("context %zu, vocabulary %zu, %zu tokens x %zu rounds (after one warm-up round)\n", context, vocab, tokens, rounds);
    printf("infer_next within the context (cached): median %.1f us (%zu calls)\n", m_within, n_within);
    printf("infer_next past the context (window):   median %.1f us (%zu calls)\n", m_past, n_past);
    printf("malloc calls per infer_next: %.3f\n", per_call);
    printf("{\"us_per_token_within_context\": %.2f, \"us_per_token_past_context\": %.2f, "
           "\"mallocs_per_call\": %.3f, \"context\": %zu, \"tokens\": %zu, \"rounds\": %zu}\n",
           m_within, m_past, per_call, context, tokens, rounds);
    return 0;
}
