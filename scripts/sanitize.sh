#!/usr/bin/env bash
# Builds the library and the tests with AddressSanitizer and
# UndefinedBehaviorSanitizer in build-asan/ (-O1 -g, no examples or benchmarks)
# and runs every ctest test; any report fails the run.
#
#   scripts/sanitize.sh            # JOBS=2 by default
#   JOBS=4 scripts/sanitize.sh -R word2vec   # extra arguments go to ctest
#
# The flags travel as CXXFLAGS/LDFLAGS (not only CMAKE_CXX_FLAGS) so that the
# consumer_project test, which configures a fresh project against the installed
# (instrumented) library, links the sanitizer runtimes too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/setup.sh

sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
export CXXFLAGS="-O1 -g $sanitize"
export LDFLAGS="$sanitize"
# halt_on_error: the first report ends the test with a failure.
# detect_leaks: LeakSanitizer runs at exit of every test process.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

start=$SECONDS
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Sanitize "${launcher[@]}" \
  -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan --parallel "${JOBS:-2}"
built=$SECONDS
ctest --test-dir build-asan --output-on-failure -j2 "$@"
echo "sanitize: ASan+UBSan build $((built - start)) s, tests $((SECONDS - built)) s: all clean"
