// The fused skip-gram negative-sampling trainer (gensim's per-pair update,
// hogwild threads with private hot rows). The update and the schedule are in
// the header.
#include "tapegrad/data/skipgram_trainer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "tapegrad/autodiff/format.hpp"

namespace tg::data {

namespace {

using tg::detail::format_number;

const std::string fn = "SkipGramTrainer: ";

void check_options(const SkipGramTrainerOptions& o, int epochs) {
  if (o.window < 1) throw std::invalid_argument(fn + "window must be >= 1, received " + std::to_string(o.window));
  if (o.negative < 0)
    throw std::invalid_argument(fn + "negative must be >= 0, received " + std::to_string(o.negative));
  if (!(o.sample >= 0) || !std::isfinite(o.sample))
    throw std::invalid_argument(fn + "sample must be a finite number >= 0, received " + format_number(o.sample));
  if (!(o.alpha > 0) || !std::isfinite(o.alpha))
    throw std::invalid_argument(fn + "alpha must be a finite number > 0, received " + format_number(o.alpha));
  if (!(o.min_alpha >= 0 && o.min_alpha <= o.alpha))
    throw std::invalid_argument(fn + "min_alpha must be in [0, alpha] = [0, " + format_number(o.alpha) +
                                "], received " + format_number(o.min_alpha));
  if (o.threads < 1) throw std::invalid_argument(fn + "threads must be >= 1, received " + std::to_string(o.threads));
  if (o.hot_rows < 0)
    throw std::invalid_argument(fn + "hot_rows must be >= 0, received " + std::to_string(o.hot_rows));
  if (o.sync_words < 1)
    throw std::invalid_argument(fn + "sync_words must be >= 1, received " + std::to_string(o.sync_words));
  if (epochs < 1) throw std::invalid_argument(fn + "epochs must be >= 1, received " + std::to_string(epochs));
}

void check_table(const Tensor& t, const char* name, std::int64_t vocab_size) {
  const std::string what = fn + name;
  if (!t.defined()) throw std::invalid_argument(what + " is an undefined tensor (expected float32 (vocabulary, dim))");
  if (t.dtype() != DType::float32)
    throw std::invalid_argument(what + " must be float32, received " + dtype_name(t.dtype()));
  if (t.rank() != 2)
    throw std::invalid_argument(what + " must have rank 2 (vocabulary size, dim), received shape " + t.shape().str());
  if (t.dim(0) != vocab_size)
    throw std::invalid_argument(what + " must have one row per vocabulary word (" + std::to_string(vocab_size) +
                                "), received shape " + t.shape().str());
  if (t.dim(1) < 1) throw std::invalid_argument(what + " must have dim >= 1, received shape " + t.shape().str());
}

// A thread's private copies of the most frequent words' rows, and their values
// at the last merge: merging adds local - snapshot to the shared rows, so the
// other threads' changes in the meantime are kept.
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
float dot(const float* __restrict a, const float* __restrict b, std::int64_t n) {
  float s[16] = {};
  std::int64_t k = 0;
  for (; k + 16 <= n; k += 16)
    for (int l = 0; l < 16; ++l) s[l] += a[k + l] * b[k + l];
  float f = 0.0f;
  for (; k < n; ++k) f += a[k] * b[k];
  for (int l = 0; l < 16; ++l) f += s[l];
  return f;
}

// The tables and what one pair's update needs besides its words.
struct PairUpdate {
  float* syn0;
  float* syn1neg;
  std::int64_t dim;
  int negative;
  const NegativeSampler* sampler;  // null when negative == 0

