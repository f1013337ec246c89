/* The bump allocator libpng's readers and writers share (internal to CPNG). */
#ifndef INFER_CPNG_HEAP_H
#define INFER_CPNG_HEAP_H
#include <png.h>

/* libpng's malloc hook over the cpng_heap in png_get_mem_ptr: 16-byte aligned blocks, NULL when
 * the budget runs out (libpng then raises its out-of-memory error). */
png_voidp cpng_heap_malloc(png_structp png, png_alloc_size_t size);
/* Gives back the newest block only; the rest goes when the call ends and `used` is reset. */
void cpng_heap_free(png_structp png, png_voidp ptr);
#endif
