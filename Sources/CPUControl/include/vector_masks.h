#ifndef INFER_VECTOR_MASKS_H
#define INFER_VECTOR_MASKS_H
/* Comparison masks as integers, which Swift's SIMD types cannot produce cheaply: their lane-mask
   reductions compile to dozens of shuffles where x86 has one instruction (vmovmskps, or an AVX-512
   mask register). Static inline, so Swift callers inline them with the target's vector ISA. */
#include <stdint.h>
#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

/* Bit i is set when p[i] != 0 (NaN counts as non-zero, -0 as zero), for i < 16. p needs 16
   readable floats, any alignment. */
static inline uint32_t cpu_nonzero_mask16(const float *p) {
#if defined(__AVX512F__)
    return (uint32_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(p), _mm512_setzero_ps(), _CMP_NEQ_UQ);
#elif defined(__AVX__)
    __m256 zero = _mm256_setzero_ps();
    uint32_t low = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p), zero, _CMP_NEQ_UQ));
    uint32_t high = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p + 8), zero, _CMP_NEQ_UQ));
    return low | high << 8;
#else
    uint32_t bits = 0;
    for (int i = 0; i < 16; i++) bits |= (uint32_t)(p[i] != 0) << i;
    return bits;
#endif
}
#endif
