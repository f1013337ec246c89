#include "runtime_support.h"

static _Thread_local char error_buffer[RUNTIME_ERROR_CAPACITY];

char *runtime_error_buffer(void) { return error_buffer; }
