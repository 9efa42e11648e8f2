#!/usr/bin/env bash
# Builds the benchmarks and their peers, runs them side by side and prints a
# table of medians and ratios (tapegrad time / peer time: below 1 is faster).
#
#   bench/run_bench.sh                 # every workload, 1 thread
#   THREADS="1 2" bench/run_bench.sh   # at 1 and at 2 threads
#   WORKLOADS="tape_overhead" REPS=50 bench/run_bench.sh
#
# Environment: THREADS (default "1"), REPS (repetitions, default: each
# program's own), WORKLOADS (default: every program found), BUILD_DIR
# (default build-bench), TORCH_BUILD_DIR (default build-bench-torch), JSON_OUT
# (also append the raw JSON lines to this file).
#
# tapegrad's programs are built by the main CMake project with
# -DTAPEGRAD_BUILD_BENCH=ON; the LibTorch peers (bench/torch/*.cpp) by the
# separate project bench/torch, so that the main build never needs LibTorch;
# the PyTorch peers (bench/torch/*.py) run with Debian's python3-torch.
# Missing Debian packages (libtorch-dev, python3-torch) are installed if
# possible, otherwise those peers are skipped.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
torch_build=${TORCH_BUILD_DIR:-$root/build-bench-torch}
threads_list=${THREADS:-1}
reps=${REPS:-}
# Debian's interpreter: it has python3-torch (the first python3 on PATH may not).
python=/usr/bin/python3
jobs=$(( $(nproc) < 2 ? $(nproc) : 2 ))

install_if_missing() {  # package...
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y "${missing[@]}" >&2 || echo "== could not install ${missing[*]}; skipping its peers" >&2
}
install_if_missing libtorch-dev python3-torch

log=$(mktemp)
results=$(mktemp)
trap 'rm -f "$log" "$results"' EXIT
quietly() {  # command...: its output only if it fails
  "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }
}

echo "== building tapegrad benchmarks in $build" >&2
quietly cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_BENCH=ON \
  -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF
targets=$(for f in "$root"/bench/*.cpp; do basename "$f" .cpp; done)
for t in $targets; do quietly cmake --build "$build" -j"$jobs" --target "bench_$t"; done

have_torch=0
if dpkg -s libtorch-dev >/dev/null 2>&1; then
  echo "== building LibTorch peers in $torch_build" >&2
  if quietly cmake -S "$root/bench/torch" -B "$torch_build" -DCMAKE_BUILD_TYPE=Release &&
     quietly cmake --build "$torch_build" -j"$jobs"; then
    have_torch=1
  else
    echo "== LibTorch peers failed to build; skipping them" >&2
  fi
fi
have_pytorch=0
$python -c "import torch" 2>/dev/null && have_pytorch=1

# OpenBLAS 0.3.21 (Debian 12) does not recognize CPUs newer than it and falls
# back to its Prescott (SSE3) kernels. tapegrad and the PyTorch/LibTorch peers
# all use that OpenBLAS, so the fix applies to every program of the run.
source "$root/scripts/openblas_env.sh"
openblas_fix_coretype $python -c "import numpy"
echo "== OpenBLAS core: $(openblas_core $python -c "import numpy")" >&2

selected() {  # workload name: is it in WORKLOADS (or is WORKLOADS unset)?
  [ -z "${WORKLOADS:-}" ] && return 0
  for w in $WORKLOADS; do [ "$w" = "$1" ] && return 0; done
  return 1
}

run() {  # threads command...
  local n=$1
  shift
  echo "== $* ($n thread(s))" >&2
  env OMP_NUM_THREADS="$n" OPENBLAS_NUM_THREADS="$n" MKL_NUM_THREADS="$n" TAPEGRAD_NUM_THREADS="$n" "$@" |
    { grep '^{' || true; } | tee -a "$results" >&2 || echo "== failed: $*" >&2
}

for n in $threads_list; do
  for t in $targets; do
    selected "$t" || continue
    run "$n" "$build/bench/bench_$t" $reps
    if [ $have_torch = 1 ] && [ -x "$torch_build/${t}_torch" ]; then
      run "$n" "$torch_build/${t}_torch" $reps
    fi
  done
  if [ $have_pytorch = 1 ]; then
    for py in "$root"/bench/torch/*.py; do
      [ -e "$py" ] || continue
      if [ -n "${WORKLOADS:-}" ]; then  # only the scripts that run a selected workload
        wanted=0
        for w in $WORKLOADS; do grep -q "$w" "$py" && wanted=1; done
        [ $wanted = 1 ] || continue
      fi
      run "$n" $python "$py"
    done
  fi
done
[ -n "${JSON_OUT:-}" ] && cat "$results" >>"$JSON_OUT"

# The table: one row per (workload, threads), tapegrad's median and each peer's.
$python - "$results" "${WORKLOADS:-}" <<'EOF'
import json, sys
rows = {}
selected = sys.argv[2].split()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if selected and r["workload"] not in selected:
        continue
    rows.setdefault((r["workload"], r["threads"]), {})[r["impl"]] = r
print(f"{'workload':<22}{'threads':>8}{'impl':>11}{'median ms':>12}{'min ms':>10}{'per op us':>11}{'ratio':>9}")
for (workload, threads), impls in sorted(rows.items()):
    ours = impls.get("tapegrad")
    for impl, r in sorted(impls.items(), key=lambda kv: kv[0] != "tapegrad"):
        ratio = "" if impl == "tapegrad" or not ours else f"{ours['median_ms'] / r['median_ms']:.3f}x"
        per_op = f"{r['per_op_us']:.3f}" if "per_op_us" in r else ""
        print(f"{workload:<22}{threads:>8}{impl:>11}{r['median_ms']:>12.3f}{r['min_ms']:>10.3f}{per_op:>11}{ratio:>9}")
print("ratio = tapegrad median / peer median (below 1: tapegrad is faster)")
EOF