  void operator()(std::int32_t input, std::int32_t output, float alpha, FastRandom& random, float* __restrict neu1e,
                  HotRows& hot) const {
    const std::int64_t n = dim;
    float* __restrict l1 = (input < hot.count ? hot.local0.data() : syn0) + static_cast<std::int64_t>(input) * n;
    for (std::int64_t k = 0; k < n; ++k) neu1e[k] = 0.0f;
    for (int d = 0; d <= negative; ++d) {
      std::int32_t target;
      float label;
      if (d == 0) {
        target = output;
        label = 1.0f;
      } else {
        target = sampler->draw(random);
        if (target == output) continue;  // skipped, not redrawn (gensim)
        label = 0.0f;
      }
      float* __restrict u = (target < hot.count ? hot.local1.data() : syn1neg) + static_cast<std::int64_t>(target) * n;
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
};

}  // namespace

SkipGramTrainer::SkipGramTrainer(const EncodedCorpus& sentences, const Vocabulary& vocab, Tensor syn0,
                                 Tensor syn1neg, const SkipGramTrainerOptions& options, int epochs)
    : sentences_(sentences), vocab_size_(vocab.size()), options_(options), epochs_(epochs) {
  check_options(options, epochs);
  check_table(syn0, "syn0", vocab_size_);
  check_table(syn1neg, "syn1neg", vocab_size_);
  if (syn0.shape() != syn1neg.shape())
    throw std::invalid_argument(fn + "syn0 and syn1neg must have the same shape, received " + syn0.shape().str() +
                                " and " + syn1neg.shape().str());
  // The update reads one table's row while it writes the other's (restrict pointers).
  const auto* a = static_cast<const char*>(syn0.raw_data());
  const auto* b = static_cast<const char*>(syn1neg.raw_data());
  const auto bytes = static_cast<std::ptrdiff_t>(syn0.numel() * static_cast<std::int64_t>(sizeof(float)));
  if (a < b + bytes && b < a + bytes)
    throw std::invalid_argument(fn + "syn0 and syn1neg must be two different tensors, received two that share "
                                     "their values");
  if (options.negative > 0) {
    if (vocab_size_ < 2)
      throw std::invalid_argument(fn + "negative sampling needs at least 2 words in the vocabulary, received " +
                                  std::to_string(vocab_size_) + " (use negative = 0, or a larger vocabulary)");
    sampler_.emplace(vocab);
  }
  for (std::size_t s = 0; s < sentences.size(); ++s)
    for (auto w : sentences[s])
      if (w < 0 || w >= vocab_size_)
        throw std::invalid_argument(fn + "sentence " + std::to_string(s) + " holds index " + std::to_string(w) +
                                    ", outside the vocabulary of " + std::to_string(vocab_size_) +
                                    " words (expected indices in [0, " + std::to_string(vocab_size_) + "))");
  keep_ = SkipGramBatcher::keep_thresholds(keep_probabilities(vocab, options.sample));
  syn0_ = std::move(syn0);
  syn1neg_ = std::move(syn1neg);
  dim_ = syn0_.dim(1);

  // Chunks of about 10,000 words, as gensim's jobs.
  std::int64_t words = 0;
  chunk_starts_.push_back(0);
  for (std::size_t s = 0; s < sentences.size(); ++s) {
    words += static_cast<std::int64_t>(sentences[s].size());
    if (words >= 10000) {
      chunk_starts_.push_back(s + 1);
      words = 0;
    }
  }
  if (chunk_starts_.back() != sentences.size()) chunk_starts_.push_back(sentences.size());
  for (const auto& s : sentences) words_per_epoch_ += static_cast<std::int64_t>(s.size());
}

float SkipGramTrainer::learning_rate(std::int64_t words_done) const {
  const double total = static_cast<double>(words_per_epoch_) * epochs_;
  const double progress = total > 0 ? static_cast<double>(words_done) / total : 0.0;
  return static_cast<float>(
      std::max(options_.min_alpha, options_.alpha - (options_.alpha - options_.min_alpha) * progress));
}

SkipGramEpochStats SkipGramTrainer::train_epoch(int epoch) {
  if (epoch < 0 || epoch >= epochs_)
    throw std::invalid_argument("SkipGramTrainer::train_epoch: epoch must be in [0, " + std::to_string(epochs_) +
                                ") (the trainer was made for " + std::to_string(epochs_) + " epochs), received " +
                                std::to_string(epoch));
  const auto start = std::chrono::steady_clock::now();
  float* const syn0 = syn0_.data<float>();
  float* const syn1neg = syn1neg_.data<float>();
  const PairUpdate update{syn0, syn1neg, dim_, options_.negative, sampler_ ? &*sampler_ : nullptr};
  std::atomic<std::size_t> next_chunk{0};
  std::atomic<std::int64_t> done{static_cast<std::int64_t>(epoch) * words_per_epoch_};
  const int threads = options_.threads;
  std::vector<SkipGramEpochStats> per_thread(static_cast<std::size_t>(threads));
  auto work = [&](int t) {
    FastRandom random(options_.seed * 1000003u + static_cast<std::uint64_t>(epoch) * 7919u +
                      static_cast<std::uint64_t>(t));
    std::vector<std::int32_t> kept;
    std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
    std::vector<float> neu1e(static_cast<std::size_t>(dim_));
    HotRows hot;
    std::int64_t since_sync = 0;
    if (threads > 1) hot.init(std::min<std::int64_t>(options_.hot_rows, vocab_size_), dim_, syn0, syn1neg);
    SkipGramEpochStats st;  // local: neighbouring threads' counters would share a cache line
    for (;;) {
      const std::size_t c = next_chunk.fetch_add(1);
      if (c + 1 >= chunk_starts_.size()) break;
      const float alpha = learning_rate(done.load(std::memory_order_relaxed));
      std::int64_t chunk_words = 0;
      for (std::size_t s = chunk_starts_[c]; s < chunk_starts_[c + 1]; ++s) {
        pairs.clear();
        st.effective_words +=
            SkipGramBatcher::sentence_pairs(sentences_[s], keep_, options_.window, random, kept, pairs);
        chunk_words += static_cast<std::int64_t>(sentences_[s].size());
        for (auto [input, output] : pairs) update(input, output, alpha, random, neu1e.data(), hot);
        st.pairs += static_cast<std::int64_t>(pairs.size());
        since_sync += static_cast<std::int64_t>(sentences_[s].size());
        if (since_sync >= options_.sync_words) {
          hot.sync(dim_, syn0, syn1neg);
          since_sync = 0;
        }
      }
      st.words += chunk_words;
      done.fetch_add(chunk_words, std::memory_order_relaxed);
    }
    hot.sync(dim_, syn0, syn1neg);
    per_thread[static_cast<std::size_t>(t)] = st;
  };
  if (threads == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
    for (auto& th : pool) th.join();
  }
  SkipGramEpochStats total;
  for (const auto& s : per_thread) {
    total.words += s.words;
    total.effective_words += s.effective_words;
    total.pairs += s.pairs;
  }
  total.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return total;
}

}  // namespace tg::data
