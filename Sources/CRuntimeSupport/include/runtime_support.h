#ifndef INFER_RUNTIME_SUPPORT_H
#define INFER_RUNTIME_SUPPORT_H
#include <stddef.h>

/* The calling thread's last-error message buffer (thread-local, RUNTIME_ERROR_CAPACITY bytes,
 * always NUL-terminated). Swift cannot declare thread-locals without allocating; C can. */
#define RUNTIME_ERROR_CAPACITY 512
char *runtime_error_buffer(void);
#endif
