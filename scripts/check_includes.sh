#!/usr/bin/env bash
# The include graph of the library runs one way: each folder includes only
# folders of its own layer or below (docs/design.md, "Layering"):
#
#   1 autodiff                      tensor, tape
#   1.5 kernels (ops/kernels)       loops, threads, BLAS; of the library only
#                                   autodiff's allocator, threads and shape
#   2 ops, io                       io uses only autodiff
#   3 checks, data                  gradcheck over ops; data over io and autodiff
#   4 layers, losses, optimizers
#   5 models
#
# This script reads every `#include "..."` of the library's sources, private
# headers (FOLDER/*) and public headers (include/tapegrad/FOLDER/*, which
# belong to FOLDER's layer; include/tapegrad/NAME.hpp to NAME's), and fails on
#   - an include of a higher layer (`tapegrad/...` or relative);
#   - an include of another folder's private header: a quoted include that is
#     not `tapegrad/...` and leaves the including file's folder (for example
#     "../ops/support.hpp"; a public header including a private one counts too,
#     as it would not compile once installed).
# Exceptions, each with its reason, are listed in scripts/include_exceptions.txt.
# examples/, bench/, tests/ and fuzz/ are users of the public API and are not
# checked. A new library folder makes the script fail until it has a layer here.
#
# Usage: scripts/check_includes.sh [ROOT]   (ROOT: the source tree, default ..)
# Exit status: 0 clean, 1 violations (listed as file:line), 2 usage error.
set -u

root=${1:-$(dirname "$0")/..}
root=$(cd "$root" && pwd) || exit 2
exceptions_file="$root/scripts/include_exceptions.txt"

# Layers are compared as ranks, ten times the layer number, so that kernels/
# fits between autodiff/ and ops/.
declare -A layer=(
  [autodiff]=10
  [kernels]=15
  [ops]=20 [io]=20
  [checks]=30 [data]=30
  [layers]=40 [losses]=40 [optimizers]=40
  [models]=50
)
# Folders that live inside another one's directory: ops/kernels/ is private
# to ops/ (ops/ includes it, nothing else may), below it in the layering.
declare -A folder_path=([kernels]=ops/kernels)
# The kernels know nothing about tensors or tapes: of the library's headers they
# include only these (and their own).
kernels_may_include=" tapegrad/autodiff/allocator.hpp tapegrad/autodiff/shape.hpp tapegrad/autodiff/threads.hpp "
# "layer 2 (ops)" for a rank of 20, "layer 1.5 (kernels)" for 15.
layer_name() {
  local rank=${layer[$1]}
  if ((rank % 10 == 0)); then echo "layer $((rank / 10)) ($1)"; else echo "layer $((rank / 10)).$((rank % 10)) ($1)"; fi
}
# The umbrella headers include/tapegrad/NAME.hpp: NAME's layer; tapegrad.hpp
# is the whole API, above every library folder (for users only).
declare -A umbrella=(
  [xtensor]=autodiff [ops]=ops [layers]=layers [losses]=losses [optimizers]=optimizers [models]=models
  [tapegrad]=users
)
layer[users]=60
# Folders of the tree that are not library code.
not_library=" examples bench tests fuzz scripts docs cmake include build "

