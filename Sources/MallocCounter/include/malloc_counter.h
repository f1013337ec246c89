#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H
#include <stdint.h>

/// Test support. Linking this target into a program replaces malloc, calloc, realloc, memalign,
/// posix_memalign, aligned_alloc and valloc with wrappers that forward to glibc and count calls
/// made on the calling thread while counting is on. Counters are thread-local, so tests running in
/// parallel on other threads do not disturb a measurement.

/// Starts counting on this thread from zero.
void malloc_counter_start(void);
/// Stops counting on this thread and returns the number of allocation calls since the start.
uint64_t malloc_counter_stop(void);
/// Allocation calls made by the whole process since it started (all threads, counting on or off).
uint64_t malloc_counter_process_total(void);

#endif
