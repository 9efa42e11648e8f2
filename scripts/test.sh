#!/usr/bin/env bash
# Installs missing Debian packages, builds tapegrad and its tests in build/
# (Release) and runs every test with ctest: the unit tests, the consumer
# project, short runs of every example, and gensim loading our word2vec file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# python3-gensim: the test example_word2vec_gensim_load reads our vectors with
# gensim's KeyedVectors.load_word2vec_format (Debian's /usr/bin/python3).
./scripts/setup.sh python3-gensim
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel "${JOBS:-2}"
ctest --test-dir build --output-on-failure -j2
