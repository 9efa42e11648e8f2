# Sourced by the scripts that run tapegrad programs: exports OPENBLAS_CORETYPE
# when OpenBLAS would run its SSE3 "Prescott" kernels on a CPU it does not
# know. Debian 12's OpenBLAS (0.3.21) does that on CPUs newer than it (Emerald
# Rapids, model 207, is one), and matrix products are then 3x slower; the
# library warns about it once (ops/blas.cpp). OpenBLAS reads the variable
# when it loads, so it has to be set before a program starts.
#
#   source scripts/openblas_env.sh
#   openblas_fix_coretype COMMAND...   # COMMAND loads OpenBLAS and exits quickly
#   openblas_core COMMAND...           # prints the kernels OpenBLAS picks
openblas_core() {
  local core
  # The command's own status does not matter (a usage error is fine): only what OpenBLAS printed.
  core=$({ OPENBLAS_VERBOSE=2 "$@" 2>&1 >/dev/null || true; } | sed -n 's/^Core: //p')
  echo "${core%%$'\n'*}"
}

openblas_fix_coretype() {
  [ -n "${OPENBLAS_CORETYPE:-}" ] && return 0
  [ "$(openblas_core "$@")" = "Prescott" ] || return 0
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell
  else return 0
  fi
  echo "== OpenBLAS does not know this CPU and chose its Prescott kernels: running with OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE" >&2
}
