#!/usr/bin/env bash
# The GAN's target (issue 13), built for this CPU: `train --model gan` with its defaults on full
# MNIST (training seconds), then 10,000 samples (seeds 1 to 10,000) judged by the project's LeNet
# (`sample --score`): the classifier inception score, the Fréchet distance of LeNet's penultimate
# features to the 10,000 test digits, how many samples LeNet reads as each digit, and the same
# figures for 10,000 real training digits (the reference, in the same run). The 64-sample grid
# goes to docs/gan-samples.png. LeNet is trained first (5 epochs, its defaults) unless LENET names
# a model file. Output: .build/bench/gan.md.
# Usage: Benchmarks/gan.sh [extra train flags]   (MNIST_DIR defaults to ../shared/data/mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/generative-setup.sh gan
.build/release/train --model gan "$@" --json --output "$work/gan.bin" > "$work/gan_train.json"
.build/release/sample --model "$work/gan.bin" --count 10000 --score "$lenet" --json > "$work/gan_score.json"
.build/release/sample --model "$work/gan.bin" --count 64 --grid docs/gan-samples.png > /dev/null

scripts/cpu.sh > "$work/gan-cpu.txt"
python3 - "$work/gan_train.json" "$work/gan_score.json" "$*" "$(cat "$work/gan-cpu.txt")" > "$work/gan.md" <<'PY'
import json, sys
train, score = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
counts = score["predicted_counts"]
print(f"GAN ({train['objective']}, {train['epochs']} epochs{', ' + sys.argv[3] if sys.argv[3] else ''}); {sys.argv[4]}\n")
print("| figure | GAN samples | real training digits (reference) | target |")
print("|---|---|---|---|")
print(f"| training time | {train['train_seconds']:.0f} s | | ≤ 900 s |")
print(f"| classifier inception score (10,000) | {score['inception_score']:.3f} | {score['real_inception_score']:.3f} | ≥ 8.5 |")
print(f"| Fréchet distance to the test digits | {score['frechet_distance']:.2f} | {score['real_frechet_distance']:.3f} | |")
print(f"| fewest samples read as one digit | {min(counts)} (digit {counts.index(min(counts))}) | | all ten digits |")
print("\nsamples read as each digit 0-9: " + ", ".join(str(c) for c in counts))
PY
cat "$work/gan.md"
