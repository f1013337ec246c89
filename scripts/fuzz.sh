#!/usr/bin/env bash
# Fuzzes the C interface with libFuzzer and AddressSanitizer, for a bounded time per target:
#   model: arbitrary bytes as a model file (infer_arena_size, infer_open, infer_run)
#   png:   arbitrary bytes as a PNG (infer_classify_png_memory)
# Seeds: freshly written model files (versions 1 and 2, networks, a residual graph, classic
# chains) and the PNG fixtures. Usage: scripts/fuzz.sh [SECONDS per target]
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
# Small valid model files of both versions as the model seeds (written by the fuzz binary itself).
FUZZ_WRITE_SEED="$work/model/seed" "$binary" -runs=0 >/dev/null 2>&1 || true
# Swift's own crash handler would take a trap's signal before libFuzzer, which then writes no
# crash file; with it off, libFuzzer reports the trap and keeps the input.
export SWIFT_BACKTRACE=enable=no
for target in model png; do
    echo "fuzzing $target for ${seconds}s"
    FUZZ_TARGET=$target "$binary" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work/$target" > "$work/log" 2>&1 || true
    grep -E "^(#[0-9]+ +DONE|Done|==[0-9]+== ?ERROR|INFO: seed corpus)" "$work/log" || true
    if grep -qE "^==[0-9]+== ?ERROR" "$work/log" || ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1; then
        grep -E "^ +#[0-9]+ .* in " "$work/log" | head -12 || true
        echo "fuzzing $target found a failure:"; ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null
        exit 1
    fi
done
echo "fuzzing: no crashes"
