#!/usr/bin/env bash
# The flow's target (issue 13), built for this CPU: `train --model flow` with its defaults on full
# MNIST (training seconds, the test set's bits per dimension, each digit dequantised once with
# fixed noise), the exported file's bits per dimension on the first 1,000 test digits through
# infer_log_density (the same figure from C), then 10,000 samples (seeds 1 to 10,000) judged by
# the project's LeNet (`sample --score`) beside 10,000 real training digits. The 64-sample grid
# goes to docs/flow-samples.png. LeNet is trained first (5 epochs) unless LENET names a model file.
# Output: .build/bench/flow.md.
# Usage: Benchmarks/flow.sh [extra train flags]   (MNIST_DIR defaults to ../shared/data/mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/generative-setup.sh flow
.build/release/train --model flow "$@" --json --output "$work/flow.bin" > "$work/flow_train.json"
.build/release/sample --model "$work/flow.bin" --density 1000 --json > "$work/flow_density.json"
.build/release/sample --model "$work/flow.bin" --count 10000 --score "$lenet" --json > "$work/flow_score.json"
.build/release/sample --model "$work/flow.bin" --count 64 --grid docs/flow-samples.png > /dev/null

scripts/cpu.sh > "$work/flow-cpu.txt"
python3 - "$work/flow_train.json" "$work/flow_density.json" "$work/flow_score.json" "$*" "$(cat "$work/flow-cpu.txt")" > "$work/flow.md" <<'PY'
import json, sys
train, density, score = (json.load(open(p)) for p in sys.argv[1:4])
counts = score["predicted_counts"]
print(f"Flow (RealNVP, {train['couplings']} couplings of {train['depth']}×{train['filters']} filters, {train['epochs']} epochs"
      f"{', ' + sys.argv[4] if sys.argv[4] else ''}); {sys.argv[5]}\n")
print("| figure | flow | reference | target |")
print("|---|---|---|---|")
print(f"| training time | {train['train_seconds']:.0f} s | | ≤ 1800 s |")
print(f"| test bits per dimension (10,000 digits, `train`) | {train['test_bits_per_dim']:.4f} | | ≤ 1.5 |")
print(f"| the same through infer_log_density (first {density['count']} test digits) | {density['bits_per_dim']:.4f} | | |")
print(f"| classifier inception score (10,000 samples) | {score['inception_score']:.3f} | {score['real_inception_score']:.3f} (real digits) | |")
print(f"| Fréchet distance to the test digits | {score['frechet_distance']:.2f} | {score['real_frechet_distance']:.3f} (real digits) | |")
print("\nsamples read as each digit 0-9: " + ", ".join(str(c) for c in counts))
PY
cat "$work/flow.md"
