#!/usr/bin/env bash
# The classic models' MNIST targets (issue 5), each timed in the same run as its scikit-learn
# reference where one is named: fit and predict seconds (all 10,000 test digits) and test accuracy.
#   softmax regression, linear SVM (primal): 60k digits
#   perceptron with its defaults (averaged, loss-stall stop), and plain  vs scikit-learn Perceptron()
#   RBF SVM by SMO on the first 10k digits, C = 1 and C = 10  vs scikit-learn SVC(rbf, C=1, gamma="scale")
#   k-NN, k = 3, L2, 60k digits                    vs scikit-learn KNeighborsClassifier(3, brute)
# Threads: 2 (OpenBLAS, and the classic models' own worker threads).
# Usage: Benchmarks/classic.sh   (MNIST_DIR defaults to ../shared/data/mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export MNIST_DIR="${MNIST_DIR:-$(cd .. && pwd)/shared/data/mnist}"
export INFER_MARCH="${INFER_MARCH:-native}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
work=.build/bench
mkdir -p "$work"
swift build -c release --product train
python3 -c "import sklearn" 2>/dev/null || pip install -q scikit-learn >/dev/null 2>&1 || true
results="$work/classic.jsonl"
: > "$results"
ours() { # name, then train flags
    local name=$1; shift
    echo "ours: $name" >&2
    .build/release/train --threads 2 --json --quiet "$@" | python3 -c "import json,sys; r=json.load(sys.stdin); r['name']='$name'; print(json.dumps(r))" >> "$results"
}
reference() {
    echo "scikit-learn: $1" >&2
    if python3 -c "import sklearn" 2>/dev/null; then
        python3 Benchmarks/reference/classic_sklearn_mnist.py "$MNIST_DIR" --only "$1" | grep -v '"environment"' >> "$results"
    else
        echo "scikit-learn not installable here: no same-run reference for $1" >&2
    fi
}
ours softmax --model softmax
ours "linear SVM (ova)" --model svm
reference perceptron
ours "perceptron, defaults" --model perceptron
ours "perceptron, last weights" --model perceptron --no-average
reference perceptron
reference svm
ours "RBF SVM, SMO, 10k" --model kernel-svm --kernel rbf --train-limit 10000
# scikit-learn's default C = 1 gives 95.9% here (both implementations); C = 10 passes 96%.
ours "RBF SVM, SMO, 10k, C=10" --model kernel-svm --kernel rbf --train-limit 10000 --C 10
reference knn
ours "k-NN k=3 L2" --model knn --k 3
scripts/cpu.sh | tee "$work/classic-cpu.txt"
python3 - "$results" <<'PY' | tee "$work/classic.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
refs = {}
for r in rows:
    if "name" not in r:
        refs.setdefault(r["model"], []).append(r)  # a reference run twice (before and after ours) is averaged
print("| model | train digits | fit s | predict s (10k) | test accuracy | same-run scikit-learn |")
print("| --- | --- | --- | --- | --- | --- |")
pairs = {"perceptron, defaults": "perceptron_default_60k", "perceptron, last weights": "perceptron_default_60k",
         "RBF SVM, SMO, 10k": "svc_rbf_10k", "RBF SVM, SMO, 10k, C=10": "svc_rbf_10k", "k-NN k=3 L2": "knn3_brute_60k"}
for r in rows:
    if "name" not in r:
        continue
    runs = refs.get(pairs.get(r["name"], ""), [])
    note = ""
    if runs:
        fit = sum(o["fit_seconds"] for o in runs) / len(runs)
        predict = sum(o["predict_seconds"] for o in runs) / len(runs)
        accuracy = sum(o["accuracy"] for o in runs) / len(runs)
        note = "fit %s s, predict %.2f s, accuracy %.2f%%" % (" / ".join("%.2f" % o["fit_seconds"] for o in runs), predict, 100 * accuracy)
        if r["name"].startswith("RBF") or r["name"].startswith("perceptron"):
            note += "; fit ratio %.2fx" % (fit / r["fit_seconds"])
        else:
            note += "; predict ratio %.2fx" % (predict / r["predict_seconds"])
    print("| %s | %d | %.2f | %.2f | %.2f%% | %s |" % (r["name"], r["train_samples"], r["fit_seconds"], r["predict_seconds"],
                                                    100 * r["test_accuracy"], note))
PY
