#!/usr/bin/env bash
# Installs the system libraries the package links (OpenBLAS, libpng, zlib, and cairo for the tools' figures) when they are missing.
set -euo pipefail
missing=()
pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev)
pkg-config --exists libpng 2>/dev/null || missing+=(libpng-dev)
pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
pkg-config --exists cairo 2>/dev/null || missing+=(libcairo2-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
