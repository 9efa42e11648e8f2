// Skip-gram data for word2vec with negative sampling, as gensim's Word2Vec(sg=1)
// prepares it: a text corpus, a frequency-ranked vocabulary, sub-sampling of
// frequent words, the dynamic window and the unigram^0.75 negative table, and
// a batched, seeded generator of (input word, [output word, negatives...]) rows.
//
//   auto corpus = tg::data::read_corpus("kjv.txt");          // one sentence per line
//   auto vocab = tg::data::Vocabulary::build(corpus, 5);     // min_count 5
//   auto sentences = vocab.encode(corpus);                   // indices, unknown words dropped
//   tg::data::SkipGramBatcher batcher(sentences, vocab, {.window = 5, .negative = 5,
//                                                        .sample = 1e-3, .batch_size = 256, .seed = 1});
//   tg::data::SkipGramBatch batch;
//   while (batcher.next(batch)) { /* batch.inputs (B,), batch.outputs (B, 6), batch.weights (B, 6) */ }
//
// gensim's rules (see ../shared/REFERENCE.md, word2vec):
// - Vocabulary: words seen fewer than min_count times are dropped; the rest are
//   sorted by descending count. Ties: gensim sorts with numpy's unstable argsort,
//   so its order among equal counts is not reproducible; ours is the order of
//   first appearance in the corpus (deterministic).
// - Sub-sampling: with t = sample * (total count of the retained words), a word
//   of count c is kept with probability min(1, (sqrt(c / t) + 1) * t / c)
//   (word2vec.c's formula, not the paper's). sample = 0 keeps everything.
//   Dropped tokens are removed before windows are formed.
// - Window: for each position i a random b in [0, window); the context is
//   positions [i - window + b, i + window - b] except i, clipped to the
//   sentence (the effective half-window is uniform in 1..window).
// - Pairs: for centre i and context j, the *input* vector is that of word j
//   and the *output* (label 1) that of word i; `negative` draws from the
//   table of count^0.75 are the label-0 outputs. A draw equal to the positive
//   word is skipped (gensim does not redraw): in a batch its slot keeps the
//   drawn index but has weight 0.
//
// Errors: std::runtime_error for files (missing, unreadable, not a regular
// file, binary, not UTF-8, empty); std::invalid_argument for bad parameters and too small a vocabulary.
// Each names the function and what it received.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg::data {

// ---- corpus ----------------------------------------------------------------------

// Sentences of tokens: one sentence per non-blank line, tokens separated by
// ASCII whitespace (space, tab, '\r', '\f', '\v'). The tokens are views into
// `text`, the corpus's own copy of the characters, which copies of the corpus
// share: 16 bytes a token instead of a std::string's 32 and an allocation
// (the KJV's 790,000 tokens take 17 MB instead of 37).
struct Corpus {
  std::vector<std::vector<std::string_view>> sentences;
  std::int64_t num_tokens = 0;
  std::shared_ptr<const std::string> text;  // what the views point into
};

// Reads a UTF-8 text file. Throws std::runtime_error naming the function and
// the path when the file is missing or unreadable, is not a regular file (a
// directory, a FIFO, a device as /dev/zero: refused before any byte is read,
// so a FIFO never blocks), is too large for the memory the process may have,
// contains a NUL byte or invalid UTF-8 (with the byte offset), or has no token
// at all.
Corpus read_corpus(const std::string& path);
// The same from text in memory; errors name `source`.
Corpus read_corpus_from_memory(std::string_view text, const std::string& source = "<memory>");

// ---- vocabulary ------------------------------------------------------------------

// Sentences as vocabulary indices (words not in the vocabulary removed).
using EncodedCorpus = std::vector<std::vector<std::int32_t>>;

class Vocabulary {
 public:
  // Words with count >= min_count (min_count >= 1), most frequent first, ties
  // in order of first appearance. Throws std::invalid_argument if min_count < 1
  // or if no word is frequent enough (naming the most frequent word's count).
  static Vocabulary build(const Corpus& corpus, std::int64_t min_count = 5);
  // From words and counts in the order wanted (counts must not increase).
  static Vocabulary from_counts(std::vector<std::string> words, std::vector<std::int64_t> counts);

  std::int64_t size() const { return static_cast<std::int64_t>(words_.size()); }
  const std::string& word(std::int64_t index) const { return words_.at(static_cast<std::size_t>(index)); }
  std::int64_t count(std::int64_t index) const { return counts_.at(static_cast<std::size_t>(index)); }
  const std::vector<std::string>& words() const { return words_; }
  const std::vector<std::int64_t>& counts() const { return counts_; }
  // The index of `word`, or -1 if it is not in the vocabulary.
  std::int64_t index(std::string_view word) const;
  bool contains(std::string_view word) const { return index(word) >= 0; }
  // Sum of the retained words' counts (gensim's retain_total).
  std::int64_t total_count() const { return total_; }
  std::int64_t min_count() const { return min_count_; }
  // Tokens of the corpus the vocabulary was built from, retained or not.
  std::int64_t corpus_tokens() const { return corpus_tokens_; }

  EncodedCorpus encode(const Corpus& corpus) const;

 private:
  std::vector<std::string> words_;
  std::vector<std::int64_t> counts_;
  std::unordered_map<std::string, std::int32_t> index_;
  std::int64_t total_ = 0;
  std::int64_t min_count_ = 1;
  std::int64_t corpus_tokens_ = 0;
};

// ---- sub-sampling ----------------------------------------------------------------

