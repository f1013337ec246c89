#!/usr/bin/env bash
# The diffusion model's targets (issue 13), built for this CPU: `train --model diffusion` with its
# defaults on full MNIST (training seconds), then 10,000 samples (seeds 1 to 10,000, the stored
# sampler: the probability-flow ODE at 100 steps) judged by the project's LeNet (`sample --score`)
# beside 10,000 real training digits, and the time infer_sample takes per digit from C
# (Benchmarks/c/sample_bench.c, heap allocations counted). The 64-sample grid goes to
# docs/diffusion-samples.png. LeNet is trained first (5 epochs) unless LENET names a model file;
# MODEL and TRAIN_JSON name a model already trained and its `train --json` output, to judge it
# without training again. Output: .build/bench/diffusion.md.
# Usage: Benchmarks/diffusion.sh [extra train flags]   (MNIST_DIR defaults to ../shared/data/mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/generative-setup.sh diffusion
make -s -C examples/c CONFIG=release
cc -O2 -std=c11 -Wall -Wextra -Werror Benchmarks/c/sample_bench.c -o "$work/sample_bench" \
    $(PKG_CONFIG_PATH=examples/c/build/release pkg-config --cflags --libs infer) -lz
model="${MODEL:-}"
if [ -z "$model" ]; then
    model="$work/diffusion.bin"
    .build/release/train --model diffusion "$@" --json --output "$model" > "$work/diffusion_train.json"
else
    cp "${TRAIN_JSON:?TRAIN_JSON names the train --json output of MODEL}" "$work/diffusion_train.json"
fi
.build/release/sample --model "$model" --count 10000 --score "$lenet" --json > "$work/diffusion_score.json"
.build/release/sample --model "$model" --count 64 --grid docs/diffusion-samples.png > /dev/null
"$work/sample_bench" "$model" 200 > "$work/diffusion_c.txt"

scripts/cpu.sh > "$work/diffusion-cpu.txt"
python3 - "$work/diffusion_train.json" "$work/diffusion_score.json" "$work/diffusion_c.txt" "$*" "$(cat "$work/diffusion-cpu.txt")" > "$work/diffusion.md" <<'PY'
import json, re, sys
train, score = (json.load(open(p)) for p in sys.argv[1:3])
c = open(sys.argv[3]).read()
median = float(re.search(r"median ([0-9.]+) us", c).group(1)) / 1000
mallocs = int(re.search(r"(\d+) heap allocations", c).group(1))
counts = score["predicted_counts"]
print(f"Diffusion (DDPM, {train['steps']} steps, {train['schedule']} schedule, U-Net of {train['channels']} channels, {train['epochs']} epochs"
      f"{', ' + sys.argv[4] if sys.argv[4] else ''}; sampler {train['sampler']}, {train['sample_steps']} steps); {sys.argv[5]}\n")
print("| figure | diffusion samples | real training digits (reference) | target |")
print("|---|---|---|---|")
print(f"| training time | {train['train_seconds']:.0f} s | | ≤ 3600 s |")
print(f"| classifier inception score (10,000 samples) | {score['inception_score']:.3f} | {score['real_inception_score']:.3f} | ≥ 9.0 |")
fd, real = score['frechet_distance'], score['real_frechet_distance']
print(f"| Fréchet distance to the test digits | {fd:.3f} ({fd / real:.2f}× the reference) | {real:.3f} | ≤ 3× the reference |")
print(f"| infer_sample from C, per digit (median of 200) | {median:.1f} ms, {mallocs} heap allocations | | ≤ 100 ms at 100 steps |")
print(f"| fewest samples read as one digit | {min(counts)} (digit {counts.index(min(counts))}) | | |")
print("\nsamples read as each digit 0-9: " + ", ".join(str(c) for c in counts))
PY
cat "$work/diffusion.md"
