#include "cpng.h"
#include "cpng_heap.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *cpng_libpng_version(void) { return PNG_LIBPNG_VER_STRING; }

/* ---- memory: bump allocation inside the caller's heap ---- */

png_voidp cpng_heap_malloc(png_structp png, png_alloc_size_t size) {
    cpng_heap *heap = (cpng_heap *)png_get_mem_ptr(png);
    size_t start = (heap->used + 15) & ~(size_t)15;
    if (size > heap->capacity || start > heap->capacity - size) return NULL; /* libpng raises the error */
    heap->last_offset = start;
    heap->used = start + size;
    if (heap->used > heap->high_water) heap->high_water = heap->used;
    return heap->base + start;
}

void cpng_heap_free(png_structp png, png_voidp ptr) {
    cpng_heap *heap = (cpng_heap *)png_get_mem_ptr(png);
    /* Only the newest block can be given back; everything goes when the decode ends. */
    if (ptr != NULL && (unsigned char *)ptr == heap->base + heap->last_offset) heap->used = heap->last_offset;
}

/* ---- errors: longjmp back to the decode call with a message ---- */

typedef struct decode_context {
    jmp_buf jump;
    cpng_result *result;
    int status;
    /* input */
    const unsigned char *memory;
    size_t memory_length;
    size_t memory_offset;
    int fd;
    unsigned char *io_buffer;
    size_t io_capacity;
    size_t io_start;
    size_t io_end;
} decode_context;

static void on_error(png_structp png, png_const_charp message) {
    decode_context *context = (decode_context *)png_get_error_ptr(png);
    if (context->status == CPNG_OK) {
        context->status = CPNG_E_CORRUPT;
        snprintf(context->result->message, sizeof context->result->message, "corrupt PNG: %s", message);
    }
    longjmp(context->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message; /* warnings are not failures and are not printed */
}

static void fail(png_structp png, decode_context *context, int status, const char *message) {
    context->status = status;
    snprintf(context->result->message, sizeof context->result->message, "%s", message);
    png_error(png, message);
}

static void read_memory(png_structp png, png_bytep out, size_t length) {
    decode_context *context = (decode_context *)png_get_io_ptr(png);
    if (length > context->memory_length - context->memory_offset) {
        fail(png, context, CPNG_E_CORRUPT, "truncated PNG: the data ends early");
    }
    memcpy(out, context->memory + context->memory_offset, length);
    context->memory_offset += length;
}

static void read_file(png_structp png, png_bytep out, size_t length) {
    decode_context *context = (decode_context *)png_get_io_ptr(png);
    while (length > 0) {
        if (context->io_start == context->io_end) {
            ssize_t got;
            do { got = read(context->fd, context->io_buffer, context->io_capacity); } while (got < 0 && errno == EINTR);
            if (got < 0) fail(png, context, CPNG_E_IO, "read failed");
            if (got == 0) fail(png, context, CPNG_E_CORRUPT, "truncated PNG: the file ends early");
            context->io_start = 0;
            context->io_end = (size_t)got;
        }
        size_t n = context->io_end - context->io_start;
        if (n > length) n = length;
        memcpy(out, context->io_buffer + context->io_start, n);
        context->io_start += n;
        out += n;
        length -= n;
    }
}

/* Ancillary chunks that only add metadata, colour management or allocations: skipped unread.
 * tRNS is kept (palette and gray transparency). */
static const png_byte ignored_chunks[] = {
    'b', 'K', 'G', 'D', '\0', 'c', 'H', 'R', 'M', '\0', 'e', 'X', 'I', 'f', '\0', 'g', 'A', 'M', 'A', '\0',
    'h', 'I', 'S', 'T', '\0', 'i', 'C', 'C', 'P', '\0', 'i', 'T', 'X', 't', '\0', 'o', 'F', 'F', 's', '\0',
    'p', 'C', 'A', 'L', '\0', 'p', 'H', 'Y', 's', '\0', 's', 'B', 'I', 'T', '\0', 's', 'C', 'A', 'L', '\0',
    's', 'P', 'L', 'T', '\0', 's', 'R', 'G', 'B', '\0', 't', 'E', 'X', 't', '\0', 't', 'I', 'M', 'E', '\0',
    'z', 'T', 'X', 't', '\0',
};

/* Checks the signature and IHDR in the first bytes, before libpng is involved. */
static int check_header(const unsigned char *bytes, size_t available, const cpng_target *target, cpng_result *result) {
    if (available < 8 || png_sig_cmp(bytes, 0, 8) != 0) {
        snprintf(result->message, sizeof result->message, "not a PNG file (bad signature)");
        return CPNG_E_NOT_PNG;
    }
    if (available < 33 || memcmp(bytes + 12, "IHDR", 4) != 0) {
        snprintf(result->message, sizeof result->message, "corrupt PNG: no IHDR chunk after the signature");
        return CPNG_E_CORRUPT;
    }
    png_uint_32 width = png_get_uint_32(bytes + 16), height = png_get_uint_32(bytes + 20);
    if (width == 0 || height == 0) {
        snprintf(result->message, sizeof result->message, "corrupt PNG: image size %ux%u", (unsigned)width, (unsigned)height);
        return CPNG_E_CORRUPT;
    }
    if (width > target->max_width || height > target->max_height) {
        snprintf(result->message, sizeof result->message, "image %ux%u is larger than the supported %ux%u",
                 (unsigned)width, (unsigned)height, (unsigned)target->max_width, (unsigned)target->max_height);
        return CPNG_E_TOO_LARGE;
    }
    return CPNG_OK;
}

static int decode_all(decode_context *context, cpng_heap *heap, const cpng_target *target, png_rw_ptr reader) {
    cpng_result *result = context->result;
    heap->used = 0;
    heap->last_offset = 0;
    png_structp png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, context, on_error, on_warning,
                                               heap, cpng_heap_malloc, cpng_heap_free);
    if (png == NULL) {
        snprintf(result->message, sizeof result->message, "decoder memory budget too small");
        return CPNG_E_MEMORY;
    }
    if (setjmp(context->jump)) {
        /* Nothing to destroy: the heap is reset wholesale. */
        heap->used = 0;
        return context->status == CPNG_OK ? CPNG_E_CORRUPT : context->status;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) fail(png, context, CPNG_E_MEMORY, "decoder memory budget too small");
    png_set_read_fn(png, context, reader);
    png_set_user_limits(png, target->max_width, target->max_height);
    png_set_chunk_malloc_max(png, 64 * 1024);
    png_set_chunk_cache_max(png, 32);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, ignored_chunks, (int)(sizeof ignored_chunks / 5));
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int color_type = png_get_color_type(png, info), bit_depth = png_get_bit_depth(png, info);
    result->width = width;
    result->height = height;
    result->source_color_type = color_type;
    result->source_bit_depth = bit_depth;
    result->interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;

    /* To 8-bit gray, with alpha kept for compositing below. */
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (bit_depth == 16) png_set_scale_16(png);
    if (color_type == PNG_COLOR_TYPE_PALETTE || (color_type & PNG_COLOR_MASK_COLOR))
        png_set_rgb_to_gray_fixed(png, 1, 21260, 71520); /* BT.709: 0.2126 R + 0.7152 G + 0.0722 B */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || (channels != 1 && channels != 2) || rowbytes != (size_t)width * (size_t)channels)
        fail(png, context, CPNG_E_CORRUPT, "unsupported PNG layout after conversion");
    /* Rows are laid out with `channels` bytes a pixel; the pixel buffer holds 2 bytes a pixel at most. */
    for (png_uint_32 y = 0; y < height; y++) target->rows[y] = target->pixels + (size_t)y * rowbytes;
    png_read_image(png, target->rows);

    if (channels == 2) {
        /* Composite onto white and compact to one byte a pixel, in place (reads run ahead of writes). */
        size_t n = (size_t)width * height;
        for (size_t i = 0; i < n; i++) {
            unsigned gray = target->pixels[2 * i], alpha = target->pixels[2 * i + 1];
            target->pixels[i] = (unsigned char)((gray * alpha + 255u * (255u - alpha) + 127u) / 255u);
        }
    }
    heap->used = 0;
    return CPNG_OK;
}

