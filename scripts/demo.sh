#!/usr/bin/env bash
# Installs missing Debian packages, builds tapegrad in build/ (Release) and runs
# the demo: a tape recording a small computation, its gradients, gradcheck.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build --target tape_demo --parallel "${JOBS:-2}"

cd build/examples
./tape_demo
echo "(the DOT file is build/examples/tape_demo.dot)"
