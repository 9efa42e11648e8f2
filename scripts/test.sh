#!/usr/bin/env bash
# Installs missing Debian packages, builds tapegrad and its tests in build/
# (Release) and runs every test with ctest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel "${JOBS:-2}"
ctest --test-dir build --output-on-failure -j2
