#!/usr/bin/env bash
# Sets up and runs the main job: trains the default MLP (784-128-10) on MNIST in release mode.
# Data: --data DIR, else $MNIST_DIR, else the small bundled sample. Extra arguments go to `train`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product train
exec .build/release/train "$@"
