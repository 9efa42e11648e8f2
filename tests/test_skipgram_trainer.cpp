// The fused skip-gram trainer (tg::data::SkipGramTrainer, data/skipgram_trainer.cpp):
// gensim's per-pair update checked against a float64 oracle of the formulas
// (by hand on a two-word sentence, with negatives, and over several chunks
// and epochs of a decaying learning rate), gensim's MAX_EXP rule, skipped
// negatives, what training does to co-occurring words, 1-thread determinism,
// 2 threads, and every bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "op_checks.hpp"
#include "tapegrad/data/skipgram_trainer.hpp"

namespace {

using tg::Tensor;
using tg::data::EncodedCorpus;
using tg::data::SkipGramTrainer;
using tg::data::SkipGramTrainerOptions;
using tg::data::Vocabulary;

// ---- a float64 oracle of the update ----------------------------------------------

struct Tables {
  std::int64_t dim = 0;
  std::vector<double> syn0, syn1neg;
  static Tables of(const Tensor& syn0, const Tensor& syn1neg) {
    Tables t;
    t.dim = syn0.dim(1);
    for (float v : syn0.to_vector<float>()) t.syn0.push_back(v);
    for (float v : syn1neg.to_vector<float>()) t.syn1neg.push_back(v);
    return t;
  }
};

// One (input, output) pair: the positive, then the given negatives (those
// equal to the positive skipped); rows whose |l1 . u| >= 6 are left alone.
//   f = l1 . u;  g = (label - sigmoid(f)) * alpha;  neu1e += g u;  u += g l1;  then l1 += neu1e
void reference_pair(Tables& t, std::int32_t input, std::int32_t output, const std::vector<std::int32_t>& negatives,
                    double alpha) {
  const std::int64_t n = t.dim;
  double* l1 = &t.syn0[static_cast<std::size_t>(input * n)];
  std::vector<double> neu1e(static_cast<std::size_t>(n), 0.0);
  std::vector<std::pair<std::int32_t, double>> targets{{output, 1.0}};
  for (auto w : negatives)
    if (w != output) targets.emplace_back(w, 0.0);
  for (auto [target, label] : targets) {
    double* u = &t.syn1neg[static_cast<std::size_t>(target * n)];
    double f = 0;
    for (std::int64_t k = 0; k < n; ++k) f += l1[k] * u[k];
    if (std::abs(f) >= 6) continue;
    const double g = (label - 1.0 / (1.0 + std::exp(-f))) * alpha;
    for (std::int64_t k = 0; k < n; ++k) {
      neu1e[static_cast<std::size_t>(k)] += g * u[k];
      u[k] += g * l1[k];
    }
  }
  for (std::int64_t k = 0; k < n; ++k) l1[k] += neu1e[static_cast<std::size_t>(k)];
}

// The pairs of a sentence when no word is sub-sampled and the window is 1 (the
// dynamic window's only half-width then): for each centre i, its left then
// its right neighbour j, as (input word j, output word i). A two-word
// sentence gives these pairs for any window.
std::vector<std::pair<std::int32_t, std::int32_t>> window1_pairs(const std::vector<std::int32_t>& s) {
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
  const auto n = static_cast<std::int64_t>(s.size());
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j : {i - 1, i + 1})
      if (j >= 0 && j < n) pairs.emplace_back(s[static_cast<std::size_t>(j)], s[static_cast<std::size_t>(i)]);
  return pairs;
}

void check_tables(const Tensor& syn0, const Tensor& syn1neg, const Tables& want, double atol) {
  TG_CHECK_VALUES(syn0, want.syn0, 0.0, atol);
  TG_CHECK_VALUES(syn1neg, want.syn1neg, 0.0, atol);
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.numel()) * sizeof(float)) == 0;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// sigmoid(syn0[a] . syn1neg[b]): the model's probability that b is in a's context.
double probability(const Tensor& syn0, const Tensor& syn1neg, std::int64_t a, std::int64_t b) {
  const std::int64_t n = syn0.dim(1);
  const float* x = syn0.data<float>() + a * n;
  const float* y = syn1neg.data<float>() + b * n;
  double f = 0;
  for (std::int64_t k = 0; k < n; ++k) f += static_cast<double>(x[k]) * y[k];
  return sigmoid(f);
}

