#ifndef INFER_COPENBLAS_SHIM_H
#define INFER_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
