#include "cpu_control.h"
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>

unsigned int cpu_flush_denormals(void) {
    unsigned int saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
    return saved;
}

void cpu_restore_float_mode(unsigned int saved) { _mm_setcsr(saved); }

int cpu_supports(const char *feature) {
    __builtin_cpu_init();
    if (strcmp(feature, "avx2") == 0) return __builtin_cpu_supports("avx2") != 0;
    if (strcmp(feature, "fma") == 0) return __builtin_cpu_supports("fma") != 0;
    if (strcmp(feature, "avx512f") == 0) return __builtin_cpu_supports("avx512f") != 0;
    if (strcmp(feature, "avx512dq") == 0) return __builtin_cpu_supports("avx512dq") != 0;
    if (strcmp(feature, "avx512bw") == 0) return __builtin_cpu_supports("avx512bw") != 0;
    if (strcmp(feature, "avx512vl") == 0) return __builtin_cpu_supports("avx512vl") != 0;
    return 0;
}
#else
unsigned int cpu_flush_denormals(void) { return 0; }
void cpu_restore_float_mode(unsigned int saved) { (void)saved; }
int cpu_supports(const char *feature) { (void)feature; return 0; }
#endif