# Exceptions: "FILE INCLUDE reason...", FILE relative to ROOT, INCLUDE as
# written between the quotes; the reason is required.
declare -A excepted=()
declare -A exception_used=()
status=0
if [[ -f $exceptions_file ]]; then
  lineno=0
  while IFS= read -r entry || [[ -n $entry ]]; do
    lineno=$((lineno + 1))
    [[ $entry =~ ^[[:space:]]*(#|$) ]] && continue
    read -r file inc reason <<<"$entry"
    if [[ -z ${reason:-} ]]; then
      echo "scripts/include_exceptions.txt:$lineno: an exception needs a reason: $entry"
      status=1
      continue
    fi
    excepted["$file $inc"]=1
  done <"$exceptions_file"
fi

# A library folder with sources but no layer would escape the check.
for dir in "$root"/*/ "$root"/include/tapegrad/*/; do
  name=$(basename "$dir")
  [[ $dir != "$root"/include/tapegrad/* && $not_library == *" $name "* ]] && continue
  [[ $name == .* || $name == build* ]] && continue
  if [[ -z ${layer[$name]:-} || -n ${folder_path[$name]:-} ]] && find "$dir" -name '*.cpp' -o -name '*.hpp' -o -name '*.h' | grep -q .; then
    echo "${dir#"$root"/}: a library folder with no layer in scripts/check_includes.sh"
    status=1
  fi
done

# The folder (layer name) of a path inside ROOT, or "" if it is not library code.
folder_of() {
  local rel=${1#"$root"/}
  case $rel in
    ops/kernels/*) echo kernels ;;
    include/tapegrad/*/*) rel=${rel#include/tapegrad/}; [[ -n ${layer[${rel%%/*}]:-} ]] && echo "${rel%%/*}" ;;
    include/tapegrad/*.hpp) rel=${rel#include/tapegrad/}; echo "${umbrella[${rel%.hpp}]:-}" ;;
    */*) [[ -n ${layer[${rel%%/*}]:-} && -z ${folder_path[${rel%%/*}]:-} ]] && echo "${rel%%/*}" ;;
  esac
}

dirs=("$root/include/tapegrad")
for name in "${!layer[@]}"; do [[ -z ${folder_path[$name]:-} && -d $root/$name ]] && dirs+=("$root/$name"); done
checked=0
while IFS= read -r -d '' file; do
  rel=${file#"$root"/}
  from=$(folder_of "$file")
  [[ -z $from ]] && continue
  checked=$((checked + 1))
  # The directory tree a relative include must stay in: the folder itself for
  # private files, include/tapegrad/FOLDER for public headers.
  case $rel in
    include/tapegrad/*/*) home="$root/include/tapegrad/$from" ;;
    include/tapegrad/*) home="$root/include/tapegrad" ;;
    *) home="$root/${folder_path[$from]:-$from}" ;;
  esac
  while IFS=: read -r line text; do
    [[ $text =~ \#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]] || continue
    inc=${BASH_REMATCH[1]}
    problem=""
    if [[ $inc == tapegrad/* ]]; then
      to=$(folder_of "$root/include/$inc")
      if [[ -z $to ]]; then
        problem="includes \"$inc\", a header of no known layer"
      elif ((layer[$to] > layer[$from])); then
        problem="includes \"$inc\": $(layer_name "$to") from $(layer_name "$from")"
      elif [[ $from == kernels && $kernels_may_include != *" $inc "* ]]; then
        problem="includes \"$inc\": kernels/ knows no tensors or tapes (allowed:${kernels_may_include% })"
      fi
    else
      target=$(realpath -m "$(dirname "$file")/$inc")
      if [[ $target != "$home"/* ]]; then
        to=$(folder_of "$target")
        if [[ $from == kernels && $target == "$root"/include/* && $kernels_may_include != *" ${target#"$root"/include/} "* ]]; then
          problem="includes \"$inc\": kernels/ knows no tensors or tapes (allowed:${kernels_may_include% })"
        elif [[ $target == "$root"/include/tapegrad/* && -n $to ]] && ((layer[$to] <= layer[$from])); then
          : # a public header of a lower layer reached by a relative path
        elif [[ -n $to ]] && ((layer[$to] > layer[$from])); then
          problem="includes \"$inc\": $(layer_name "$to") from $(layer_name "$from")"
        elif [[ $to == "$from" ]]; then
          problem="includes \"$inc\", a private header of $from/, from a public header (it is not installed)"
        else
          problem="includes \"$inc\", a private header of another folder (${to:-outside the library}) from $from/"
        fi
      fi
    fi
    [[ -z $problem ]] && continue
    if [[ -n ${excepted["$rel $inc"]:-} ]]; then
      exception_used["$rel $inc"]=1
      continue
    fi
    echo "$rel:$line: $problem"
    status=1
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file")
done < <(find "${dirs[@]}" \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) -print0 | sort -z)

# An exception that matches nothing is stale: say so, without failing (the
# include may have been fixed on another branch first).
for key in "${!excepted[@]}"; do
  [[ -z ${exception_used[$key]:-} ]] && echo "warning: stale exception in scripts/include_exceptions.txt: $key" >&2
done

if ((status == 0)); then
  echo "include layers: $checked files, no upward include"
else
  echo "include layers: upward or cross-folder includes found (layers: docs/design.md; exceptions: scripts/include_exceptions.txt)"
fi
exit $status