int cpng_decode_memory(const void *png, size_t length, cpng_heap *heap, const cpng_target *target, cpng_result *result) {
    memset(result, 0, sizeof *result);
    if (png == NULL || heap == NULL || target == NULL) {
        snprintf(result->message, sizeof result->message, "NULL argument");
        return CPNG_E_IO;
    }
    decode_context context;
    memset(&context, 0, sizeof context);
    context.result = result;
    context.memory = (const unsigned char *)png;
    context.memory_length = length;
    context.fd = -1;
    int status = check_header(context.memory, length, target, result);
    if (status != CPNG_OK) return status;
    return decode_all(&context, heap, target, read_memory);
}

int cpng_decode_file(const char *path, cpng_heap *heap, const cpng_target *target, cpng_result *result) {
    memset(result, 0, sizeof *result);
    if (path == NULL || heap == NULL || target == NULL || target->io_buffer == NULL || target->io_capacity == 0) {
        snprintf(result->message, sizeof result->message, "NULL argument");
        return CPNG_E_IO;
    }
    decode_context context;
    memset(&context, 0, sizeof context);
    context.result = result;
    context.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (context.fd < 0) {
        snprintf(result->message, sizeof result->message, "cannot open %.150s: %s", path, strerror(errno));
        return CPNG_E_IO;
    }
    context.io_buffer = target->io_buffer;
    context.io_capacity = target->io_capacity;
    /* Fill the buffer far enough to check the header; libpng then reads from its start. */
    while (context.io_end < 33 && context.io_end < context.io_capacity) {
        ssize_t got = read(context.fd, context.io_buffer + context.io_end, context.io_capacity - context.io_end);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        context.io_end += (size_t)got;
    }
    int status = check_header(context.io_buffer, context.io_end, target, result);
    if (status == CPNG_OK) status = decode_all(&context, heap, target, read_file);
    close(context.fd);
    return status;
}