bool all_finite(const Tensor& t) {
  const float* p = t.data<float>();
  return std::all_of(p, p + t.numel(), [](float v) { return std::isfinite(v); });
}

double mean_row_norm(const Tensor& t) {
  const std::int64_t rows = t.dim(0), n = t.dim(1);
  const float* p = t.data<float>();
  double sum = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (std::int64_t k = 0; k < n; ++k) s += static_cast<double>(p[r * n + k]) * p[r * n + k];
    sum += std::sqrt(s);
  }
  return sum / static_cast<double>(rows);
}

// Two words, "a" and "b".
Vocabulary two_words() { return Vocabulary::from_counts({"a", "b"}, {1, 1}); }

// A corpus of Zipf-distributed words (about 30,000 tokens, 3 chunks) and its vocabulary.
struct ZipfCorpus {
  Vocabulary vocab;
  EncodedCorpus sentences;
};
ZipfCorpus zipf_corpus() {
  tg::data::FastRandom random(42);
  std::string text;
  const double V = 200;
  for (int s = 0; s < 1500; ++s) {
    const int length = 5 + static_cast<int>(random.below(26));
    for (int k = 0; k < length; ++k) {
      // floor(V^u) for u uniform in [0, 1): word r with probability about 1 / r.
      const auto r = static_cast<int>(std::pow(V, static_cast<double>(random.bits32()) / 4294967296.0));
      text += "w" + std::to_string(r) + (k + 1 < length ? " " : "\n");
    }
  }
  const auto corpus = tg::data::read_corpus_from_memory(text);
  ZipfCorpus z{Vocabulary::build(corpus, 1), {}};
  z.sentences = z.vocab.encode(corpus);
  return z;
}

}  // namespace

TEST_CASE("data skipgram_trainer: one sentence of two words, by hand") {
  // Pairs (input, output) in order: (b, a), then (a, b). No negatives, no
  // sub-sampling, alpha 0.5 (the first chunk's rate is alpha itself). The
  // first pair, l1 = syn0[b] = (0.4, 0.5, -0.6), u = syn1neg[a] = (0.2, 0.1, -0.1):
  //   f = 0.08 + 0.05 + 0.06 = 0.19;  sigmoid(f) = 0.5473576;  g = (1 - 0.5473576) * 0.5 = 0.2263212
  //   u += g l1 = (0.2905285, 0.2131606, -0.2357927);  l1 += g u(old) = (0.4452642, 0.5226321, -0.6226321)
  // The second, l1 = syn0[a] = (0.1, -0.2, 0.3), u = syn1neg[b] = (-0.3, 0.2, 0.4):
  //   f = 0.05;  g = (1 - 0.5124974) * 0.5 = 0.2437513
  //   u = (-0.2756249, 0.1512497, 0.4731254);  l1 = (0.0268746, -0.1512497, 0.3975005)
  const auto vocab = two_words();
  const EncodedCorpus sentences{{0, 1}};
  Tensor syn0({{0.1, -0.2, 0.3}, {0.4, 0.5, -0.6}});
  Tensor syn1neg({{0.2, 0.1, -0.1}, {-0.3, 0.2, 0.4}});
  Tables want = Tables::of(syn0, syn1neg);
  const float* buffer = syn0.data<float>();
  for (int window : {1, 5}) {
    CAPTURE(window);
    Tensor s0 = syn0.clone(), s1 = syn1neg.clone();
    SkipGramTrainer trainer(sentences, vocab, s0, s1, {.window = window, .negative = 0, .sample = 0, .alpha = 0.5}, 1);
    const auto st = trainer.train_epoch(0);
    CHECK(st.words == 2);
    CHECK(st.effective_words == 2);
    CHECK(st.pairs == 2);
    TG_CHECK_VALUES(s0, {0.0268746, -0.1512497, 0.3975005, 0.4452642, 0.5226321, -0.6226321}, 0.0, 1e-6);
    TG_CHECK_VALUES(s1, {0.2905285, 0.2131606, -0.2357927, -0.2756249, 0.1512497, 0.4731254}, 0.0, 1e-6);
    // The trainer wrote into the tensors it was given (the same tensors, not copies).
    CHECK(trainer.syn0().id() == s0.id());
    CHECK(trainer.syn1neg().id() == s1.id());
  }
  // The float64 oracle of the formulas gives the same tables.
  for (auto [input, output] : window1_pairs(sentences[0])) reference_pair(want, input, output, {}, 0.5);
  CHECK(syn0.data<float>() == buffer);
  SkipGramTrainer trainer(sentences, vocab, syn0, syn1neg, {.negative = 0, .sample = 0, .alpha = 0.5}, 1);
  trainer.train_epoch(0);
  check_tables(syn0, syn1neg, want, 1e-7);
  CHECK(syn0.data<float>() == buffer);  // in place
}

