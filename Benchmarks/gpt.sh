#!/usr/bin/env bash
# The character GPT's targets (issue 12), built for this CPU, each next to PyTorch in the same run
# (Benchmarks/reference/gpt_pytorch.py: nanoGPT's model and training conventions; PyTorch installs
# from /opt/wheels when it is missing, and without it the PyTorch columns say so):
#   1. validation loss after nanoGPT's CPU configuration (the `train --model gpt` defaults: 2,000
#      iterations), ours and PyTorch's, both estimated on 200 batches; our run writes the model file
#      the last step uses.
#   2. training speed at that configuration on 1 and 2 threads: ms per iteration over ITERS
#      iterations, ours and PyTorch's alternating, best and median of the rounds.
#   3. generation from C: Benchmarks/c/gpt_bench.c times infer_next while the sequence fits in the
#      context (key/value cache) and past it (window recomputed), with its malloc calls counted,
#      alternating with PyTorch eager generating greedily without a cache, cropping to the context.
# Usage: Benchmarks/gpt.sh [rounds] [iters]   (TEXT defaults to ../shared/data/tinyshakespeare/input.txt;
#        rounds: 3; iters per speed sample: 200; QUICK=1 skips step 1 and times an untrained model)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export INFER_MARCH="${INFER_MARCH:-native}"
text="${TEXT:-$(cd .. && pwd)/shared/data/tinyshakespeare/input.txt}"
rounds="${1:-3}"
iters="${2:-200}"
work=.build/bench
mkdir -p "$work"
[ -f "$text" ] || { echo "gpt.sh: no text at $text (set TEXT)" >&2; exit 1; }
for product in train infer; do swift build -c release --product "$product"; done
python3 -c "import torch" 2>/dev/null || { wheel=$(ls /opt/wheels/torch-*.whl 2>/dev/null | head -1 || true)
    [ -n "$wheel" ] && pip install -q --root-user-action=ignore "$wheel" >/dev/null 2>&1 || true; }
torch_json() { python3 Benchmarks/reference/gpt_pytorch.py "$@" 2>/dev/null | tail -1 || echo '{"error": "PyTorch failed"}'; }
ours_json() { .build/release/train --model gpt --text "$text" --json --quiet "$@" | tail -1; }

# 1. Validation loss with the defaults (2,000 iterations), and the model file step 3 uses.
if [ "${QUICK:-0}" = 1 ]; then
    ours_json --iters 1 --eval-iters 1 --output "$work/gpt.bin" > /dev/null
    echo '{"skipped": true}' > "$work/gpt_loss_ours.json"; echo '{"skipped": true}' > "$work/gpt_loss_torch.json"
else
    ours_json --eval-iters 200 --eval-every 2000 --output "$work/gpt.bin" > "$work/gpt_loss_ours.json"
    torch_json train "$text" --iters 2000 --eval --eval-iters 200 > "$work/gpt_loss_torch.json"
fi

# 2. Training speed, 1 and 2 threads, alternating.
: > "$work/gpt_training.txt"
for _ in $(seq "$rounds"); do
    for threads in 1 2; do
        echo "ours $threads $(ours_json --iters "$iters" --eval-every "$iters" --eval-iters 1 --threads "$threads")" >> "$work/gpt_training.txt"
        echo "torch $threads $(torch_json train "$text" --iters "$iters" --threads "$threads")" >> "$work/gpt_training.txt"
    done
done

# 3. Generation from C against PyTorch eager, alternating.
make -s -C examples/c CONFIG=release
cc -O2 -std=c11 -Wall -Wextra -Werror Benchmarks/c/gpt_bench.c -o "$work/gpt_bench" \
    $(PKG_CONFIG_PATH=examples/c/build/release pkg-config --cflags --libs infer)
: > "$work/gpt_generation.txt"
for _ in $(seq "$rounds"); do
    echo "ours $("$work/gpt_bench" "$work/gpt.bin" 300 5 | tail -1)" >> "$work/gpt_generation.txt"
    echo "torch $(torch_json generate "$text" --tokens 300)" >> "$work/gpt_generation.txt"
done

scripts/cpu.sh | tee "$work/gpt-cpu.txt"
python3 - "$work" <<'PY' | tee "$work/gpt.md"
import json, statistics, sys
work = sys.argv[1]
def load(path):
    try: return json.load(open(path))
    except Exception: return {}
ours_loss, torch_loss = load(f"{work}/gpt_loss_ours.json"), load(f"{work}/gpt_loss_torch.json")
speed = {}
for line in open(f"{work}/gpt_training.txt"):
    who, threads, text = line.split(" ", 2)
    value = json.loads(text).get("ms_per_iter")
    if value is not None: speed.setdefault((who, int(threads)), []).append(value)
generation = {}
for line in open(f"{work}/gpt_generation.txt"):
    who, text = line.split(" ", 1)
    for key, value in json.loads(text).items():
        if isinstance(value, (int, float)): generation.setdefault((who, key), []).append(value)
def cell(values, digits=1):
    return f"{min(values):,.{digits}f} / {statistics.median(values):,.{digits}f}" if values else "n/a"
print("| character GPT (nanoGPT's CPU configuration) | ours | PyTorch eager, same run | ratio (median) | target |")
print("| --- | --- | --- | --- | --- |")
if "val_loss" in ours_loss:
    t = f"{torch_loss['val_loss']:.4f}" if "val_loss" in torch_loss else torch_loss.get("error", "n/a")
    print(f"| validation loss after {ours_loss['iters']} iterations (200 batches; train loss) | {ours_loss['val_loss']:.4f} ({ours_loss['train_loss']:.4f}) "
          f"| {t}{' (%.4f)' % torch_loss['train_loss'] if 'train_loss' in torch_loss else ''} | | ≤ 1.88 |")
for threads in (1, 2):
    o, t = speed.get(("ours", threads), []), speed.get(("torch", threads), [])
    ratio = f"{statistics.median(t) / statistics.median(o):.2f}×" if o and t else ""
    print(f"| training, {threads} thread{'s' if threads > 1 else ''}: ms/iter (best / median of {len(o)}) | {cell(o)} | {cell(t)} | {ratio} "
          f"| {'≥ 1.3×' if threads == 1 else 'report'} |")
for key, label, target in (("us_per_token_within_context", "within the context (ours: key/value cache)", "≤ 150 µs"),
                           ("us_per_token_past_context", "past the context (window recomputed)", "≥ 2×")):
    o, t = generation.get(("ours", key), []), generation.get(("torch", key), [])
    ratio = f"{statistics.median(t) / statistics.median(o):.1f}×" if o and t else ""
    print(f"| generation, µs per token {label} (best / median of {len(o)}) | {cell(o)} | {cell(t)} | {ratio} | {target} |")
mallocs = sorted(set(generation.get(("ours", "mallocs_per_call"), [])))
print(f"| malloc calls per infer_next | {', '.join(f'{m:g}' for m in mallocs)} | | | 0 |")
PY
