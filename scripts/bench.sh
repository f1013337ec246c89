#!/usr/bin/env bash
# Measures the issues' performance targets on this machine, each against a reference measured in
# the same run where one can be installed here:
#   1. training: the package-benchmark suite in Benchmarks/ (built for this CPU), against the same
#      MLP training loop written directly in NumPy (Benchmarks/reference/mlp_numpy.py). The issue's
#      PyTorch figure (about 91,000 samples/s) cannot be re-measured: PyTorch does not install here.
#   2. inference from C: Benchmarks/c/infer_bench.c (infer_run, infer_classify_png_memory,
#      infer_classify_png; medians; malloc calls per call), against onnxruntime's batch-1 run of the
#      same model (Benchmarks/reference/model_onnxruntime.py), and the C example's cold start.
#   3. LeNet-5: Benchmarks/lenet.sh (accuracy, training samples/s, infer_run against onnxruntime).
#   4. the character GPT: Benchmarks/gpt.sh (loss, training ms/iter, generation from C, against PyTorch).
#   5. the GAN: Benchmarks/gan.sh (training time, inception score and Fréchet distance against real digits).
#   6. the flow: Benchmarks/flow.sh (training time, test bits per dimension, sample scores).
# Usage: scripts/bench.sh [--skip-training]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export MNIST_DIR="${MNIST_DIR:-$(cd .. && pwd)/shared/data/mnist}"
export INFER_MARCH="${INFER_MARCH:-native}"
work=.build/bench
mkdir -p "$work"

if [ "${1:-}" != "--skip-training" ]; then
    out="$work/suite.md"
    reference() { OPENBLAS_NUM_THREADS=1 python3 Benchmarks/reference/mlp_numpy.py "$MNIST_DIR" | awk '{ print $3 }'; }
    before=$(reference)
    (cd Benchmarks && swift package --disable-sandbox benchmark --format markdown > "../$out")
    after=$(reference)
    grep -E "^###|Malloc|Time \(wall" "$out"
    awk -v before="$before" -v after="$after" '
        /^### MLP 784-128-10 epoch of [0-9]+ samples.*sgd/ { n = $6; found = 1 }
        found && /Time \(wall clock\) \(ms\)/ {
            split($0, c, "|"); rate = n / ((c[5] + 0) / 1000); ref = (before + after) / 2
            printf "\nSGD training, median epoch: %.0f samples/s\n", rate
            printf "NumPy reference, same run: %.0f and %.0f samples/s (mean %.0f)\n", before, after, ref
            printf "ratio: %.2fx the NumPy reference, %.2fx the issue'"'"'s PyTorch figure (91,000)\n\n", rate / ref, rate / 91000
            found = 0 }' "$out"
fi

# A model to run: two epochs of the default MLP, exported.
for product in train export-tool infer; do swift build -c release --product "$product"; done
[ -f "$work/mlp.bin" ] || {
    .build/release/train --epochs 2 --quiet --checkpoint "$work/mlp.ckpt"
    .build/release/export-tool convert "$work/mlp.ckpt" -o "$work/mlp.bin"
}
make -s -C examples/c CONFIG=release
cc -O2 -std=c11 -Wall -Wextra -Werror Benchmarks/c/infer_bench.c -o "$work/infer_bench" \
    $(PKG_CONFIG_PATH=examples/c/build/release pkg-config --cflags --libs infer) -lz
python3 Tests/Fixtures/pngtool.py digits "$work/digits" "$MNIST_DIR" 1
digit=$(ls "$work"/digits/*.png | head -1)
scripts/cpu.sh | tee "$work/cpu.txt"
"$work/infer_bench" "$work/mlp.bin" "$digit" 20000 "$MNIST_DIR/t10k-images-idx3-ubyte.gz" 3000 | tee "$work/c.txt"
python3 -c "import onnxruntime, onnx" 2>/dev/null || pip install -q onnxruntime onnx >/dev/null 2>&1 || true
if python3 -c "import onnxruntime, onnx" 2>/dev/null; then
    python3 Benchmarks/reference/model_onnxruntime.py "$work/mlp.bin" | tee "$work/ort.txt"
    awk '/^infer_run_mnist_digits/ { ours = $3 } /batch-1 run/ { ort = $6 }
         END { if (ours > 0 && ort > 0) printf "infer_run on 3,000 MNIST digits is %.1fx faster than onnxruntime batch-1 (same run)\n", ort / ours }' \
        "$work/c.txt" "$work/ort.txt"
else
    echo "onnxruntime not installable here: no same-run reference for infer_run"
fi
# Cold start: start the C example, load the model, classify one PNG, exit; median of 50 runs.
python3 - "$work/mlp.bin" "$digit" <<'PY'
import subprocess, sys, time
runs = []
for _ in range(50):
    start = time.perf_counter()
    subprocess.run(["examples/c/build/release/classify", sys.argv[1], sys.argv[2]], check=True, stdout=subprocess.DEVNULL)
    runs.append(time.perf_counter() - start)
runs.sort()
print(f"cold start (classify one PNG, process start to exit): median {runs[25] * 1e3:.2f} ms, best {runs[0] * 1e3:.2f} ms")
PY

# LeNet-5 (issue 4): accuracy, training throughput, infer_run against onnxruntime.
Benchmarks/lenet.sh

# Character GPT (issue 12): loss, training speed and generation from C against PyTorch.
Benchmarks/gpt.sh

# GAN (issue 13): training time and sample quality against real digits.
Benchmarks/gan.sh

# Flow (issue 13): training time, test bits per dimension, sample quality.
Benchmarks/flow.sh