TEST_CASE("data skipgram_trainer: a pair with |l1 . u| >= 6 leaves its rows alone (gensim's MAX_EXP)") {
  const auto vocab = two_words();
  const EncodedCorpus sentences{{0, 1}};
  // Pair (b, a): syn0[b] . syn1neg[a]; pair (a, b): syn0[a] . syn1neg[b].
  for (double scale : {1.0, -1.0}) {
    CAPTURE(scale);
    // f = +-6 exactly (2*2 + 1*1 + 1*1, exact in float32) and +-8: no pair trains.
    Tensor syn0({{2.0, 2.0, 0.0}, {2.0, 1.0, 1.0}});
    Tensor syn1neg({{2.0 * scale, 1.0 * scale, 1.0 * scale}, {2.0 * scale, 2.0 * scale, 0.0}});
    const Tensor before0 = syn0.clone(), before1 = syn1neg.clone();
    SkipGramTrainer(sentences, vocab, syn0, syn1neg, {.negative = 0, .sample = 0, .alpha = 0.5}, 1).train_epoch(0);
    CHECK(bitwise_equal(syn0, before0));
    CHECK(bitwise_equal(syn1neg, before1));
  }
  // The rule is per pair: (b, a) has f = 6.5 and is skipped, (a, b) has f = 0.05 and trains.
  Tensor syn0({{0.1, -0.2, 0.3}, {2.0, 1.5, 1.0}});
  Tensor syn1neg({{2.0, 1.0, 1.0}, {-0.3, 0.2, 0.4}});
  Tables want = Tables::of(syn0, syn1neg);
  for (auto [input, output] : window1_pairs(sentences[0])) reference_pair(want, input, output, {}, 0.5);
  SkipGramTrainer(sentences, vocab, syn0, syn1neg, {.negative = 0, .sample = 0, .alpha = 0.5}, 1).train_epoch(0);
  CHECK(syn0.at({1, 0}) == 2.0);
  CHECK(syn1neg.at({0, 0}) == 2.0);
  CHECK(syn0.at({0, 0}) != doctest::Approx(0.1));
  check_tables(syn0, syn1neg, want, 1e-7);
}

