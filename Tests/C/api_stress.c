/* Drives every function of include/infer.h with good and bad input, for the sanitizer builds
 * (scripts/sanitize.sh): AddressSanitizer and UndefinedBehaviorSanitizer catch any out-of-bounds
 * access or undefined operation the checks below would not see.
 *
 *   api_stress model.bin file.png...
 *
 * Checks: the model opens and runs; every truncation and many single-byte corruptions of the model
 * are refused with a status (never a crash); NULL pointers, wrong lengths and a short arena get
 * their statuses; NaN and infinite inputs run without fault; each PNG is classified or refused
 * with INFER_E_IMAGE, whole and truncated. Exit status 0 when every check held.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"

static int failures = 0;
#define CHECK(condition, ...) do { if (!(condition)) { failures++; fprintf(stderr, "FAILED %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static unsigned char *read_file(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc(n > 0 ? (size_t)n : 1);
    if (bytes == NULL || fread(bytes, 1, (size_t)n, f) != (size_t)n) { fclose(f); free(bytes); return NULL; }
    fclose(f);
    *length = (size_t)n;
    return bytes;
}

/* Opens a copy of `bytes` (exactly `length` bytes in their own block, so reads past the end are
 * caught) and runs it once if it opens. Returns the status of infer_arena_size or infer_open. */
