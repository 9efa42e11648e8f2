#!/usr/bin/python3
"""W5 (word2vec) in gensim (Debian python3-gensim): skip-gram with negative
sampling on the KJV corpus with gensim's defaults (vector_size 100, window 5,
negative 5, sample 1e-3, min_count 5), one epoch per repetition, workers =
OPENBLAS_NUM_THREADS. Prints the JSON line of bench/word2vec.cpp with impl
"gensim": median_ms of train() (vocabulary excluded), words_per_s (raw words
of the vocabulary, as ours) and effective_words_per_s (after sub-sampling)."""
import json
import os
import statistics
import subprocess
import sys
import time

try:
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence
except ImportError:
    print("word2vec_gensim: gensim is not installed (Debian: python3-gensim); skipped", file=sys.stderr)
    sys.exit(0)

threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build", "data", "kjv.txt")
if not os.path.exists(corpus):
    subprocess.run(["bash", os.path.join(root, "scripts", "prepare_kjv.sh"), corpus], check=True,
                   stdout=sys.stderr)
repetitions = int(os.environ.get("REPS", "5"))

sentences = list(LineSentence(corpus))
ms, words, effective = [], [], []
for r in range(repetitions + 1):
    model = Word2Vec(sg=1, vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, alpha=0.025,
                     min_alpha=0.0001, workers=threads, seed=r + 1)
    model.build_vocab(sentences)
    vocab_words = sum(model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key)
    start = time.perf_counter()
    eff, raw = model.train(sentences, total_examples=model.corpus_count, epochs=1)
    seconds = time.perf_counter() - start
    if r == 0:
        continue  # warm-up
    ms.append(seconds * 1e3)
    words.append(vocab_words / seconds)
    effective.append(eff / seconds)
print(json.dumps({"workload": "word2vec", "impl": "gensim", "threads": threads,
                  "median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms),
                  "repetitions": repetitions, "words_per_s": round(statistics.median(words)),
                  "effective_words_per_s": round(statistics.median(effective))}))
