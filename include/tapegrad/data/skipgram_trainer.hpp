// The fused skip-gram negative-sampling trainer: gensim's per-pair update
// (word2vec_inner.pyx, fast_sentence_sg_neg) written as one loop over the two
// embedding tables, with hogwild threads as gensim's workers. It trains the
// tables in place, so they can be the weights of Keras-style Embedding layers
// (examples/word2vec.cpp trains the Keras-tutorial model's tables this way).
//
//   auto vocab = tg::data::Vocabulary::build(corpus, 5);
//   auto sentences = vocab.encode(corpus);                       // must outlive the trainer
//   tg::Tensor syn0 = tg::uniform({vocab.size(), 100}, -0.01, 0.01, 1);  // target table (the vectors)
//   tg::Tensor syn1neg = tg::zeros({vocab.size(), 100});                 // context table
//   tg::data::SkipGramTrainer trainer(sentences, vocab, syn0, syn1neg, {.threads = 2}, 5);
//   for (int epoch = 0; epoch < 5; ++epoch) trainer.train_epoch(epoch);
//
// Why a second path beside a model on a tape: the tape builds a batch of
// tensors, records ~10 ops, runs their backward, sorts the sparse rows and
// applies SGD; per pair of words that is ~20x more memory traffic than the
// update itself (6 dot products and 7 axpys of 100 floats, all in L1/L2).
// gensim's speed is only reachable by the direct loop (bench/word2vec.cpp
// measures both).
//
// The update. For each (input word j, output word i) pair of
// SkipGramBatcher::sentence_pairs, with l1 = syn0[j] and neu1e = 0:
//   for the positive i (label 1), then `negative` draws from count^0.75
//   (label 0; a draw equal to i is skipped, not redrawn, as in gensim):
//     u = syn1neg[target];  f = l1 . u;  if |f| >= 6: next (gensim's MAX_EXP)
//     g = (label - sigmoid(f)) * alpha;  neu1e += g u;  u += g l1
//   l1 += neu1e
// The learning rate decays linearly from alpha to min_alpha with the words
// processed over all epochs (learning_rate()), updated once per chunk of
// about 10,000 words (whole sentences: gensim's job size).
//
// Threads: the chunks are shared out to `threads` threads that update the
// tables without locks (hogwild, as gensim's workers; the result then depends
// on the interleaving). With one thread the result is fully determined by the
// seed. With several, each thread keeps private copies of the rows of the
// `hot_rows` most frequent words (in both tables) and adds its changes to the
// shared rows every `sync_words` words: otherwise the few rows that are the
// outputs of most negatives bounce between the cores' caches and 2 threads
// run slower than 1. Another thread then sees a hot row's changes up to
// `sync_words` words late.
//
// Errors: std::invalid_argument naming SkipGramTrainer, what was expected and
// what was received.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"
#include "tapegrad/data/word2vec.hpp"

namespace tg::data {

struct SkipGramTrainerOptions {
  int window = 5;             // >= 1: the dynamic window's largest half-width
  int negative = 5;           // >= 0: negatives per pair
  double sample = 1e-3;       // >= 0: sub-sampling threshold (0 keeps every word)
  double alpha = 0.025;       // > 0: the first learning rate
  double min_alpha = 0.0001;  // in [0, alpha]: the last one
  int threads = 1;            // >= 1
  std::uint64_t seed = 1;
  int hot_rows = 512;         // >= 0: rows kept per thread when threads > 1 (0: plain hogwild)
  int sync_words = 500;       // >= 1: words between a thread's merges of its hot rows
};

struct SkipGramEpochStats {
  std::int64_t words = 0;            // vocabulary tokens read
  std::int64_t effective_words = 0;  // kept after sub-sampling (gensim's "effective words")
  std::int64_t pairs = 0;            // (input, output) pairs trained
  double seconds = 0;
};

class SkipGramTrainer {
 public:
  // `syn0` (the target table, whose rows are the word vectors) and `syn1neg`
  // (the context table): float32, shape (vocab.size(), dim), two different
  // tensors; they are updated in place (the trainer keeps handles to them, so
  // every handle to the same tensors sees the training). `sentences` must
  // outlive the trainer; `epochs` (>= 1) is the length of the learning-rate
  // schedule.
  SkipGramTrainer(const EncodedCorpus& sentences, const Vocabulary& vocab, Tensor syn0, Tensor syn1neg,
                  const SkipGramTrainerOptions& options, int epochs);
  // The trainer keeps a reference to the sentences: a temporary would dangle.
  SkipGramTrainer(EncodedCorpus&& sentences, const Vocabulary& vocab, Tensor syn0, Tensor syn1neg,
                  const SkipGramTrainerOptions& options, int epochs) = delete;

  // One pass over the sentences; `epoch` in [0, epochs) places it in the
  // learning-rate schedule and seeds its random streams.
  SkipGramEpochStats train_epoch(int epoch);

  // The learning rate after `words_done` words of the whole schedule
  // (epochs x words_per_epoch()):
  //   max(min_alpha, alpha - (alpha - min_alpha) * words_done / (epochs * words_per_epoch))
  // Each chunk is trained at the rate of the words done when it starts.
  float learning_rate(std::int64_t words_done) const;

  std::int64_t words_per_epoch() const { return words_per_epoch_; }
  // The number of chunks an epoch is cut into (the units of the schedule and of the threads' work).
  std::int64_t chunks() const { return static_cast<std::int64_t>(chunk_starts_.size()) - 1; }
  const SkipGramTrainerOptions& options() const { return options_; }
  int epochs() const { return epochs_; }
  const Tensor& syn0() const { return syn0_; }
  const Tensor& syn1neg() const { return syn1neg_; }

 private:
  const EncodedCorpus& sentences_;
  std::optional<NegativeSampler> sampler_;  // none when negative == 0
  std::vector<std::uint64_t> keep_;         // SkipGramBatcher::keep_thresholds
  Tensor syn0_, syn1neg_;
  std::int64_t vocab_size_ = 0;
  std::int64_t dim_ = 0;
  SkipGramTrainerOptions options_;
  int epochs_ = 1;
  std::vector<std::size_t> chunk_starts_;  // sentence indices; the last is sentences.size()
  std::int64_t words_per_epoch_ = 0;
};

}  // namespace tg::data