// gensim's keep probability of each vocabulary word (sample >= 0; 0 keeps all;
// sample >= 1 is gensim's shorthand: t = floor(sample * (3 + sqrt 5) / 2)).
std::vector<double> keep_probabilities(const Vocabulary& vocab, double sample);

// ---- random numbers ----------------------------------------------------------------

// A small inline generator (splitmix64 seeding, xorshift64*): the inner loops
// of the batcher and of fused trainers draw millions of numbers.
class FastRandom {
 public:
  explicit FastRandom(std::uint64_t seed) {
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    state_ = (z ^ (z >> 31)) | 1;  // never 0
  }
  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  // Uniform in [0, n) (n >= 1), by the multiply-shift of the top 32 bits.
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>(((next() >> 32) * static_cast<std::uint64_t>(n)) >> 32);
  }
  // Uniform 32 bits.
  std::uint32_t bits32() { return static_cast<std::uint32_t>(next() >> 32); }

 private:
  std::uint64_t state_;
};

// ---- negatives -------------------------------------------------------------------

// Draws words with probability proportional to count^power (gensim's cum_table:
// cumulative weights scaled to 2^31 - 1, then a binary search), plus a direct
// lookup table on the top bits so that most draws cost one load.
// Needs at least 2 words (otherwise every draw would be the positive word).
class NegativeSampler {
 public:
  explicit NegativeSampler(const Vocabulary& vocab, double power = 0.75);
  std::int32_t draw(FastRandom& random) const {
    const std::uint32_t r = random.bits32() % domain_;
    const std::uint32_t bucket = r >> shift_;
    std::int32_t lo = start_[bucket], hi = start_[bucket + 1];
    // The first index whose cumulative weight exceeds r (bisect_right on cum).
    while (lo < hi) {
      const std::int32_t mid = (lo + hi) >> 1;
      if (cum_[static_cast<std::size_t>(mid)] <= r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  // The probability of drawing word `index`.
  double probability(std::int64_t index) const;
  std::int64_t size() const { return static_cast<std::int64_t>(cum_.size()); }

 private:
  std::vector<std::uint32_t> cum_;     // cumulative weights, last = domain_
  std::vector<std::int32_t> start_;    // per bucket of r >> shift_: the range of cum_ to search
  std::uint32_t domain_ = 0;
  int shift_ = 0;
};

// ---- skip-gram batches -----------------------------------------------------------

struct SkipGramOptions {
  int window = 5;          // >= 1
  int negative = 5;        // >= 0
  double sample = 1e-3;    // >= 0
  std::int64_t batch_size = 256;  // pairs per batch, >= 1
  std::uint64_t seed = 1;
};

// One batch of B pairs.
struct SkipGramBatch {
  Tensor inputs;   // (B,) int64: the word whose input vector is used (the context word)
  Tensor outputs;  // (B, 1 + negative) int64: the positive (centre) word, then the negatives
  Tensor labels;   // (B, 1 + negative) float32: 1, then 0s
  Tensor weights;  // (B, 1 + negative) float32: 1, or 0 for a negative equal to the positive (skipped)
  std::int64_t size = 0;
  // Raw corpus tokens (before sub-sampling, vocabulary words only) consumed
  // up to the end of this batch in this epoch: the progress of a linearly
  // decaying learning rate, as gensim counts it.
  std::int64_t words_done = 0;
};

// Statistics of the current epoch (filled as the batcher goes; after next()
// returned false they describe the whole epoch until the next call).
struct SkipGramStats {
  std::int64_t words_seen = 0;  // vocabulary tokens read
  std::int64_t words_kept = 0;  // after sub-sampling (gensim's "effective words")
  std::int64_t pairs = 0;
};

// Walks the sentences in order; for each sentence, sub-samples, then for each
// kept position draws its window and emits its pairs (and their negatives).
// The same seed gives the same batches.
class SkipGramBatcher {
 public:
  SkipGramBatcher(const EncodedCorpus& sentences, const Vocabulary& vocab, const SkipGramOptions& options);
  // Fills `batch` with the next up to batch_size pairs; false at the end of
  // the epoch (then the next call starts a new epoch with fresh draws).
  bool next(SkipGramBatch& batch);
  const SkipGramStats& stats() const { return stats_; }
  const SkipGramOptions& options() const { return options_; }
  const NegativeSampler& sampler() const { return sampler_; }

  // Sub-samples one sentence and appends its (input, output) pairs: the
  // building block of next(), and of trainers that do not need tensors.
  // Returns the number of tokens kept.
  static std::int64_t sentence_pairs(const std::vector<std::int32_t>& sentence,
                                     const std::vector<std::uint64_t>& keep_threshold, int window,
                                     FastRandom& random, std::vector<std::int32_t>& kept,
                                     std::vector<std::pair<std::int32_t, std::int32_t>>& pairs);
  // Keep probabilities as thresholds round(p * 2^32): a token is kept when
  // FastRandom::bits32() < its threshold (gensim's sample_int rule), so a
  // probability of 1 always keeps.
  static std::vector<std::uint64_t> keep_thresholds(const std::vector<double>& keep_probability);

 private:
  const EncodedCorpus& sentences_;
  SkipGramOptions options_;
  NegativeSampler sampler_;
  std::vector<std::uint64_t> keep_threshold_;
  FastRandom random_;
  std::size_t sentence_ = 0;
  std::vector<std::int32_t> kept_;
  std::vector<std::pair<std::int32_t, std::int32_t>> pending_;
  std::size_t pending_pos_ = 0;
  SkipGramStats stats_;
  std::int64_t epoch_ = 0;
  bool finished_ = false;
};

}  // namespace tg::data
