/* classify: run a model file on PNG digits through include/infer.h.
 *
 *   classify model.bin digit.png...
 *
 * Prints, for each image, the predicted label and the model's outputs. Exit status 0 when every
 * image was classified, 1 otherwise. All memory is the program's own: the model bytes and one arena.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"

/* Reads a whole file into a malloc'd buffer. */
static void *read_file(const char *path, size_t *length) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "classify: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    void *bytes = NULL;
    long size = -1;
    if (fseek(file, 0, SEEK_END) == 0) size = ftell(file);
    if (size >= 0 && fseek(file, 0, SEEK_SET) == 0) {
        bytes = malloc(size > 0 ? (size_t)size : 1);
        if (bytes != NULL && fread(bytes, 1, (size_t)size, file) != (size_t)size) {
            free(bytes);
            bytes = NULL;
        }
    }
    if (bytes == NULL) fprintf(stderr, "classify: cannot read %s\n", path);
    fclose(file);
    *length = (size_t)size;
    return bytes;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s model.bin digit.png...\n", argv[0]);
        return 2;
    }
    size_t model_len = 0;
    void *model_bytes = read_file(argv[1], &model_len);
    if (model_bytes == NULL) return 1;

    size_t arena_len = 0;
    infer_status status = infer_arena_size(model_bytes, model_len, &arena_len);
    if (status != INFER_OK) {
        fprintf(stderr, "classify: %s: %s (%s)\n", argv[1], infer_status_string(status), infer_last_error());
        free(model_bytes);
        return 1;
    }
    void *arena = malloc(arena_len);
    infer_model *model = NULL;
    status = arena == NULL ? INFER_E_ARENA : infer_open(model_bytes, model_len, arena, arena_len, &model);
    if (status != INFER_OK) {
        fprintf(stderr, "classify: %s: %s (%s)\n", argv[1], infer_status_string(status), infer_last_error());
        free(arena);
        free(model_bytes);
        return 1;
    }

    size_t outputs = infer_output_len(model);
    float probs[64];
    if (outputs > sizeof probs / sizeof probs[0]) outputs = 0; /* label only for wide models */
    const char *what = infer_output_kind(model) == INFER_OUTPUT_PROBABILITIES ? "probabilities" : "scores";
    int failures = 0;
    for (int i = 2; i < argc; i++) {
        int label = -1;
        status = infer_classify_png(model, argv[i], &label, outputs ? probs : NULL, outputs);
        if (status != INFER_OK) {
            fprintf(stderr, "classify: %s: %s (%s)\n", argv[i], infer_status_string(status), infer_last_error());
            failures++;
            continue;
        }
        printf("%s: %d  %s", argv[i], label, what);
        for (size_t k = 0; k < outputs; k++) printf(" %.4f", probs[k]);
        printf("\n");
    }
    free(arena);
    free(model_bytes);
    return failures == 0 ? 0 : 1;
}
