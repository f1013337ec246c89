#!/usr/bin/env bash
# The Python package (python/, `import infer`): builds libinfer, installs the package with the
# library inside it (pip install into a scratch folder), and runs its pytest tests against the C
# example's output for the same PNG digits.  Usage: scripts/python-test.sh MODEL.bin [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
model=$(realpath "$1")
count=${2:-50}
export MNIST_DIR="${MNIST_DIR:-$(cd .. && pwd)/shared/data/mnist}"
swift build -c release --product infer
make -s -C examples/c CONFIG=release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/python-package.sh --target "$work/site" > /dev/null
python3 Tests/Fixtures/pngtool.py digits "$work/digits" "$MNIST_DIR" "$count"
examples/c/build/release/classify "$model" "$work"/digits/*.png > "$work/c.txt"
# A small character GPT and the C example's continuation, when Tiny Shakespeare is here.
text_dir="${TINYSHAKESPEARE_DIR:-$(cd .. && pwd)/shared/data/tinyshakespeare}"
gpt="" gpt_out=""
if [ -f "$text_dir/input.txt" ]; then
    swift build -c release --product train > /dev/null
    .build/release/train --model gpt --data "$text_dir" --layers 1 --heads 2 --width 32 --context 32 --iters 30 \
        --eval-every 30 --eval-iters 1 --output "$work/gpt.bin" > /dev/null 2>&1
    examples/c/build/release/generate "$work/gpt.bin" "ROMEO:" 80 0.8 7 > "$work/gpt.txt"
    gpt="$work/gpt.bin" gpt_out="$work/gpt.txt"
fi
# A small GAN's generator (on the bundled sample unless MNIST_DIR has the full set), for sampling.
swift build -c release --product train > /dev/null
.build/release/train --model gan --epochs 1 --train-limit 256 --hidden 32 --discriminator-hidden 32 --latent 8 \
    --quiet --output "$work/gan.bin" > /dev/null
# From the scratch folder, so `import infer` is the installed copy, not python/infer.
(cd "$work" && INFER_TEST_MODEL="$model" INFER_TEST_DIGITS="$work/digits" INFER_TEST_C_OUTPUT="$work/c.txt" \
    INFER_TEST_GPT="$gpt" INFER_TEST_GPT_C_OUTPUT="$gpt_out" INFER_TEST_GAN="$work/gan.bin" \
    PYTHONPATH="$work/site" python3 -m pytest -q -p no:cacheprovider "$OLDPWD/python/tests")