TEST_CASE("data skipgram_trainer: negatives by hand, and a negative equal to the positive is skipped") {
  // Counts such that every draw is word 0: with cum_table's rounding, word 1's
  // share of 2^31 - 1 (1 / (1 + 1e13^0.75)) rounds to nothing.
  const auto vocab = Vocabulary::from_counts({"a", "b"}, {10'000'000'000'000, 1});
  const SkipGramTrainerOptions options{.window = 1, .negative = 2, .sample = 0, .alpha = 0.5};
  SUBCASE("negatives train with label 0") {
    // "b b": pairs (b, b) twice; each: the positive b, then the negatives a, a.
    const EncodedCorpus sentences{{1, 1}};
    Tensor syn0({{0.1, -0.2, 0.3}, {0.4, 0.5, -0.6}});
    Tensor syn1neg({{0.2, 0.1, -0.1}, {-0.3, 0.2, 0.4}});
    Tables want = Tables::of(syn0, syn1neg);
    for (auto [input, output] : window1_pairs(sentences[0])) reference_pair(want, input, output, {0, 0}, 0.5);
    const auto st = SkipGramTrainer(sentences, vocab, syn0, syn1neg, options, 1).train_epoch(0);
    CHECK(st.pairs == 2);
    check_tables(syn0, syn1neg, want, 1e-7);
    // Label 0 pushes the negative's row away: sigmoid(syn0[b] . syn1neg[a]) falls below its start (0.547).
    CHECK(probability(syn0, syn1neg, 1, 0) < sigmoid(0.19));
  }
  SUBCASE("a negative equal to the positive is skipped, not trained as label 0") {
    // "a a": every negative drawn is a, the positive: the tables end as with negative = 0.
    const EncodedCorpus sentences{{0, 0}};
    Tensor syn0 = tg::uniform({2, 5}, -0.5, 0.5, 3), syn1neg = tg::uniform({2, 5}, -0.5, 0.5, 4);
    Tensor no_negatives0 = syn0.clone(), no_negatives1 = syn1neg.clone();
    SkipGramTrainer(sentences, vocab, syn0, syn1neg, options, 1).train_epoch(0);
    auto without = options;
    without.negative = 0;
    SkipGramTrainer(sentences, vocab, no_negatives0, no_negatives1, without, 1).train_epoch(0);
    CHECK(bitwise_equal(syn0, no_negatives0));
    CHECK(bitwise_equal(syn1neg, no_negatives1));
  }
}

