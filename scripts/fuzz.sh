#!/usr/bin/env bash
# Fuzzes the C interface with libFuzzer and AddressSanitizer, for a bounded time per target:
#   model: arbitrary bytes as a model file (infer_arena_size, infer_open, infer_run)
#   png:   arbitrary bytes as a PNG (infer_classify_png_memory)
# Seeds: a freshly written model file and the PNG fixtures. Usage: scripts/fuzz.sh [SECONDS per target]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/setup.sh
(cd Fuzz && swift build --sanitize fuzzer --sanitize address --product fuzz)
binary=Fuzz/.build/debug/fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/model" "$work/png"
cp Tests/Fixtures/png/*.png "$work/png/"
rm -f "$work/png/max-rgba16-interlaced.png" # too slow a seed to mutate
# A small valid model file as the model seed (written by the fuzz binary itself).
FUZZ_WRITE_SEED="$work/model/seed.bin" "$binary" -runs=0 >/dev/null 2>&1 || true
for target in model png; do
    echo "fuzzing $target for ${seconds}s"
    FUZZ_TARGET=$target "$binary" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work/$target" 2>&1 | grep -E "^(#[0-9]+ +DONE|Done|==[0-9]+==ERROR|INFO: seed corpus)" || true
    if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1; then
        echo "fuzzing $target found a failure:"; ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null
        exit 1
    fi
done
echo "fuzzing: no crashes"
