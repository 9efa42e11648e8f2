// The fused skip-gram negative-sampling trainer: gensim's per-pair update
// (word2vec_inner.pyx, fast_sentence_sg_neg) written as one loop over the two
// embedding tables of the Keras-style model, with hogwild threads as gensim's
// workers. It trains the *same* tables (the Embedding layers' weights, in
// place), so the model, the validation model and the outputs are shared with
// the tape path of word2vec.cpp.
//
// Why a second path: the tape path builds a batch of tensors, records ~10 ops,
// runs their backward, sorts the sparse rows and applies SGD; per pair of
// words that is ~20x more memory traffic than the update itself (6 dot
// products and 7 axpys of 100 floats, all in L1/L2). gensim's speed is only
// reachable by the direct loop. Both are measured by bench/word2vec.cpp.
//
// For each (input word j, output word i) pair, with l1 = syn0[j] (the target
// table, the exported vectors) and neu1e = 0:
//   for the positive i (label 1) and `negative` draws (label 0, skipped when equal to i):
//     u = syn1neg[target];  f = l1 . u;  if |f| >= 6: next (gensim's MAX_EXP)
//     g = (label - sigmoid(f)) * alpha;  neu1e += g u;  u += g l1
//   l1 += neu1e
// alpha decays linearly from alpha to min_alpha with the words processed over
// all epochs, updated per chunk of ~10,000 words (gensim's job size).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

#include "tapegrad/data/word2vec.hpp"

namespace w2v {

struct FusedOptions {
  int window = 5;
  int negative = 5;
  double sample = 1e-3;
  double alpha = 0.025;
  double min_alpha = 0.0001;
  int threads = 1;
  std::uint64_t seed = 1;
};

struct EpochStats {
  std::int64_t words = 0;            // vocabulary tokens processed
  std::int64_t effective_words = 0;  // kept after sub-sampling
  std::int64_t pairs = 0;
  double seconds = 0;
};

class FusedTrainer {
 public:
  // syn0 and syn1neg: (V, dim) float32 row-major, updated in place.
  FusedTrainer(const tg::data::EncodedCorpus& sentences, const tg::data::Vocabulary& vocab, float* syn0,
               float* syn1neg, std::int64_t dim, const FusedOptions& options, int epochs)
      : sentences_(sentences),
        sampler_(vocab),
        keep_(tg::data::SkipGramBatcher::keep_thresholds(tg::data::keep_probabilities(vocab, options.sample))),
        syn0_(syn0),
        syn1neg_(syn1neg),
        dim_(dim),
        options_(options),
        epochs_(epochs) {
    // Chunks of about 10,000 words, as gensim's jobs.
    std::int64_t words = 0;
    chunks_.push_back(0);
    for (std::size_t s = 0; s < sentences.size(); ++s) {
      words += static_cast<std::int64_t>(sentences[s].size());
      if (words >= 10000) {
        chunks_.push_back(s + 1);
        words = 0;
      }
    }
    if (chunks_.back() != sentences.size()) chunks_.push_back(sentences.size());
    for (const auto& s : sentences) words_per_epoch_ += static_cast<std::int64_t>(s.size());
  }

  EpochStats train_epoch(int epoch) {
    const auto start = std::chrono::steady_clock::now();
    std::atomic<std::size_t> next_chunk{0};
    std::atomic<std::int64_t> done{static_cast<std::int64_t>(epoch) * words_per_epoch_};
    const int threads = std::max(1, options_.threads);
    std::vector<EpochStats> per_thread(static_cast<std::size_t>(threads));
    auto work = [&](int t) {
      tg::data::FastRandom random(options_.seed * 1000003u + static_cast<std::uint64_t>(epoch) * 7919u +
                                  static_cast<std::uint64_t>(t));
      std::vector<std::int32_t> kept;
      std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
      std::vector<float> neu1e(static_cast<std::size_t>(dim_));
      EpochStats& st = per_thread[static_cast<std::size_t>(t)];
      const double total = static_cast<double>(words_per_epoch_) * epochs_;
      for (;;) {
        const std::size_t c = next_chunk.fetch_add(1);
        if (c + 1 >= chunks_.size()) break;
        const double progress = static_cast<double>(done.load(std::memory_order_relaxed)) / total;
        const float alpha = static_cast<float>(
            std::max(options_.min_alpha, options_.alpha - (options_.alpha - options_.min_alpha) * progress));
        std::int64_t chunk_words = 0;
        for (std::size_t s = chunks_[c]; s < chunks_[c + 1]; ++s) {
          pairs.clear();
          st.effective_words += tg::data::SkipGramBatcher::sentence_pairs(sentences_[s], keep_, options_.window,
                                                                           random, kept, pairs);
          chunk_words += static_cast<std::int64_t>(sentences_[s].size());
          for (auto [input, output] : pairs) train_pair(input, output, alpha, random, neu1e.data());
          st.pairs += static_cast<std::int64_t>(pairs.size());
        }
        st.words += chunk_words;
        done.fetch_add(chunk_words, std::memory_order_relaxed);
      }
    };
    if (threads == 1) {
      work(0);
    } else {
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
      for (auto& th : pool) th.join();
    }
    EpochStats total;
    for (const auto& s : per_thread) {
      total.words += s.words;
      total.effective_words += s.effective_words;
      total.pairs += s.pairs;
    }
    total.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return total;
  }

 private:
  // 16 running partial sums: the compiler keeps them in one vector register
  // (a plain `f += a[k] * b[k]` would not vectorize without -ffast-math).
  static float dot(const float* __restrict a, const float* __restrict b, std::int64_t n) {
    float s[16] = {};
    std::int64_t k = 0;
    for (; k + 16 <= n; k += 16)
      for (int l = 0; l < 16; ++l) s[l] += a[k + l] * b[k + l];
    float f = 0.0f;
    for (; k < n; ++k) f += a[k] * b[k];
    for (int l = 0; l < 16; ++l) f += s[l];
    return f;
  }

  void train_pair(std::int32_t input, std::int32_t output, float alpha, tg::data::FastRandom& random,
                  float* __restrict neu1e) {
    const std::int64_t n = dim_;
    float* __restrict l1 = syn0_ + static_cast<std::int64_t>(input) * n;
    for (std::int64_t k = 0; k < n; ++k) neu1e[k] = 0.0f;
    for (int d = 0; d <= options_.negative; ++d) {
      std::int32_t target;
      float label;
      if (d == 0) {
        target = output;
        label = 1.0f;
      } else {
        target = sampler_.draw(random);
        if (target == output) continue;  // skipped, not redrawn (gensim)
        label = 0.0f;
      }
      float* __restrict u = syn1neg_ + static_cast<std::int64_t>(target) * n;
      const float f = dot(l1, u, n);
      if (f <= -6.0f || f >= 6.0f) continue;
      const float g = (label - 1.0f / (1.0f + std::exp(-f))) * alpha;
      for (std::int64_t k = 0; k < n; ++k) {
        neu1e[k] += g * u[k];
        u[k] += g * l1[k];
      }
    }
    for (std::int64_t k = 0; k < n; ++k) l1[k] += neu1e[k];
  }

  const tg::data::EncodedCorpus& sentences_;
  tg::data::NegativeSampler sampler_;
  std::vector<std::uint64_t> keep_;
  float* syn0_;
  float* syn1neg_;
  std::int64_t dim_;
  FusedOptions options_;
  int epochs_;
  std::vector<std::size_t> chunks_;
  std::int64_t words_per_epoch_ = 0;
};

}  // namespace w2v
