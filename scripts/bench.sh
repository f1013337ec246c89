#!/usr/bin/env bash
# Runs the package-benchmark suite (Benchmarks/) built for this machine's vector units, with a
# same-run reference: the same MLP and SGD loop written directly in NumPy (Benchmarks/reference),
# measured before and after the suite. The issue's PyTorch figure (about 91,000 samples/s on a quiet
# machine) cannot be measured here: PyTorch is not installable on these machines.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export MNIST_DIR="${MNIST_DIR:-$(cd .. && pwd)/shared/data/mnist}"
out=$(mktemp)
reference() { OPENBLAS_NUM_THREADS=1 python3 Benchmarks/reference/mlp_numpy.py "$MNIST_DIR" | awk '{ print $3 }'; }
before=$(reference)
(cd Benchmarks && INFER_MARCH="${INFER_MARCH:-native}" swift package --disable-sandbox benchmark --format markdown "$@" > "$out")
after=$(reference)
grep -E "^###|Malloc|Time \(wall" "$out"
awk -v before="$before" -v after="$after" '
    /^### MLP 784-128-10 epoch of [0-9]+ samples.*sgd/ { n = $6; found = 1 }
    found && /Time \(wall clock\) \(ms\)/ {
        split($0, c, "|"); rate = n / ((c[5] + 0) / 1000); ref = (before + after) / 2
        printf "\nSGD training, median epoch: %.0f samples/s\n", rate
        printf "NumPy reference, same run: %.0f and %.0f samples/s (mean %.0f)\n", before, after, ref
        printf "ratio: %.2fx the NumPy reference, %.2fx the issue'"'"'s PyTorch figure (91,000)\n", rate / ref, rate / 91000
        found = 0 }' "$out"
rm -f "$out"
