#!/usr/bin/env bash
# Installs the tapegrad build in BUILD_DIR into a fresh prefix, builds the
# consumer project next to this script against that prefix only, and checks
# the quick start's output. Registered in ctest as `consumer_project`.
#
#   run.sh BUILD_DIR WORK_DIR [CMAKE [GENERATOR [CXX_COMPILER [CONFIG]]]]
set -euo pipefail

build_dir=$1
work_dir=$2
cmake=${3:-cmake}
generator=${4:-Unix Makefiles}
cxx=${5:-c++}
config=${6:-Release}
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

mkdir -p "$work_dir"
work_dir=$(cd "$work_dir" && pwd)
prefix=$work_dir/prefix
rm -rf "$prefix" "$work_dir/build"

"$cmake" --install "$build_dir" --prefix "$prefix" --config "$config" >"$work_dir/install.log"

# The package registry could hide a broken install: search the fresh prefix
# (dependencies such as xtensor and OpenBLAS come from the system paths), and
# check below that tapegrad itself was found there.
"$cmake" -S "$source_dir" -B "$work_dir/build" -G "$generator" \
  -DCMAKE_BUILD_TYPE="$config" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
"$cmake" --build "$work_dir/build" --config "$config"

found=$(sed -n 's/^tapegrad_DIR:PATH=//p' "$work_dir/build/CMakeCache.txt")
if [[ $found != "$prefix"/* ]]; then
  echo "consumer_project: tapegrad was found in '$found', not in the fresh install prefix $prefix" >&2
  exit 1
fi

program=$(find "$work_dir/build" -type f -name quickstart -perm -u+x | head -n 1)
output=$("$program")
echo "$output"
expected='dy/dx = tensor([5, 7, 9], shape=(3,), dtype=float32)'
if [[ $output != "$expected" ]]; then
  echo "consumer_project: expected '$expected'" >&2
  exit 1
fi
