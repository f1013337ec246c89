#include "cpng.h"
#include "cpng_heap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- writing an 8-bit gray PNG through write(2), atomically ---- */

typedef struct encode_context {
    jmp_buf jump;
    cpng_result *result;
    int status;
    int fd;
    unsigned char *io_buffer;
    size_t io_capacity;
    size_t io_used;
} encode_context;

static void on_write_error(png_structp png, png_const_charp message) {
    encode_context *context = (encode_context *)png_get_error_ptr(png);
    if (context->status == CPNG_OK) {
        /* libpng's only run-time failure while writing is memory (the heap budget). */
        context->status = strstr(message, "memory") != NULL ? CPNG_E_MEMORY : CPNG_E_CORRUPT;
        snprintf(context->result->message, sizeof context->result->message, "PNG encoding failed: %s", message);
    }
    longjmp(context->jump, 1);
}

static void on_write_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static int flush_all(encode_context *context) {
    size_t done = 0;
    while (done < context->io_used) {
        ssize_t wrote = write(context->fd, context->io_buffer + done, context->io_used - done);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) return -1;
        done += (size_t)wrote;
    }
    context->io_used = 0;
    return 0;
}

static void write_bytes(png_structp png, png_bytep data, size_t length) {
    encode_context *context = (encode_context *)png_get_io_ptr(png);
    while (length > 0) {
        if (context->io_used == context->io_capacity && flush_all(context) != 0) {
            context->status = CPNG_E_IO;
            snprintf(context->result->message, sizeof context->result->message, "write failed: %s", strerror(errno));
            png_error(png, "write failed");
        }
        size_t n = context->io_capacity - context->io_used;
        if (n > length) n = length;
        memcpy(context->io_buffer + context->io_used, data, n);
        context->io_used += n;
        data += n;
        length -= n;
    }
}

static void flush_nothing(png_structp png) { (void)png; }

static int encode_all(encode_context *context, cpng_heap *heap, const unsigned char *pixels, unsigned char **rows,
                      uint32_t width, uint32_t height) {
    heap->used = 0;
    heap->last_offset = 0;
    png_structp png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, context, on_write_error, on_write_warning,
                                                heap, cpng_heap_malloc, cpng_heap_free);
    if (png == NULL) {
        snprintf(context->result->message, sizeof context->result->message, "libpng could not start (heap too small)");
        return CPNG_E_MEMORY;
    }
    png_infop info = NULL;
    if (setjmp(context->jump)) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        heap->used = 0;
        return context->status == CPNG_OK ? CPNG_E_CORRUPT : context->status;
    }
    info = png_create_info_struct(png);
    if (info == NULL) {
        context->status = CPNG_E_MEMORY;
        png_error(png, "out of memory for the info struct");
    }
    png_set_write_fn(png, context, write_bytes, flush_nothing);
    /* A small deflate window and memory level keep zlib's state near 40 KB (CPNG_WRITE_HEAP_BYTES). */
    png_set_compression_window_bits(png, 12);
    png_set_compression_mem_level(png, 6);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    for (uint32_t y = 0; y < height; y++) rows[y] = (unsigned char *)pixels + (size_t)y * width;
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    heap->used = 0;
    return CPNG_OK;
}

int cpng_encode_gray_file(const char *path, const unsigned char *pixels, uint32_t width, uint32_t height, cpng_heap *heap,
                          unsigned char **rows, unsigned char *io_buffer, size_t io_capacity, cpng_result *result) {
    memset(result, 0, sizeof *result);
    if (path == NULL || pixels == NULL || heap == NULL || rows == NULL || io_buffer == NULL || io_capacity == 0) {
        snprintf(result->message, sizeof result->message, "NULL argument");
        return CPNG_E_IO;
    }
    if (width == 0 || height == 0 || width > 16384 || height > 16384) {
        snprintf(result->message, sizeof result->message, "image size %ux%u", (unsigned)width, (unsigned)height);
        return CPNG_E_TOO_LARGE;
    }
    /* Atomic: write "<path>.tmp", sync, then rename over the path. */
    char temporary[PATH_MAX];
    int n = snprintf(temporary, sizeof temporary, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof temporary) {
        snprintf(result->message, sizeof result->message, "path too long");
        return CPNG_E_IO;
    }
    encode_context context;
    memset(&context, 0, sizeof context);
    context.result = result;
    context.io_buffer = io_buffer;
    context.io_capacity = io_capacity;
    context.fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (context.fd < 0) {
        snprintf(result->message, sizeof result->message, "cannot create %.150s: %s", temporary, strerror(errno));
        return CPNG_E_IO;
    }
    int status = encode_all(&context, heap, pixels, rows, width, height);
    if (status == CPNG_OK && (flush_all(&context) != 0 || fsync(context.fd) != 0)) {
        snprintf(result->message, sizeof result->message, "cannot write %.150s: %s", temporary, strerror(errno));
        status = CPNG_E_IO;
    }
    if (close(context.fd) != 0 && status == CPNG_OK) {
        snprintf(result->message, sizeof result->message, "cannot close %.150s: %s", temporary, strerror(errno));
        status = CPNG_E_IO;
    }
    if (status == CPNG_OK && rename(temporary, path) != 0) {
        snprintf(result->message, sizeof result->message, "cannot rename %.150s to %.150s: %s", temporary, path, strerror(errno));
        status = CPNG_E_IO;
    }
    if (status != CPNG_OK) unlink(temporary);
    return status;
}
