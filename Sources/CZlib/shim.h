#ifndef INFER_CZLIB_SHIM_H
#define INFER_CZLIB_SHIM_H
#include <zlib.h>
#endif
