#!/usr/bin/env bash
# Regenerates Sources/ONNX/onnx-subset.pb.swift from Sources/ONNX/onnx-subset.proto with protoc
# (Debian's protobuf-compiler) and swift-protobuf's plugin, built once at the version Package.swift
# names. The generated file is committed: building the plugin takes minutes, so CI never does.
# Usage: scripts/generate-onnx-messages.sh [PATH_TO_protoc-gen-swift]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "needs protoc: apt-get install protobuf-compiler" >&2; exit 1; }
plugin=${1:-}
if [ -z "$plugin" ]; then
    version=$(sed -n 's/.*swift-protobuf", exact: "\([0-9.]*\)".*/\1/p' Package.swift)
    work=.build/protoc-gen-swift-$version
    [ -d "$work" ] || git clone -q --branch "$version" https://github.com/apple/swift-protobuf "$work"
    (cd "$work" && swift build -c release --product protoc-gen-swift)
    plugin="$work/.build/release/protoc-gen-swift"
fi
protoc --plugin=protoc-gen-swift="$plugin" --swift_out=Sources/ONNX -I Sources/ONNX Sources/ONNX/onnx-subset.proto
echo "wrote Sources/ONNX/onnx-subset.pb.swift"