TEST_CASE("data skipgram_trainer: the learning rate decays per chunk and across epochs") {
  const auto vocab = two_words();
  SUBCASE("the schedule") {
    const EncodedCorpus sentences{{0, 1}};
    Tensor syn0 = tg::zeros({2, 3}), syn1neg = tg::zeros({2, 3});
    SkipGramTrainer trainer(sentences, vocab, syn0, syn1neg, {.alpha = 0.5, .min_alpha = 0.1}, 2);
    CHECK(trainer.words_per_epoch() == 2);
    // max(min_alpha, alpha - (alpha - min_alpha) * words_done / (epochs * words_per_epoch)), as a float.
    CHECK(trainer.learning_rate(0) == 0.5f);
    CHECK(trainer.learning_rate(1) == static_cast<float>(0.5 - 0.4 * 0.25));
    CHECK(trainer.learning_rate(2) == static_cast<float>(0.5 - 0.4 * 0.5));
    CHECK(trainer.learning_rate(4) == 0.1f);
    CHECK(trainer.learning_rate(9) == 0.1f);  // never below min_alpha
  }
  SUBCASE("epoch 1 trains at the rate of the words done before it") {
    const EncodedCorpus sentences{{0, 1}};
    Tensor syn0({{0.1, -0.2, 0.3}, {0.4, 0.5, -0.6}});
    Tensor syn1neg({{0.2, 0.1, -0.1}, {-0.3, 0.2, 0.4}});
    Tables want = Tables::of(syn0, syn1neg);
    for (double alpha : {0.5, static_cast<double>(static_cast<float>(0.3))})  // 0.5 - (0.5 - 0.1) * 2 / 4
      for (auto [input, output] : window1_pairs(sentences[0])) reference_pair(want, input, output, {}, alpha);
    SkipGramTrainer trainer(sentences, vocab, syn0, syn1neg,
                            {.negative = 0, .sample = 0, .alpha = 0.5, .min_alpha = 0.1}, 2);
    for (int epoch = 0; epoch < 2; ++epoch) {
      const auto st = trainer.train_epoch(epoch);
      CHECK(st.words == 2);  // each epoch counts its own words
      CHECK(st.pairs == 2);
    }
    check_tables(syn0, syn1neg, want, 1e-6);
  }
  SUBCASE("chunks of at least 10,000 words of whole sentences, each at the rate of its start") {
    // 5 sentences of 4,000 words: chunks [0, 3) (12,000 words) and [3, 5) (8,000).
    // Window 1, no negatives, no sub-sampling: the pairs are known and the
    // oracle can follow the whole schedule of 2 epochs x 2 chunks.
    const auto five = Vocabulary::from_counts({"a", "b", "c", "d", "e"}, {1, 1, 1, 1, 1});
    EncodedCorpus sentences(5);
    tg::data::FastRandom random(7);
    for (auto& s : sentences)
      for (int k = 0; k < 4000; ++k) s.push_back(static_cast<std::int32_t>(random.below(5)));
    const double alpha = 1e-3, min_alpha = 1e-4;
    Tensor syn0 = tg::uniform({5, 4}, -0.5, 0.5, 11), syn1neg = tg::uniform({5, 4}, -0.5, 0.5, 12);
    const Tables start = Tables::of(syn0, syn1neg);
    SkipGramTrainer trainer(sentences, five, syn0, syn1neg,
                            {.window = 1, .negative = 0, .sample = 0, .alpha = alpha, .min_alpha = min_alpha}, 2);
    CHECK(trainer.chunks() == 2);
    CHECK(trainer.words_per_epoch() == 20000);
    for (int epoch = 0; epoch < 2; ++epoch) trainer.train_epoch(epoch);
    // The oracle with the rate of each chunk's start (per_chunk), or one rate per epoch, or no decay.
    auto oracle = [&](auto rate_at) {
      Tables t = start;
      const std::size_t chunk_starts[] = {0, 3, 5};
      for (int epoch = 0; epoch < 2; ++epoch)
        for (int c = 0; c < 2; ++c) {
          const std::int64_t done = epoch * 20000 + static_cast<std::int64_t>(chunk_starts[c]) * 4000;
          const double rate = static_cast<float>(rate_at(done));
          for (std::size_t s = chunk_starts[c]; s < chunk_starts[c + 1]; ++s)
            for (auto [input, output] : window1_pairs(sentences[s])) reference_pair(t, input, output, {}, rate);
        }
      return t;
    };
    const Tables per_chunk = oracle([&](std::int64_t done) { return alpha - (alpha - min_alpha) * done / 40000.0; });
    const Tables per_epoch =
        oracle([&](std::int64_t done) { return alpha - (alpha - min_alpha) * (done / 20000) * 20000 / 40000.0; });
    const Tables constant = oracle([&](std::int64_t) { return alpha; });
    check_tables(syn0, syn1neg, per_chunk, 2e-5);  // float32 against float64: 7e-6 here, on changes of up to 1.5
    // Those schedules are told apart: the tables differ from the others by far more than the tolerance.
    auto largest_difference = [](const Tables& a, const Tables& b) {
      double d = 0;
      for (std::size_t i = 0; i < a.syn0.size(); ++i) d = std::max(d, std::abs(a.syn0[i] - b.syn0[i]));
      return d;
    };
    CHECK(largest_difference(per_chunk, per_epoch) > 1e-3);
    CHECK(largest_difference(per_chunk, constant) > 1e-2);
  }
}

TEST_CASE("data skipgram_trainer: training pulls co-occurring words together and pushes the others apart") {
  // 8 words in 4 couples; each sentence is one couple: "w0 w1", "w2 w3", ...
  std::vector<std::string> words;
  for (int w = 0; w < 8; ++w) words.push_back("w" + std::to_string(w));
  const auto vocab = Vocabulary::from_counts(words, std::vector<std::int64_t>(8, 250));
  EncodedCorpus sentences;
  for (int r = 0; r < 250; ++r)
    for (std::int32_t c = 0; c < 4; ++c) sentences.push_back({2 * c, 2 * c + 1});
  const std::int64_t dim = 16;
  Tensor syn0 = tg::uniform({8, dim}, -0.5 / dim, 0.5 / dim, 5), syn1neg = tg::zeros({8, dim});
  const int epochs = 5;
  SkipGramTrainer trainer(sentences, vocab, syn0, syn1neg, {.window = 1, .negative = 5, .sample = 0}, epochs);
  for (int epoch = 0; epoch < epochs; ++epoch) trainer.train_epoch(epoch);
  double lowest_couple = 1, highest_other = 0;
  for (std::int64_t a = 0; a < 8; ++a)
    for (std::int64_t b = 0; b < 8; ++b) {
      const double p = probability(syn0, syn1neg, a, b);
      if ((a ^ 1) == b) lowest_couple = std::min(lowest_couple, p);
      else highest_other = std::max(highest_other, p);
    }
  CAPTURE(lowest_couple);
  CAPTURE(highest_other);
  CHECK(lowest_couple > 0.9);  // every word's partner: from 0.5 (syn1neg starts at zero)
  CHECK(highest_other < 0.2);  // every other word, the word itself included
}

