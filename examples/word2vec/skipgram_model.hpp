// The Keras-tutorial skip-gram model built from tapegrad's layers, its
// training step on a tape with SGD and a linearly decaying learning rate, and
// the validation model (cosine similarity with Dot(normalize = true)).
//
//   target (None, 1) int64 ──> Embedding "target_embedding" (V, dim) ──> (None, 1, dim) ─┐
//                                                                                       Dot(axes (2, 2)) -> (None, 1, K)
//   context (None, K) int64 ─> Embedding "context_embedding" (V, dim) ─> (None, K, dim) ┘   Reshape (K) -> sigmoid
//
// K = 1 + negative: each row holds a (target, context) pair's positive word
// and its negatives, so one row is one of gensim's per-pair updates. The loss
// is binary cross-entropy summed over the rows and the K outputs (a negative
// equal to the positive has weight 0: gensim skips it), so the gradient of one
// row is exactly gensim's, and SGD with learning rate alpha applies
// alpha times it (gensim's update, summed over the batch instead of applied
// one pair after another).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace w2v {

struct SkipGramModel {
  tg::Ref<tg::layers::Embedding> target_embedding;
  tg::Ref<tg::layers::Embedding> context_embedding;
  tg::Ref<tg::Model> model;       // (target, context) -> sigmoid probabilities (None, K)
  tg::Ref<tg::Model> validation;  // (a, b) -> cosine similarity (None, 1), sharing target_embedding

  SkipGramModel(std::int64_t vocab_size, std::int64_t dim, int negative)
      // gensim's initialization: input vectors uniform in [-1, 1) / dim, output vectors zero.
      : target_embedding(tg::layers::Embedding::make(vocab_size, dim, tg::initializers::random_uniform(-1.0 / dim, 1.0 / dim), tg::float32,
                                                         "target_embedding")),
        context_embedding(
            tg::layers::Embedding::make(vocab_size, dim, tg::initializers::zeros(), tg::float32, "context_embedding")),
        model(build_model(negative)),
        validation(build_validation()) {}

  tg::Tensor vectors() const { return target_embedding->embeddings(); }

 private:
  tg::Ref<tg::Model> build_model(int negative) {
    const std::int64_t K = 1 + negative;
    auto target = tg::Input({1}, tg::int64, "target");
    auto context = tg::Input({K}, tg::int64, "context");
    auto t = target_embedding(target);                               // (None, 1, dim)
    auto c = context_embedding(context);                             // (None, K, dim)
    auto dots = tg::layers::Dot::make({2, 2}, false, "dot")({t, c});       // (None, 1, K)
    auto logits = tg::layers::Reshape::make({K}, "logits")(dots);          // (None, K)
    auto probability = tg::layers::Activation::make("sigmoid", "probability")(logits);
    return tg::Model::make({target, context}, probability, "skipgram");
  }
  tg::Ref<tg::Model> build_validation() {
    auto a = tg::Input({1}, tg::int64, "word_a");
    auto b = tg::Input({1}, tg::int64, "word_b");
    auto cosine = tg::layers::Dot::make({2, 2}, true, "cosine")({target_embedding(a), target_embedding(b)});  // (None, 1, 1)
    return tg::Model::make({a, b}, tg::layers::Reshape::make({1}, "similarity")(cosine), "validation");
  }
};

// The nearest words of `word` by cosine similarity, computed by the validation model.
inline std::vector<std::pair<std::int64_t, float>> nearest(SkipGramModel& m, std::int64_t word, int count) {
  const std::int64_t V = m.target_embedding->input_dim();
  auto a = tg::full({V, 1}, static_cast<double>(word), tg::int64);
  auto b = tg::reshape(tg::arange(0, static_cast<double>(V), 1, tg::int64), {V, 1});
  auto sim = m.validation->predict({a, b}, static_cast<int>(V));
  const float* s = sim.data<float>();
  std::vector<std::pair<std::int64_t, float>> all;
  for (std::int64_t i = 0; i < V; ++i)
    if (i != word) all.emplace_back(i, s[i]);
  const auto k = std::min<std::size_t>(static_cast<std::size_t>(count), all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(),
                    [](const auto& x, const auto& y) { return x.second > y.second; });
  all.resize(k);
  return all;
}

struct KerasEpochStats {
  std::int64_t words = 0, effective_words = 0, pairs = 0, steps = 0;
  double seconds = 0, loss = 0;  // loss: mean per pair over the epoch
};

// One epoch of the tape path: batches from the SkipGramBatcher, one
// GradientTape per batch, sparse gradients of the two tables, SGD on a schedule.
inline KerasEpochStats train_epoch_keras(SkipGramModel& m, tg::data::SkipGramBatcher& batcher,
                                         tg::optimizers::SGD& sgd) {
  const auto start = std::chrono::steady_clock::now();
  tg::losses::BinaryCrossentropy bce(/*from_logits=*/false, tg::losses::Reduction::sum);
  const auto weights = m.model->trainable_weights();
  KerasEpochStats st;
  double loss_sum = 0;
  tg::data::SkipGramBatch batch;
  while (batcher.next(batch)) {
    const std::int64_t n = batch.size, K = batch.outputs.dim(1);
    tg::Tensor loss;
    std::vector<tg::Gradient> grads;
    {
      tg::GradientTape tape;
      auto probability = m.model({tg::reshape(batch.inputs, {n, 1}), batch.outputs}, /*training=*/true);
      // One sample per output, so that a skipped negative can have weight 0.
      loss = bce(tg::reshape(batch.labels, {n * K, 1}), tg::reshape(probability, {n * K, 1}),
                 tg::reshape(batch.weights, {n * K}));
      grads = tape.sparse_gradient(loss, weights);
    }
    sgd.apply_gradients(grads, weights);
    loss_sum += loss.item();
    st.pairs += n;
    ++st.steps;
  }
  st.loss = st.pairs ? loss_sum / static_cast<double>(st.pairs) : 0;
  st.words = batcher.stats().words_seen;
  st.effective_words = batcher.stats().words_kept;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return st;
}

}  // namespace w2v
