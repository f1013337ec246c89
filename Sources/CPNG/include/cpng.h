#ifndef INFER_CPNG_H
#define INFER_CPNG_H
/* libpng behind a small C wrapper: filled in by the PNG-input issue. */
#include <stddef.h>
const char *cpng_libpng_version(void);
#endif
