#!/usr/bin/env bash
# Builds examples/c against include/infer.h and libinfer.so with -Wall -Wextra -Werror, writes MNIST
# test digits out as PNG, classifies them with the example, and runs it under valgrind (no errors,
# no definite or indirect leaks).  Usage: scripts/c-example.sh MODEL.bin [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
model=$(realpath "$1")
count=${2:-200}
export MNIST_DIR="${MNIST_DIR:-$(cd .. && pwd)/shared/data/mnist}"
command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }

swift build -c release --product infer
make -C examples/c CONFIG=release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 Tests/Fixtures/pngtool.py digits "$work/digits" "$MNIST_DIR" "$count"

# Every digit classified; labels compared with the file names (INDEX-LABEL.png).
examples/c/build/release/classify "$model" "$work"/digits/*.png > "$work/out.txt"
awk '{ split($1, parts, "[-.]"); if (parts[length(parts) - 1] == $2) right++; n++ }
     END { printf "C example: %d of %d PNG digits right (%.1f%%)\n", right, n, 100 * right / n; if (n == 0 || right < 0.9 * n) exit 1 }' \
    FS='[: ]+' "$work/out.txt"

# A broken PNG is reported, not a crash: exit 1 with a message.
set +e
examples/c/build/release/classify "$model" Tests/Fixtures/png/bad-crc.png 2> "$work/err.txt"
status=$?
set -e
[ "$status" -eq 1 ] && grep -q "not a decodable PNG" "$work/err.txt" || { echo "broken PNG not reported"; exit 1; }

# valgrind cannot read the DWARF 5 that Swift emits, so it runs against a copy of the library
# without debug sections (the example's RUNPATH yields to LD_LIBRARY_PATH). Nor does it decode
# AVX-512: on CPUs that have it, that copy is a portable build (AVX2 and FMA) of the same sources.
mkdir -p "$work/lib"
library=.build/release/libinfer.so
# The runtime keeps to its own dependencies: the tools' cairo (figures) and Foundation stay out.
if ldd "$library" | grep -E "libcairo|libFoundation"; then echo "libinfer.so links a tools-only library (above)"; exit 1; fi
if nm "$library" | grep -qi "SwiftProtobuf\|cairo_"; then echo "libinfer.so holds protobuf or cairo code (the tools' ONNX and plots)"; exit 1; fi
if grep -qw avx512f /proc/cpuinfo; then
    echo "valgrind decodes no AVX-512: checking a portable (x86-64-v3) build of libinfer under it"
    INFER_MARCH=x86-64-v3 swift build -c release --product infer --scratch-path .build/portable > /dev/null
    library=.build/portable/release/libinfer.so
fi
cp "$library" "$work/lib/"
strip --strip-debug "$work/lib/libinfer.so"
LD_LIBRARY_PATH="$work/lib" valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=3 examples/c/build/release/classify "$model" "$work"/digits/0000*.png Tests/Fixtures/png/large-rgb8.png \
    Tests/Fixtures/png/max-rgba16-interlaced.png > /dev/null
set +e
LD_LIBRARY_PATH="$work/lib" valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=3 examples/c/build/release/classify "$model" Tests/Fixtures/png/bad-*.png > /dev/null 2>&1
status=$?
set -e
[ "$status" -eq 1 ] || { echo "valgrind on broken PNGs: exit $status (3 means memory errors or leaks)"; exit 1; }
echo "valgrind: no errors, no leaks"

# Text generation from C: a small character GPT trained for a few seconds, its file continued
# by examples/c/generate, the same text twice for one seed, and under valgrind.
text_dir="${TINYSHAKESPEARE_DIR:-$(cd .. && pwd)/shared/data/tinyshakespeare}"
if [ -f "$text_dir/input.txt" ]; then
    swift build -c release --product train > /dev/null
    .build/release/train --model gpt --data "$text_dir" --layers 1 --heads 2 --width 32 --context 32 --iters 60 \
        --eval-every 60 --eval-iters 2 --output "$work/gpt.bin" > /dev/null 2>&1
    examples/c/build/release/generate "$work/gpt.bin" "ROMEO:" 80 0.8 7 > "$work/gen1.txt"
    examples/c/build/release/generate "$work/gpt.bin" "ROMEO:" 80 0.8 7 > "$work/gen2.txt"
    grep -q "^ROMEO:" "$work/gen1.txt" && cmp -s "$work/gen1.txt" "$work/gen2.txt" || { echo "generate: no prompt or not deterministic"; exit 1; }
    LD_LIBRARY_PATH="$work/lib" valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=3 \
        examples/c/build/release/generate "$work/gpt.bin" "ROMEO:" 20 > /dev/null
    echo "C generation: $(head -c 60 "$work/gen1.txt" | tr '\n' ' ')... (deterministic; valgrind clean)"
else
    echo "no Tiny Shakespeare at $text_dir: C generation not checked"
fi

# Samples from C: small generative models, each trained for one epoch on 256 digits; the PNGs
# examples/c/sample writes for seeds 5 to 12 are byte for byte those `sample --each` writes, and
# the program runs clean under valgrind. compare_samples NAME MODEL VALGRIND_COUNT; the C
# program's output is left in $work/NAME-c.txt.
compare_samples() {
    local name=$1 model=$2
    mkdir -p "$work/c-$name" "$work/valgrind-$name"
    examples/c/build/release/sample "$model" "$work/c-$name" 8 5 > "$work/$name-c.txt"
    .build/release/sample --model "$model" --count 8 --seed 5 --each "$work/swift-$name" > /dev/null
    [ "$(ls "$work/swift-$name" | wc -l)" -eq 8 ] || { echo "sample --each wrote no 8 files for the $name"; exit 1; }
    for f in "$work/swift-$name"/*.png; do
        cmp -s "$f" "$work/c-$name/$(basename "$f")" || { echo "C $name sample $(basename "$f") differs from Swift's"; exit 1; }
    done
    LD_LIBRARY_PATH="$work/lib" valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=3 \
        examples/c/build/release/sample "$model" "$work/valgrind-$name" "$3" > /dev/null
}
swift build -c release --product train > /dev/null
swift build -c release --product sample > /dev/null
.build/release/train --model gan --data "$MNIST_DIR" --epochs 1 --train-limit 256 --hidden 32,64 \
    --discriminator-hidden 32 --output "$work/gan.bin" > /dev/null 2>&1
compare_samples gan "$work/gan.bin" 4
echo "C GAN samples: 8 PNGs byte for byte as sample --each writes them; valgrind clean"

# A flow (two couplings), whose file also has a density: the C program prints log p of its last sample.
.build/release/train --model flow --data "$MNIST_DIR" --epochs 1 --train-limit 256 --test-limit 64 --couplings 2 --filters 8 \
    --depth 1 --output "$work/flow.bin" > /dev/null 2>&1
compare_samples flow "$work/flow.bin" 2
grep -q "log p(last sample)" "$work/flow-c.txt" || { echo "the flow's file has no density from C"; exit 1; }
echo "C flow samples: 8 PNGs byte for byte as sample --each writes them, $(grep -o 'log p.*' "$work/flow-c.txt"); valgrind clean"

# A diffusion model (4 channels, 50 steps), sampled by its stored ODE sampler at 5 steps.
.build/release/train --model diffusion --data "$MNIST_DIR" --epochs 1 --train-limit 256 --filters 4 --diffusion-steps 50 \
    --sample-steps 5 --output "$work/diffusion.bin" > /dev/null 2>&1
compare_samples diffusion "$work/diffusion.bin" 2
echo "C diffusion samples: 8 PNGs byte for byte as sample --each writes them; valgrind clean"

# The installed library (scripts/install.sh), linked shared and fully static: the static program
# needs no shared library (ldd), so it runs with the toolchain out of reach, and says what the
# shared one says.
scripts/install.sh "$work/prefix" > /dev/null
rm -rf examples/c/build/installed
make -s -C examples/c installed PREFIX="$work/prefix"
{ ldd examples/c/build/installed/classify-static 2>&1 || true; } | grep -q "not a dynamic executable" \
    || { echo "the static example needs shared libraries:"; ldd examples/c/build/installed/classify-static; exit 1; }
examples/c/build/installed/classify-shared "$model" "$work"/digits/000*.png > "$work/shared.txt"
env -i examples/c/build/installed/classify-static "$model" "$work"/digits/000*.png > "$work/static.txt"
cmp -s "$work/shared.txt" "$work/static.txt" || { echo "static and shared builds disagree"; diff "$work/shared.txt" "$work/static.txt"; exit 1; }
echo "installed library: shared and static builds agree on $(wc -l < "$work/static.txt") digits; the static one needs no shared library"
