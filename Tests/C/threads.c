/* Many threads on one model file, for ThreadSanitizer (scripts/sanitize.sh): every thread opens
 * its own model from the same model bytes (shared, read-only) in its own arena, then alternates
 * runs, PNG classifications and a failing call whose error text names the thread, and checks
 * that infer_last_error() gives back its own text and its results equal the main thread's.
 *
 *   threads model.bin digit.png [threads] [rounds]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"

static const unsigned char *model_bytes;
static size_t model_len;
static const unsigned char *png;
static size_t png_len;
static int rounds = 200;
static int expected_label = -1;

struct worker { int index; int failures; };

static void *work(void *argument) {
    struct worker *w = argument;
    size_t need = 0;
    if (infer_arena_size(model_bytes, model_len, &need) != INFER_OK) { w->failures++; return NULL; }
    void *arena = malloc(need);
    infer_model *m = NULL;
    if (infer_open(model_bytes, model_len, arena, need, &m) != INFER_OK) { w->failures++; free(arena); return NULL; }
    size_t in = infer_input_len(m), out = infer_output_len(m);
    float *x = malloc(in * sizeof(float)), *y = malloc(out * sizeof(float));
    char wanted[64];
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < in; i++) x[i] = (float)((i + (size_t)r) % 5) / 5.0f;
        if (infer_run(m, x, in, y, out) != INFER_OK) w->failures++;
        int label = -1;
        if (infer_classify_png_memory(m, png, png_len, &label, NULL, 0) != INFER_OK || label != expected_label) w->failures++;
        /* A wrong length unique to this thread and round: the message must quote it back. */
        size_t wrong = in + 1 + (size_t)w->index * 1000 + (size_t)r;
        if (infer_run(m, x, wrong, y, out) != INFER_E_SHAPE) w->failures++;
        snprintf(wanted, sizeof wanted, "input_len %zu", wrong);
        if (strstr(infer_last_error(), wanted) == NULL) {
            if (w->failures++ == 0) fprintf(stderr, "thread %d: error text \"%s\" lacks \"%s\"\n", w->index, infer_last_error(), wanted);
        }
    }
    free(x); free(y); free(arena);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s model.bin digit.png [threads] [rounds]\n", argv[0]); return 2; }
    int count = argc > 3 ? atoi(argv[3]) : 8;
    if (argc > 4) rounds = atoi(argv[4]);
    FILE *f = fopen(argv[1], "rb");
    FILE *g = fopen(argv[2], "rb");
    if (f == NULL || g == NULL) { fprintf(stderr, "cannot open inputs\n"); return 2; }
    fseek(f, 0, SEEK_END); model_len = (size_t)ftell(f); fseek(f, 0, SEEK_SET);
    fseek(g, 0, SEEK_END); png_len = (size_t)ftell(g); fseek(g, 0, SEEK_SET);
    unsigned char *mb = malloc(model_len), *pb = malloc(png_len);
    if (fread(mb, 1, model_len, f) != model_len || fread(pb, 1, png_len, g) != png_len) { fprintf(stderr, "short read\n"); return 2; }
    fclose(f); fclose(g);
    model_bytes = mb; png = pb;
    /* The main thread's answer, which every thread must reproduce. */
    size_t need = 0;
    if (infer_arena_size(mb, model_len, &need) != INFER_OK) { fprintf(stderr, "%s\n", infer_last_error()); return 1; }
    void *arena = malloc(need);
    infer_model *m = NULL;
    if (infer_open(mb, model_len, arena, need, &m) != INFER_OK ||
        infer_classify_png_memory(m, pb, png_len, &expected_label, NULL, 0) != INFER_OK) { fprintf(stderr, "%s\n", infer_last_error()); return 1; }
    free(arena);
    pthread_t *threads = malloc(sizeof(pthread_t) * (size_t)count);
    struct worker *workers = calloc((size_t)count, sizeof(struct worker));
    for (int i = 0; i < count; i++) { workers[i].index = i; pthread_create(&threads[i], NULL, work, &workers[i]); }
    int failures = 0;
    for (int i = 0; i < count; i++) { pthread_join(threads[i], NULL); failures += workers[i].failures; }
    printf("threads: %d threads x %d rounds, %d failed checks\n", count, rounds, failures);
    free(threads); free(workers); free(mb); free(pb);
    return failures == 0 ? 0 : 1;
}
