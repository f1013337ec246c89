/* What the C benchmarks share: glibc's allocator wrapped so every heap allocation in the process
 * (libinfer's, libpng's, OpenBLAS's) is counted in `allocations`, a monotonic clock in
 * microseconds, and a comparison of doubles for qsort. Include it once, in the program's only
 * source file, after defining _GNU_SOURCE. */
#ifndef INFER_BENCH_SUPPORT_H
#define INFER_BENCH_SUPPORT_H
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static uint64_t allocations;
void *malloc(size_t n) { allocations++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { allocations++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { allocations++; return __libc_realloc(p, n); }
void *aligned_alloc(size_t a, size_t n) { allocations++; return __libc_memalign(a, n); }
void *memalign(size_t a, size_t n) { allocations++; return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    allocations++;
    *out = __libc_memalign(a, n);
    return *out == NULL && n != 0 ? 12 : 0;
}
void free(void *p) { __libc_free(p); }

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
#endif
