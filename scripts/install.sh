#!/usr/bin/env bash
# Installs the C library: PREFIX/include/infer.h, PREFIX/lib/libinfer.so, PREFIX/lib/libinfer.a
# with what a static link needs (PREFIX/lib/infer/: the Swift runtime's static archives and
# swiftrt.o), and PREFIX/lib/pkgconfig/infer.pc.  Usage: scripts/install.sh [PREFIX] (default /usr/local)
#   shared:  cc app.c $(pkg-config --cflags --libs infer)
#   static:  cc -static app.c $(pkg-config --static --cflags --libs infer)
#            one executable that needs no shared library at all, the Swift toolchain's included.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mkdir -p "${1:-/usr/local}" && cd "${1:-/usr/local}" && pwd)
swift build -c release --product infer
swift build -c release --product infer_static
# The Swift toolchain's static runtime: next to the shared one, in lib/swift_static/linux.
swift_lib=$(dirname "$(readlink -f "$(command -v swiftc)")")/../lib
static="$swift_lib/swift_static/linux"
[ -f "$static/libswiftCore.a" ] || { echo "install.sh: no static Swift runtime at $static" >&2; exit 1; }
runtime=(libswift_StringProcessing libswift_RegexParser libswift_Concurrency libswiftGlibc libswift_Builtin_float libswiftCore
         libdispatch libBlocksRuntime)
install -d "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/infer"
install -m 644 include/infer.h "$prefix/include/infer.h"
install -m 755 .build/release/libinfer.so "$prefix/lib/libinfer.so"
install -m 644 .build/release/libinfer_static.a "$prefix/lib/libinfer.a"
install -m 644 "$static/x86_64/swiftrt.o" "$prefix/lib/infer/swiftrt.o"
for lib in "${runtime[@]}"; do install -m 644 "$static/$lib.a" "$prefix/lib/infer/$lib.a"; done
private="\${libdir}/infer/swiftrt.o -L\${libdir}/infer"
for lib in "${runtime[@]}"; do private+=" -l${lib#lib}"; done
cat > "$prefix/lib/pkgconfig/infer.pc" <<PC
# libinfer: include/infer.h. Static links (pkg-config --static, with cc -static) take libinfer.a
# and the Swift runtime's archives in \${libdir}/infer.
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: infer
Description: Run trained models from C in caller-owned memory
Version: 0.1.0
Cflags: -I\${includedir}
Libs: -L\${libdir} -linfer -Wl,-rpath,\${libdir}
Libs.private: $private -lpng16 -lz -lopenblas -lstdc++ -lm -ldl -lpthread
PC
echo "installed libinfer in $prefix (include/infer.h, lib/libinfer.so, lib/libinfer.a, lib/infer/, lib/pkgconfig/infer.pc)"
