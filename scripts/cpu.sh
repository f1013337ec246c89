#!/usr/bin/env bash
# One line naming this CPU for benchmark figures (which are comparable only within one CPU kind):
# lscpu's model name, family and model, and the widest vector unit.
set -euo pipefail
name=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
family=$(lscpu | sed -n 's/^CPU family: *//p' | head -1)
model=$(lscpu | sed -n 's/^Model: *//p' | head -1)
if grep -q " avx512f" /proc/cpuinfo; then vector="AVX-512"; elif grep -q " avx2" /proc/cpuinfo; then vector="AVX2, no AVX-512"; else vector="no AVX2"; fi
echo "CPU: ${name:-unknown} (family ${family:-?}, model ${model:-?}; $vector; $(nproc) cores)"