TEST_CASE("data skipgram_trainer: on 1 thread the seed determines the tables") {
  const auto z = zipf_corpus();
  REQUIRE(z.vocab.size() > 100);
  const std::int64_t dim = 24;
  const Tensor init0 = tg::uniform({z.vocab.size(), dim}, -0.5 / dim, 0.5 / dim, 1);
  const Tensor init1 = tg::zeros({z.vocab.size(), dim});
  auto train = [&](std::uint64_t seed) {
    Tensor syn0 = init0.clone(), syn1neg = init1.clone();
    SkipGramTrainer trainer(z.sentences, z.vocab, syn0, syn1neg, {.seed = seed}, 2);
    REQUIRE(trainer.chunks() >= 3);
    for (int epoch = 0; epoch < 2; ++epoch) trainer.train_epoch(epoch);
    return std::vector<Tensor>{syn0, syn1neg};
  };
  const auto a = train(1), b = train(1), c = train(2);
  CHECK(bitwise_equal(a[0], b[0]));
  CHECK(bitwise_equal(a[1], b[1]));
  CHECK_FALSE(bitwise_equal(a[0], c[0]));
  CHECK_FALSE(bitwise_equal(a[1], c[1]));
  CHECK_FALSE(bitwise_equal(a[0], init0));
}

TEST_CASE("data skipgram_trainer: 2 threads train every chunk once and merge their hot rows") {
  const auto z = zipf_corpus();
  const std::int64_t dim = 24, V = z.vocab.size();
  const Tensor init0 = tg::uniform({V, dim}, -0.5 / dim, 0.5 / dim, 1);
  auto train = [&](SkipGramTrainerOptions options) {
    Tensor syn0 = init0.clone(), syn1neg = tg::zeros({V, dim});
    SkipGramTrainer trainer(z.sentences, z.vocab, syn0, syn1neg, options, 2);
    std::vector<tg::data::SkipGramEpochStats> stats;
    for (int epoch = 0; epoch < 2; ++epoch) stats.push_back(trainer.train_epoch(epoch));
    return std::make_tuple(syn0, syn1neg, stats, trainer.words_per_epoch());
  };
  const auto [one0, one1, one_stats, words] = train({.threads = 1});
  // hot_rows 512 > V: every row is private to each thread between merges; 16:
  // the frequent words' rows only; 0: plain hogwild.
  for (int hot_rows : {512, 16, 0}) {
    CAPTURE(hot_rows);
    const auto [two0, two1, two_stats, two_words] = train({.threads = 2, .hot_rows = hot_rows});
    CHECK(all_finite(two0));
    CHECK(all_finite(two1));
    for (int epoch = 0; epoch < 2; ++epoch) {
      CAPTURE(epoch);
      const auto& s1 = one_stats[static_cast<std::size_t>(epoch)];
      const auto& s2 = two_stats[static_cast<std::size_t>(epoch)];
      CHECK(s2.words == words);  // each sentence read once
      CHECK(s1.words == words);
      // The threads draw other random numbers (sub-sampling, windows): the
      // same counts up to sampling noise (1.2% at most seen here).
      CHECK(std::abs(static_cast<double>(s2.effective_words - s1.effective_words)) < 0.05 * s1.effective_words);
      CHECK(std::abs(static_cast<double>(s2.pairs - s1.pairs)) < 0.05 * s1.pairs);
    }
    // Training happened and reached the shared tables (a lost merge would
    // leave the hot rows of syn1neg at zero): vector lengths as on 1 thread.
    CHECK(mean_row_norm(two0) == doctest::Approx(mean_row_norm(one0)).epsilon(0.1));
    CHECK(mean_row_norm(two1) == doctest::Approx(mean_row_norm(one1)).epsilon(0.1));
    const float* hot = two1.data<float>();  // the most frequent word's context row
    CHECK(std::any_of(hot, hot + dim, [](float v) { return v != 0.0f; }));
  }
  // Without sub-sampling and with window 1, the counts are exact on any number of threads.
  std::int64_t pairs = 0;
  for (const auto& s : z.sentences) pairs += 2 * (static_cast<std::int64_t>(s.size()) - 1);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    const auto [s0, s1, stats, w] = train({.window = 1, .sample = 0, .threads = threads});
    for (const auto& st : stats) {
      CHECK(st.words == w);
      CHECK(st.effective_words == w);
      CHECK(st.pairs == pairs);
    }
  }
}

