#ifndef INFER_CPU_CONTROL_H
#define INFER_CPU_CONTROL_H
/* Per-thread floating-point control and CPU feature queries, which Swift cannot reach directly. */

/* Sets flush-to-zero and denormals-are-zero on the calling thread and returns the previous
   control word, for cpu_restore_float_mode. On CPUs without an MXCSR it does nothing and returns 0.
   Denormal floats (below 1.2e-38) take a microcode assist on x86, 50-100x slower per operation;
   optimizer state decaying towards zero produces them in bulk. */
unsigned int cpu_flush_denormals(void);
void cpu_restore_float_mode(unsigned int saved);

/* 1 when the CPU has the named feature ("avx2", "fma", "avx512f", "avx512bw", ...), else 0. */
int cpu_supports(const char *feature);
#endif
