#!/usr/bin/env bash
# The C interface under the sanitizers:
#   AddressSanitizer (Swift and C code of libinfer.so) and UndefinedBehaviorSanitizer (its C code:
#   the libpng wrapper and helpers; Swift code traps on overflow and out-of-bounds access by itself)
#   running Tests/C/api_stress.c: every function with good and bad input, truncated and corrupted
#   model files, every PNG fixture whole and truncated;
#   ThreadSanitizer running Tests/C/threads.c: many threads, one model each from the same model
#   bytes, with per-thread infer_last_error checks.
# Usage: scripts/sanitize.sh MODEL.bin [MORE.bin...]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 MODEL.bin [MORE.bin...]" >&2; exit 2; }
scripts/setup.sh
clang=$(dirname "$(command -v swift)")/clang
swiftlib=$(dirname "$(command -v swift)")/../lib/swift/linux
# gold warns that it cannot export the sanitizer runtime's local assembly symbols: harmless.
quiet_link() { grep -v "Cannot export local symbol" || true; }

swift build -c release --sanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined \
    --scratch-path .build/asan --product infer
"$clang" -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -Iinclude Tests/C/api_stress.c \
    -o .build/asan/api_stress -L.build/asan/release -linfer -Wl,-rpath,"$PWD/.build/asan/release" -lm 2>&1 | quiet_link
for model in "$@"; do
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        .build/asan/api_stress "$model" Tests/Fixtures/png/*.png
done

swift build -c release --sanitize=thread --scratch-path .build/tsan --product infer
"$clang" -g -O1 -fsanitize=thread -pthread -Iinclude Tests/C/threads.c -o .build/tsan/threads \
    -L.build/tsan/release -linfer -L"$swiftlib" -ldispatch -lBlocksRuntime \
    -Wl,-rpath,"$PWD/.build/tsan/release" -Wl,-rpath,"$swiftlib" 2>&1 | quiet_link
TSAN_OPTIONS=halt_on_error=1 .build/tsan/threads "$1" Tests/Fixtures/png/gray8.png 8 200
echo "sanitizers: no errors"