TEST_CASE("data skipgram_trainer: bad inputs name the trainer, what was expected and what was received") {
  const auto vocab = two_words();
  const EncodedCorpus sentences{{0, 1, 1, 0}};
  auto error = [&](const Tensor& syn0, const Tensor& syn1neg, SkipGramTrainerOptions options = {}, int epochs = 1) {
    return tgtest::error_of([&] { SkipGramTrainer(sentences, vocab, syn0, syn1neg, options, epochs); });
  };
  const Tensor ok0 = tg::zeros({2, 3}), ok1 = tg::zeros({2, 3});
  CHECK(error(ok0, ok1).empty());
  CHECK_THROWS_AS(SkipGramTrainer(sentences, vocab, tg::zeros({2, 3}, tg::float64), ok1, {}, 1), std::invalid_argument);

  // The tables.
  CHECK_CONTAINS(error(tg::zeros({2, 3}, tg::float64), ok1), "SkipGramTrainer: syn0 must be float32, received float64");
  CHECK_CONTAINS(error(ok0, tg::zeros({2, 3}, tg::int64)), "SkipGramTrainer: syn1neg must be float32, received int64");
  CHECK_CONTAINS(error(Tensor(), ok1), "SkipGramTrainer: syn0 is an undefined tensor");
  CHECK_CONTAINS(error(tg::zeros({6}), ok1),
                 "SkipGramTrainer: syn0 must have rank 2 (vocabulary size, dim), received shape (6,)");
  CHECK_CONTAINS(error(ok0, tg::zeros({2, 3, 1})),
                 "SkipGramTrainer: syn1neg must have rank 2 (vocabulary size, dim), received shape (2, 3, 1)");
  CHECK_CONTAINS(error(tg::zeros({3, 3}), ok1),
                 "SkipGramTrainer: syn0 must have one row per vocabulary word (2), received shape (3, 3)");
  CHECK_CONTAINS(error(ok0, tg::zeros({1, 3})),
                 "SkipGramTrainer: syn1neg must have one row per vocabulary word (2), received shape (1, 3)");
  CHECK_CONTAINS(error(ok0, tg::zeros({2, 4})),
                 "SkipGramTrainer: syn0 and syn1neg must have the same shape, received (2, 3) and (2, 4)");
  CHECK_CONTAINS(error(tg::zeros({2, 0}), tg::zeros({2, 0})),
                 "SkipGramTrainer: syn0 must have dim >= 1, received shape (2, 0)");
  CHECK_CONTAINS(error(ok0, ok0), "SkipGramTrainer: syn0 and syn1neg must be two different tensors");
  CHECK_CONTAINS(error(ok0, tg::reshape(ok0, {2, 3})), "SkipGramTrainer: syn0 and syn1neg must be two different");

  // The options and the epochs.
  CHECK_CONTAINS(error(ok0, ok1, {.window = 0}), "SkipGramTrainer: window must be >= 1, received 0");
  CHECK_CONTAINS(error(ok0, ok1, {.negative = -1}), "SkipGramTrainer: negative must be >= 0, received -1");
  CHECK_CONTAINS(error(ok0, ok1, {.sample = -1e-3}),
                 "SkipGramTrainer: sample must be a finite number >= 0, received -0.001");
  CHECK_CONTAINS(error(ok0, ok1, {.sample = INFINITY}), "sample must be a finite number >= 0, received inf");
  CHECK_CONTAINS(error(ok0, ok1, {.alpha = 0}), "SkipGramTrainer: alpha must be a finite number > 0, received 0");
  CHECK_CONTAINS(error(ok0, ok1, {.alpha = -0.1}), "alpha must be a finite number > 0, received -0.1");
  CHECK_CONTAINS(error(ok0, ok1, {.alpha = NAN}), "alpha must be a finite number > 0, received nan");
  CHECK_CONTAINS(error(ok0, ok1, {.alpha = INFINITY}), "alpha must be a finite number > 0, received inf");
  CHECK_CONTAINS(error(ok0, ok1, {.min_alpha = -1e-4}),
                 "SkipGramTrainer: min_alpha must be in [0, alpha] = [0, 0.025], received -1e-04");
  CHECK_CONTAINS(error(ok0, ok1, {.alpha = 0.01, .min_alpha = 0.02}),
                 "min_alpha must be in [0, alpha] = [0, 0.01], received 0.02");
  CHECK_CONTAINS(error(ok0, ok1, {.min_alpha = NAN}), "min_alpha must be in [0, alpha] = [0, 0.025], received nan");
  CHECK(error(ok0, ok1, {.alpha = 0.01, .min_alpha = 0.01}).empty());  // a constant rate
  CHECK_CONTAINS(error(ok0, ok1, {.threads = 0}), "SkipGramTrainer: threads must be >= 1, received 0");
  CHECK_CONTAINS(error(ok0, ok1, {.hot_rows = -1}), "SkipGramTrainer: hot_rows must be >= 0, received -1");
  CHECK_CONTAINS(error(ok0, ok1, {.sync_words = 0}), "SkipGramTrainer: sync_words must be >= 1, received 0");
  CHECK_CONTAINS(error(ok0, ok1, {}, 0), "SkipGramTrainer: epochs must be >= 1, received 0");

  // The corpus and the vocabulary.
  const EncodedCorpus outside{{0, 1}, {1, 2, 0}};
  CHECK_CONTAINS(tgtest::error_of([&] { SkipGramTrainer(outside, vocab, ok0, ok1, {}, 1); }),
                 "SkipGramTrainer: sentence 1 holds index 2, outside the vocabulary of 2 words (expected indices "
                 "in [0, 2))");
  const EncodedCorpus negative_index{{-1}};
  CHECK_CONTAINS(tgtest::error_of([&] { SkipGramTrainer(negative_index, vocab, ok0, ok1, {}, 1); }),
                 "SkipGramTrainer: sentence 0 holds index -1, outside the vocabulary of 2 words");
  const auto one_word = Vocabulary::from_counts({"amen"}, {4});
  const EncodedCorpus amen{{0, 0, 0, 0}};
  Tensor one0 = tg::zeros({1, 3}), one1 = tg::zeros({1, 3});
  CHECK_CONTAINS(tgtest::error_of([&] { SkipGramTrainer(amen, one_word, one0, one1, {}, 1); }),
                 "SkipGramTrainer: negative sampling needs at least 2 words in the vocabulary, received 1 (use "
                 "negative = 0, or a larger vocabulary)");
  CHECK(tgtest::error_of([&] { SkipGramTrainer(amen, one_word, one0, one1, {.negative = 0}, 1).train_epoch(0); })
            .empty());

  // train_epoch's epoch.
  SkipGramTrainer trainer(sentences, vocab, ok0, ok1, {}, 2);
  CHECK_CONTAINS(tgtest::error_of([&] { trainer.train_epoch(2); }),
                 "SkipGramTrainer::train_epoch: epoch must be in [0, 2) (the trainer was made for 2 epochs), "
                 "received 2");
  CHECK_CONTAINS(tgtest::error_of([&] { trainer.train_epoch(-1); }), "epoch must be in [0, 2)");
  CHECK_THROWS_AS(trainer.train_epoch(2), std::invalid_argument);
  CHECK_NOTHROW(trainer.train_epoch(1));
}
