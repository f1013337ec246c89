/* sample: draw digits from a generative model (train --model gan, flow or diffusion --output) through include/infer.h.
 *
 *   sample model.bin OUT_DIR [COUNT] [SEED]
 *
 * Writes OUT_DIR/sample-NNNN.png for samples 0 .. COUNT-1 (default 16), sample k drawn with seed
 * SEED + k (default 1) by infer_sample_png, the same files as `sample --each OUT_DIR`; and
 * OUT_DIR/grid.pgm, all of them side by side (a binary PGM, tiles with a 2-pixel gap), from
 * infer_sample. All memory is the program's own: the model bytes, one arena and the grid.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"

static void *read_file(const char *path, size_t *length) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) return NULL;
    void *bytes = NULL;
    long size = -1;
    if (fseek(file, 0, SEEK_END) == 0) size = ftell(file);
    if (size > 0 && fseek(file, 0, SEEK_SET) == 0) {
        bytes = malloc((size_t)size);
        if (bytes != NULL && fread(bytes, 1, (size_t)size, file) != (size_t)size) {
            free(bytes);
            bytes = NULL;
        }
    }
    fclose(file);
    *length = size > 0 ? (size_t)size : 0;
    return bytes;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s model.bin OUT_DIR [COUNT] [SEED]\n", argv[0]);
        return 2;
    }
    const size_t side = 28, gap = 2;
    size_t count = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 16;
    unsigned long long seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    if (count == 0 || count > 4096) {
        fprintf(stderr, "sample: COUNT must be 1 to 4096\n");
        return 2;
    }
    size_t model_len = 0, arena_len = 0;
    void *model_bytes = read_file(argv[1], &model_len);
    if (model_bytes == NULL) {
        fprintf(stderr, "sample: cannot read %s\n", argv[1]);
        return 1;
    }
    infer_status status = infer_arena_size(model_bytes, model_len, &arena_len);
    infer_model *model = NULL;
    void *arena = status == INFER_OK ? aligned_alloc(64, (arena_len + 63) / 64 * 64) : NULL;
    if (status == INFER_OK) status = arena != NULL ? infer_open(model_bytes, model_len, arena, arena_len, &model) : INFER_E_ARENA;
    if (status == INFER_OK && infer_output_len(model) != side * side) {
        fprintf(stderr, "sample: this example draws 28x28 digits; the model gives %zu values\n", infer_output_len(model));
        status = INFER_E_SHAPE;
    }
    size_t columns = (size_t)ceil(sqrt((double)count)), rows = (count + columns - 1) / columns;
    size_t width = columns * side + (columns - 1) * gap, height = rows * side + (rows - 1) * gap;
    unsigned char *grid = calloc(width * height, 1);
    float image[28 * 28];
    char path[4096];
    for (size_t k = 0; status == INFER_OK && k < count && grid != NULL; k++) {
        snprintf(path, sizeof path, "%s/sample-%04zu.png", argv[2], k);
        status = infer_sample_png(model, seed + k, path);
        if (status == INFER_OK) status = infer_sample(model, seed + k, image, side * side);
        size_t top = (k / columns) * (side + gap), left = (k % columns) * (side + gap);
        for (size_t y = 0; status == INFER_OK && y < side; y++) {
            for (size_t x = 0; x < side; x++) {
                float v = image[y * side + x];
                grid[(top + y) * width + left + x] = v > 0 ? (v >= 1 ? 255 : (unsigned char)lrintf(v * 255)) : 0;
            }
        }
    }
    if (status == INFER_OK && grid != NULL) {
        snprintf(path, sizeof path, "%s/grid.pgm", argv[2]);
        FILE *out = fopen(path, "wb");
        int ok = out != NULL && fprintf(out, "P5\n%zu %zu\n255\n", width, height) > 0 && fwrite(grid, 1, width * height, out) == width * height;
        if (out != NULL && fclose(out) != 0) ok = 0;
        if (!ok) {
            fprintf(stderr, "sample: cannot write %s\n", path);
            status = INFER_E_IO;
        }
    }
    if (status != INFER_OK) {
        fprintf(stderr, "sample: %s: %s (%s)\n", argv[1], infer_status_string(status), infer_last_error());
    } else {
        printf("%zu samples (seeds %llu to %llu) in %s\n", count, seed, seed + count - 1, argv[2]);
        /* A flow also has an exact density: log p of the last sample (other models say INFER_E_SHAPE). */
        double log_density = 0;
        if (infer_log_density(model, image, side * side, &log_density) == INFER_OK) {
            printf("log p(last sample) = %.3f nats\n", log_density);
        }
    }
    free(grid);
    free(arena);
    free(model_bytes);
    return status == INFER_OK ? 0 : 1;
}
