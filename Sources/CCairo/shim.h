/* cairo, the 2-D graphics library the figures are drawn with (Debian's libcairo2-dev). */
#include <cairo.h>