static infer_status open_copy(const unsigned char *bytes, size_t length) {
    unsigned char *copy = malloc(length > 0 ? length : 1);
    memcpy(copy, bytes, length);
    size_t need = 0;
    infer_status status = infer_arena_size(copy, length, &need);
    if (status == INFER_OK) {
        void *arena = malloc(need);
        infer_model *m = NULL;
        status = infer_open(copy, length, arena, need, &m);
        if (status == INFER_OK) {
            size_t in = infer_input_len(m), out = infer_output_len(m);
            float *x = calloc(in, sizeof(float)), *y = calloc(out, sizeof(float));
            CHECK(infer_run(m, x, in, y, out) == INFER_OK, "a model that opens must run: %s", infer_last_error());
            free(x); free(y);
        }
        free(arena);
    }
    free(copy);
    return status;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s model.bin [file.png...]\n", argv[0]); return 2; }
    size_t model_len = 0;
    unsigned char *model = read_file(argv[1], &model_len);
    if (model == NULL) { fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }

    size_t need = 0;
    CHECK(infer_arena_size(model, model_len, &need) == INFER_OK, "arena size: %s", infer_last_error());
    void *arena = malloc(need);
    infer_model *m = NULL;
    CHECK(infer_open(model, model_len, arena, need - 16, &m) == INFER_E_ARENA && m == NULL, "a short arena is refused");
    CHECK(infer_open(model, model_len, arena, need, &m) == INFER_OK && m != NULL, "open: %s", infer_last_error());
    if (m == NULL) return 1;
    size_t in = infer_input_len(m), out = infer_output_len(m);
    float *x = malloc(in * sizeof(float)), *y = malloc(out * sizeof(float));
    for (size_t i = 0; i < in; i++) x[i] = (float)(i % 7) / 7.0f;
    CHECK(infer_run(m, x, in, y, out) == INFER_OK, "run: %s", infer_last_error());

    /* Arguments. */
    CHECK(infer_run(NULL, x, in, y, out) == INFER_E_ARGUMENT, "NULL model");
    CHECK(infer_run(m, NULL, in, y, out) == INFER_E_ARGUMENT, "NULL input");
    CHECK(infer_run(m, x, in, NULL, out) == INFER_E_ARGUMENT, "NULL output");
    CHECK(infer_run(m, x, in + 1, y, out) == INFER_E_SHAPE, "long input");
    CHECK(infer_run(m, x, in, y, out - 1) == INFER_E_SHAPE, "short output");
    CHECK(infer_arena_size(NULL, model_len, &need) == INFER_E_ARGUMENT, "NULL model bytes");
    CHECK(infer_arena_size(model, model_len, NULL) == INFER_E_ARGUMENT, "NULL arena_len");
    infer_model *other = m;
    CHECK(infer_open(model, model_len, NULL, need, &other) == INFER_E_ARGUMENT && other == NULL, "NULL arena");
    CHECK(infer_input_len(NULL) == 0 && infer_output_len(NULL) == 0 && infer_output_kind(NULL) == -1, "NULL queries");
    int label = -1;
    CHECK(infer_classify_png(m, NULL, &label, NULL, 0) == INFER_E_ARGUMENT, "NULL path");
    infer_status missing = infer_classify_png(m, "/nonexistent/digit.png", &label, NULL, 0);
    CHECK(missing == INFER_E_IO || missing == INFER_E_SHAPE, "missing file: status %d", missing); /* SHAPE: no image input */
    CHECK(infer_classify_png_memory(m, NULL, 10, &label, NULL, 0) == INFER_E_ARGUMENT, "NULL PNG bytes");
    for (int s = 0; s <= 7; s++) CHECK(infer_status_string((infer_status)s) != NULL, "status %d has a name", s);
    CHECK(infer_status_string((infer_status)99) != NULL, "unknown status has a name");

    /* Non-finite inputs compute without fault (the outputs may be NaN). */
    for (size_t i = 0; i < in; i++) x[i] = i % 3 == 0 ? NAN : (i % 3 == 1 ? INFINITY : -INFINITY);
    CHECK(infer_run(m, x, in, y, out) == INFER_OK, "non-finite input: %s", infer_last_error());

    /* Every truncation and corruptions of the model bytes. */
    size_t stride = model_len / 256 > 997 ? model_len / 256 : 997;
    for (size_t length = 0; length < model_len; length += length < 4096 ? 1 : stride)
        CHECK(open_copy(model, length) != INFER_OK, "truncated to %zu bytes, still opens", length);
    unsigned char *flipped = malloc(model_len);
    uint64_t state = 12345;
    for (int round = 0; round < 400; round++) {
        memcpy(flipped, model, model_len);
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t at = round < 256 ? (size_t)round : (size_t)(state >> 20) % model_len;
        flipped[at] ^= (unsigned char)(1u << (state >> 61));
        (void)open_copy(flipped, model_len); /* the CRC refuses most; any status is fine, a fault is not */
    }
    free(flipped);

    /* PNGs, whole and truncated. A model without image input refuses them all with INFER_E_SHAPE. */
    int takes_images = 1;
    if (argc > 2) {
        size_t first_len = 0;
        unsigned char *first = read_file(argv[2], &first_len);
        takes_images = first == NULL || infer_classify_png_memory(m, first, first_len, &label, NULL, 0) != INFER_E_SHAPE;
        free(first);
    }
    for (int i = 2; i < argc; i++) {
        size_t png_len = 0;
        unsigned char *png = read_file(argv[i], &png_len);
        if (png == NULL) { CHECK(0, "cannot read %s", argv[i]); continue; }
        infer_status status = infer_classify_png_memory(m, png, png_len, &label, y, out);
        CHECK(takes_images ? status == INFER_OK || status == INFER_E_IMAGE : status == INFER_E_SHAPE,
              "%s: status %d (%s)", argv[i], status, infer_last_error());
        CHECK(infer_classify_png(m, argv[i], &label, NULL, 0) == status, "%s: file and memory paths agree", argv[i]);
        for (size_t cut = 0; cut < png_len; cut += 1 + png_len / 64) {
            unsigned char *part = malloc(cut > 0 ? cut : 1);
            memcpy(part, png, cut);
            infer_status s = infer_classify_png_memory(m, part, cut, &label, NULL, 0);
            CHECK(takes_images ? s == INFER_E_IMAGE || s == INFER_E_ARGUMENT || s == INFER_OK : s == INFER_E_SHAPE || s == INFER_E_ARGUMENT,
                  "%s cut to %zu: status %d", argv[i], cut, s);
            free(part);
        }
        free(png);
    }
    free(x); free(y); free(arena); free(model);
    printf("api_stress: %d failed checks\n", failures);
    return failures == 0 ? 0 : 1;
}
