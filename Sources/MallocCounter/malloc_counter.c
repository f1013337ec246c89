// Counting wrappers around glibc's allocator. glibc exports its implementation as __libc_*,
// which lets these definitions interpose on malloc without dlsym (dlsym itself allocates).
#include "malloc_counter.h"
#include <stddef.h>
#include <errno.h>
#include <stdatomic.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static _Thread_local int counting;
static _Thread_local uint64_t thread_count;
static _Atomic uint64_t process_count;

static inline void note(void) {
    atomic_fetch_add_explicit(&process_count, 1, memory_order_relaxed);
    if (counting) thread_count++;
}

void malloc_counter_start(void) { thread_count = 0; counting = 1; }
uint64_t malloc_counter_stop(void) { counting = 0; return thread_count; }
uint64_t malloc_counter_process_total(void) { return atomic_load(&process_count); }

void *malloc(size_t n) { note(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { note(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { note(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t align, size_t n) { note(); return __libc_memalign(align, n); }
void *aligned_alloc(size_t align, size_t n) { note(); return __libc_memalign(align, n); }
void *valloc(size_t n) { note(); return __libc_memalign(4096, n); }
void *pvalloc(size_t n) { note(); return __libc_memalign(4096, (n + 4095) & ~(size_t)4095); }
int posix_memalign(void **out, size_t align, size_t n) {
    note();
    if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(align, n);
    if (p == NULL && n != 0) return ENOMEM;
    *out = p;
    return 0;
}
