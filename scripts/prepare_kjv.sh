#!/usr/bin/env bash
# Prepares the default word2vec corpus: the King James Bible from Debian's
# bible-kjv package, lowercased, tokens of letters only, one verse per line.
#
#   scripts/prepare_kjv.sh                  # writes build/data/kjv.txt
#   scripts/prepare_kjv.sh path/to/kjv.txt  # or the path given
#
# `bible -f "gen1:1-rev22:21"` prints one verse per line prefixed by its
# reference ("Ge1:1 In the beginning God created ..."); the reference is
# stripped, then every run of non-letters becomes one space (so "Lord's"
# gives "lord s", as a letters-only tokenizer does). About 790,000 tokens.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/data/kjv.txt}

if ! command -v bible >/dev/null 2>&1; then
  echo "prepare_kjv: installing Debian's bible-kjv" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y bible-kjv >&2
fi

mkdir -p "$(dirname "$out")"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# The reference is the first field: letters (book), then chapter:verse digits.
bible -f "gen1:1-rev22:21" |
  sed -E 's/^[0-9]?[A-Za-z]+[0-9]+:[0-9]+[[:space:]]*//' |
  LC_ALL=C tr 'A-Z' 'a-z' |
  LC_ALL=C sed -E 's/[^a-z]+/ /g; s/^ +//; s/ +$//' |
  LC_ALL=C grep -v '^$' >"$tmp"
lines=$(wc -l <"$tmp")
words=$(wc -w <"$tmp")
if [ "$lines" -lt 30000 ]; then
  echo "prepare_kjv: expected about 31,000 verses from bible -f, got $lines lines" >&2
  exit 1
fi
mv "$tmp" "$out"
trap - EXIT
echo "prepare_kjv: wrote $out ($lines verses, $words words)" >&2
