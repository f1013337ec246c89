#!/usr/bin/env bash
# Runs the whole test suite: builds every product (the command-line tests run the built `train`),
# then `swift test`. Set MNIST_DIR to include the full-MNIST accuracy test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build
swift test
