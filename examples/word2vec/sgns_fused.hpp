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
  // With several threads, each keeps private copies of the rows of the
  // `hot_rows` most frequent words (in both tables) and adds its changes to
  // the shared rows every `sync_words` words (hot_rows 0: plain hogwild).
  int hot_rows = 512;
  int sync_words = 500;
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
      HotRows hot;
      std::int64_t since_sync = 0;
      if (threads > 1) hot.init(std::min<std::int64_t>(options_.hot_rows, sampler_.size()), dim_, syn0_, syn1neg_);
      EpochStats st;  // local: neighbouring threads' counters share a cache line
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
          for (auto [input, output] : pairs) train_pair(input, output, alpha, random, neu1e.data(), hot);
          st.pairs += static_cast<std::int64_t>(pairs.size());
          since_sync += static_cast<std::int64_t>(sentences_[s].size());
          if (since_sync >= options_.sync_words) {
            hot.sync(dim_, syn0_, syn1neg_);
            since_sync = 0;
          }
        }
        st.words += chunk_words;
        done.fetch_add(chunk_words, std::memory_order_relaxed);
      }
      hot.sync(dim_, syn0_, syn1neg_);
      per_thread[static_cast<std::size_t>(t)] = st;
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
  // A thread's private copies of the most frequent words' rows. Without them
  // two threads write the same few rows (the most frequent words are the
  // outputs of most negatives) all the time, and the cache lines bounce
  // between the cores: 2 threads ran slower than 1. gensim's workers share
  // every row (hogwild) and scale 1.4x; this delays another thread's view of a
  // hot row by at most one chunk, no more than hogwild's reordering.
  struct HotRows {
    std::int64_t count = 0;
    std::vector<float> local0, snap0, local1, snap1;
    void init(std::int64_t rows, std::int64_t n, const float* syn0, const float* syn1) {
      count = rows;
      local0.assign(syn0, syn0 + rows * n);
      snap0 = local0;
      local1.assign(syn1, syn1 + rows * n);
      snap1 = local1;
    }
    void sync(std::int64_t n, float* syn0, float* syn1) {
      merge(n, syn0, local0.data(), snap0.data());
      merge(n, syn1, local1.data(), snap1.data());
    }
    void merge(std::int64_t n, float* __restrict shared, float* __restrict local, float* __restrict snap) {
      for (std::int64_t k = 0; k < count * n; ++k) {
        const float v = shared[k] + (local[k] - snap[k]);
        shared[k] = v;
        local[k] = v;
        snap[k] = v;
      }
    }
  };

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
                  float* __restrict neu1e, HotRows& hot) {
    const std::int64_t n = dim_;
    float* __restrict l1 = (input < hot.count ? hot.local0.data() : syn0_) + static_cast<std::int64_t>(input) * n;
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
      float* __restrict u = (target < hot.count ? hot.local1.data() : syn1neg_) + static_cast<std::int64_t>(target) * n;
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
