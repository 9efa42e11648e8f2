#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) in
# build-fuzz/ and runs each for SECONDS (default 60) from its committed seed
# corpus in fuzz/corpus/TARGET/. New inputs go to build-fuzz/corpus/TARGET/
# (the committed corpus is only read); a crash is saved as
# build-fuzz/artifacts/TARGET-crash-... and fails the script.
#
#   scripts/fuzz.sh            # about a minute per target
#   scripts/fuzz.sh 10         # ten seconds each
#   scripts/fuzz.sh 60 fuzz_npz
#   FUZZ_SEED=1 scripts/fuzz.sh    # libFuzzer's random seed fixed: the same run every time
#
# .ci/run fixes the seed, so that a red CI is a finding anyone can replay, not
# the luck of one run; exploring with fresh seeds (the default) is for runs by
# hand, and what they find goes into fuzz/corpus/TARGET/ with its fix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then targets=(fuzz_npz fuzz_word2vec_format fuzz_gradcheck); fi

./scripts/setup.sh
# clang and its libFuzzer runtime (Debian 12: clang-14), as setup.sh installs the rest.
packages=(clang libclang-rt-14-dev)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} > 0)); then
  as_root=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
      echo "fuzz: missing Debian packages: ${missing[*]}; run as root or install sudo" >&2
      exit 1
    fi
    as_root=(sudo)
  fi
  echo "fuzz: installing ${missing[*]}"
  "${as_root[@]}" apt-get update
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CXX=clang++ cmake -S fuzz -B build-fuzz "${launcher[@]}" >/dev/null
cmake --build build-fuzz --parallel "${JOBS:-2}" --target "${targets[@]}"

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
declare -A max_len=([fuzz_npz]=8192 [fuzz_word2vec_format]=4096 [fuzz_gradcheck]=512)
mkdir -p build-fuzz/artifacts
summary=()
for target in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$target"
  log=build-fuzz/$target.log
  echo "fuzz: $target for ${seconds} s"
  if ! "build-fuzz/$target" "build-fuzz/corpus/$target" "fuzz/corpus/$target" \
      -max_total_time="$seconds" -max_len="${max_len[$target]:-4096}" -timeout=20 \
      -artifact_prefix="build-fuzz/artifacts/$target-" -print_final_stats=1 ${FUZZ_SEED:+-seed="$FUZZ_SEED"} >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz: $target FAILED; the input is in build-fuzz/artifacts/ (log: $log)" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  summary+=("$target: ${runs:-?} executions in ${seconds} s, no crash")
done
printf 'fuzz: %s\n' "${summary[@]}"
