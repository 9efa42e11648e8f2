#!/usr/bin/env bash
# The portable build and other CPUs' BLAS kernels, so that a test never
# depends on how one machine rounds (issue 14):
# 1. the library and tests built with -DTAPEGRAD_NATIVE=OFF (no -march=native:
#    the AVX2 and AVX-512 code paths compiled out, their fallbacks tested) in
#    build-portable/, every unit test run;
# 2. the unit tests of that build run again with OpenBLAS forced onto its
#    Haswell (AVX2) kernels, which every x86-64 machine CI may get can run, and
#    onto its SkylakeX (AVX-512) kernels where the CPU has AVX-512F.
#
#   scripts/portable.sh           # JOBS=2 by default
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/setup.sh

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

start=$SECONDS
cmake -S . -B build-portable -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_NATIVE=OFF "${launcher[@]}" \
  -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_BUILD_BENCH=OFF >/dev/null
cmake --build build-portable --parallel "${JOBS:-2}"
built=$SECONDS
ctest --test-dir build-portable --output-on-failure -j2

cores=()
grep -qw avx2 /proc/cpuinfo && cores+=(Haswell)
grep -qw avx512f /proc/cpuinfo && cores+=(SkylakeX)
for core in "${cores[@]}"; do
  echo "portable: unit tests with OPENBLAS_CORETYPE=$core"
  OPENBLAS_CORETYPE=$core ./build-portable/tests/tapegrad_tests --no-intro=true --minimal=true
done
echo "portable: build $((built - start)) s, tests $((SECONDS - built)) s (OpenBLAS kernels: default ${cores[*]}): all passed"
