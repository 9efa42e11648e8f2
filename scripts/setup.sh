#!/usr/bin/env bash
# Installs the Debian packages tapegrad needs, if any are missing (Debian 12).
# Safe to run again: when everything is installed it changes nothing.
#
#   scripts/setup.sh                   # what the library, tests and examples need to build
#   scripts/setup.sh python3-gensim    # ... and these packages as well
set -euo pipefail

packages=(build-essential cmake xtensor-dev libxtensor-blas-dev libopenblas-dev doctest-dev zlib1g-dev libzip-dev pkg-config libcli11-dev dataset-fashion-mnist "$@")

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all Debian packages present"
  exit 0
fi

if ((EUID == 0)); then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  echo "setup: missing Debian packages: ${missing[*]}" >&2
  echo "setup: run this script as root, or install sudo" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
