#!/usr/bin/env bash
# The include graph of the library runs one way: each folder includes only
# folders of its own layer or below (docs/design.md, "Layering"):
#
#   1 autodiff                      tensor, tape
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

declare -A layer=(
  [autodiff]=1
  [ops]=2 [io]=2
  [checks]=3 [data]=3
  [layers]=4 [losses]=4 [optimizers]=4
  [models]=5
)
# The umbrella headers include/tapegrad/NAME.hpp: NAME's layer; tapegrad.hpp
# is the whole API, above every library folder (for users only).
declare -A umbrella=(
  [xtensor]=autodiff [ops]=ops [layers]=layers [losses]=losses [optimizers]=optimizers [models]=models
  [tapegrad]=users
)
layer[users]=6
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
  if [[ -z ${layer[$name]:-} ]] && find "$dir" -name '*.cpp' -o -name '*.hpp' -o -name '*.h' | grep -q .; then
    echo "${dir#"$root"/}: a library folder with no layer in scripts/check_includes.sh"
    status=1
  fi
done

# The folder (layer name) of a path inside ROOT, or "" if it is not library code.
folder_of() {
  local rel=${1#"$root"/}
  case $rel in
    include/tapegrad/*/*) rel=${rel#include/tapegrad/}; [[ -n ${layer[${rel%%/*}]:-} ]] && echo "${rel%%/*}" ;;
    include/tapegrad/*.hpp) rel=${rel#include/tapegrad/}; echo "${umbrella[${rel%.hpp}]:-}" ;;
    */*) [[ -n ${layer[${rel%%/*}]:-} ]] && echo "${rel%%/*}" ;;
  esac
}

dirs=("$root/include/tapegrad")
for name in "${!layer[@]}"; do [[ -d $root/$name ]] && dirs+=("$root/$name"); done
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
    *) home="$root/$from" ;;
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
        problem="includes \"$inc\": layer ${layer[$to]} ($to) from layer ${layer[$from]} ($from)"
      fi
    else
      target=$(realpath -m "$(dirname "$file")/$inc")
      if [[ $target != "$home"/* ]]; then
        to=$(folder_of "$target")
        if [[ $target == "$root"/include/tapegrad/* && -n $to ]] && ((layer[$to] <= layer[$from])); then
          : # a public header of a lower layer reached by a relative path
        elif [[ -n $to ]] && ((layer[$to] > layer[$from])); then
          problem="includes \"$inc\": layer ${layer[$to]} ($to) from layer ${layer[$from]} ($from)"
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
