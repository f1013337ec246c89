#ifndef INFER_CPNG_H
#define INFER_CPNG_H
/* PNG decoding to 8-bit grayscale through libpng, in memory the caller provides.
 *
 * libpng reports errors by longjmp; Swift cannot call setjmp, so this small C layer owns it and turns
 * every libpng error into a status code and a message. libpng's own allocations go to a bump heap
 * inside the caller's buffer (png_create_read_struct_2 with custom memory functions): decoding makes
 * no malloc call. */
#include <stddef.h>
#include <stdint.h>

enum {
    CPNG_OK = 0,
    CPNG_E_NOT_PNG = 1,   /* missing PNG signature */
    CPNG_E_TOO_LARGE = 2, /* dimensions beyond the limits given */
    CPNG_E_CORRUPT = 3,   /* libpng reported an error: truncated, bad CRC, bad data... */
    CPNG_E_MEMORY = 4,    /* the heap budget ran out */
    CPNG_E_IO = 5         /* the file could not be opened or read */
};

/* A bump allocator for libpng. `used` returns to 0 after each decode; `high_water` keeps the peak. */
typedef struct cpng_heap {
    unsigned char *base;
    size_t capacity;
    size_t used;
    size_t high_water;
    size_t last_offset; /* start of the most recent block, so freeing it can roll back */
} cpng_heap;

/* Where the decoded image goes. `pixels` holds at least 2 * max_width * max_height bytes (gray and
 * alpha before compositing) and `rows`
 * max_height pointers; `io_buffer` (io_capacity bytes) is used when reading from a file. */
typedef struct cpng_target {
    unsigned char *pixels;
    unsigned char **rows;
    uint32_t max_width;
    uint32_t max_height;
    unsigned char *io_buffer;
    size_t io_capacity;
} cpng_target;

/* What was decoded. */
typedef struct cpng_result {
    uint32_t width;
    uint32_t height;
    int source_color_type;  /* PNG color type of the file: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA */
    int source_bit_depth;
    int interlaced;
    char message[200];      /* on failure, why */
} cpng_result;

/* Decodes a PNG held in memory into target->pixels as width*height gray bytes (row-major, no padding).
 * Any bit depth and colour type, interlaced or not. Colour becomes luminance (ITU-R BT.709 weights);
 * alpha is composited onto white; 16-bit samples are scaled to 8 bits. Images wider than
 * target->max_width or taller than target->max_height are refused after reading the header, before
 * any image data is decoded. */
int cpng_decode_memory(const void *png, size_t length, cpng_heap *heap, const cpng_target *target, cpng_result *result);

/* The same, reading the file at `path` with open/read through target->io_buffer. */
int cpng_decode_file(const char *path, cpng_heap *heap, const cpng_target *target, cpng_result *result);

/* Heap bytes cpng_encode_gray_file needs at most (zlib's deflate state with its small window, the
 * row buffer and libpng's structs, for rows up to 16384 pixels). */
enum { CPNG_WRITE_HEAP_BYTES = 96 * 1024 + 2 * 16384 };

/* Writes width*height gray bytes (row-major) as an 8-bit grayscale PNG at `path`, atomically (to
 * "<path>.tmp", synced, then renamed; on failure the temporary is removed and `path` untouched).
 * libpng's memory comes from `heap` (CPNG_WRITE_HEAP_BYTES), the file goes out through
 * `io_buffer` by write(2); `rows` holds `height` pointers of scratch. No malloc. */
int cpng_encode_gray_file(const char *path, const unsigned char *pixels, uint32_t width, uint32_t height, cpng_heap *heap,
                          unsigned char **rows, unsigned char *io_buffer, size_t io_capacity, cpng_result *result);

const char *cpng_libpng_version(void);
#endif
