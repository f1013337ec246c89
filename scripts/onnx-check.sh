#!/usr/bin/env bash
# ONNX out and back in, against onnxruntime: exports model files (the one given, a LeNet-5 trained
# briefly, and a small character GPT when Tiny Shakespeare is here), checks onnxruntime's outputs
# on them equal the runtime's (Tests/Fixtures/onnx/check_export.py, through the Python package),
# and imports each export again.  Usage: scripts/onnx-check.sh MODEL.bin
set -euo pipefail
cd "$(dirname "$0")/.."
model=$(realpath "$1")
python3 -c "import onnxruntime, onnx" 2>/dev/null || pip install -q onnxruntime onnx 2>&1 | grep -v "WARNING: Running pip" || true
python3 -c "import onnxruntime, onnx" || { echo "onnx-check: onnxruntime and onnx are needed (pip install onnxruntime onnx)"; exit 1; }
swift build -c release --product export-tool > /dev/null
swift build -c release --product train > /dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/python-package.sh --target "$work/site" > /dev/null
models=("$model")
.build/release/train --model lenet --epochs 1 --train-limit 2000 --quiet --output "$work/lenet.bin"
models+=("$work/lenet.bin")
text_dir="${TINYSHAKESPEARE_DIR:-$(cd .. && pwd)/shared/data/tinyshakespeare}"
if [ -f "$text_dir/input.txt" ]; then
    .build/release/train --model gpt --data "$text_dir" --layers 1 --heads 2 --width 32 --context 32 --iters 300 \
        --eval-every 300 --eval-iters 1 --quiet --output "$work/gpt.bin"
    models+=("$work/gpt.bin")
fi
for m in "${models[@]}"; do
    onnx="$work/$(basename "$m" .bin).onnx"
    .build/release/export-tool export "$m" -o "$onnx"
    PYTHONPATH="$work/site" python3 Tests/Fixtures/onnx/check_export.py "$m" "$onnx"
done
# The fixtures' ONNX files (onnx.helper's) and the runtime's own exports import again.
for f in Tests/Fixtures/onnx/*.onnx "$work"/*.onnx; do
    vocab=()
    case "$f" in *gpt.onnx) vocab=(--vocab-from "$text_dir/input.txt") ;; esac
    .build/release/export-tool convert "$f" "${vocab[@]}" -o "$work/reimported.bin" > /dev/null
done
echo "onnx-check: exports match onnxruntime; fixtures and exports import"
