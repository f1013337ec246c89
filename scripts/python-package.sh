#!/usr/bin/env bash
# Builds libinfer (release) and installs the Python package `infer` with the library inside it.
# Arguments go to pip (for example --target DIR, or --user). Usage: scripts/python-package.sh [PIP ARGS]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product infer
cp .build/release/libinfer.so python/infer/libinfer.so
python3 -m pip install --quiet --no-deps --root-user-action=ignore "$@" ./python
