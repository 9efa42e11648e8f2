// W5: word2vec skip-gram with negative sampling on the KJV corpus, gensim's
// settings (dim 100, window 5, negative 5, sample 1e-3, min_count 5), one
// epoch per repetition on freshly initialized tables; words per second.
//
//   impl "tapegrad":       the fused hogwild trainer (tg::data::SkipGramTrainer),
//                          TAPEGRAD_NUM_THREADS (or OPENBLAS_NUM_THREADS) threads;
//   impl "tapegrad_keras": the Keras-tutorial model on a tape, SGD on a schedule
//                          (examples/word2vec/skipgram_model.hpp), one thread, batches of 128 pairs.
// median_ms is one epoch's training time (vocabulary excluded, as gensim's
// train()); words_per_s counts the corpus's vocabulary words (gensim's "raw
// words" minus the words below min_count), effective_words_per_s those left
// after sub-sampling (what gensim's log calls effective words/s).
//
//   build-bench/bench/bench_word2vec [repetitions] [corpus]   (default: build/data/kjv.txt,
//   prepared by scripts/prepare_kjv.sh when missing)
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "../examples/word2vec/skipgram_model.hpp"
#include "bench_util.hpp"
#include "tapegrad/tapegrad.hpp"

namespace {

struct Rates {
  std::vector<double> ms, words_per_s, effective_per_s;
  void add(double seconds, std::int64_t words, std::int64_t effective) {
    ms.push_back(seconds * 1e3);
    words_per_s.push_back(words / seconds);
    effective_per_s.push_back(effective / seconds);
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void report(const char* impl, int threads, const Rates& r) {
  bench::Timings t;
  t.repetitions = static_cast<int>(r.ms.size());
  t.median_ms = median(r.ms);
  t.min_ms = *std::min_element(r.ms.begin(), r.ms.end());
  t.max_ms = *std::max_element(r.ms.begin(), r.ms.end());
  char extra[160];
  std::snprintf(extra, sizeof extra, "\"words_per_s\":%.0f,\"effective_words_per_s\":%.0f", median(r.words_per_s),
                median(r.effective_per_s));
  bench::print_json("word2vec", impl, threads, t, extra);
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  int reps = 5;
  const fs::path root = fs::path(__FILE__).parent_path().parent_path();
  std::string corpus_path;
  CLI::App app{"word2vec: words per second of the fused and the Keras-style trainers; prints JSON lines.",
               "bench_word2vec"};
  app.add_option("repetitions", reps, "timed epochs per trainer (the median is reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("corpus", corpus_path, "the corpus (default: build/data/kjv.txt, made by scripts/prepare_kjv.sh)");
  CLI11_PARSE(app, argc, argv);
  const bool default_corpus = corpus_path.empty();
  if (default_corpus) corpus_path = (root / "build/data/kjv.txt").string();
  if (default_corpus && !fs::exists(corpus_path)) {
    const std::string cmd = "bash '" + (root / "scripts/prepare_kjv.sh").string() + "' '" + corpus_path + "' >&2";
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "bench_word2vec: no corpus at %s and scripts/prepare_kjv.sh failed\n", corpus_path.c_str());
      return 1;
    }
  }
  const char* env = std::getenv("TAPEGRAD_NUM_THREADS");
  const int threads = env ? std::max(1, std::atoi(env)) : bench::threads_from_env();

  const auto corpus = tg::data::read_corpus(corpus_path);
  const auto vocab = tg::data::Vocabulary::build(corpus, 5);
  const auto sentences = vocab.encode(corpus);
  const std::int64_t V = vocab.size(), dim = 100;

  // The fused trainer, fresh tables each repetition (gensim's initialization).
  Rates fused;
  for (int r = 0; r < reps + 1; ++r) {
    tg::Tensor syn0 = tg::uniform({V, dim}, -1.0 / dim, 1.0 / dim, static_cast<std::uint64_t>(r + 1));
    tg::Tensor syn1 = tg::zeros({V, dim});
    tg::data::SkipGramTrainer trainer(sentences, vocab, syn0, syn1,
                                      {.threads = threads, .seed = static_cast<std::uint64_t>(r + 1)}, 1);
    const auto st = trainer.train_epoch(0);
    if (r > 0) fused.add(st.seconds, st.words, st.effective_words);  // the first run warms up
  }
  report("tapegrad", threads, fused);

  // The tape path: one thread whatever the setting (its ops run on one core).
  Rates keras;
  for (int r = 0; r < std::max(1, reps / 2); ++r) {
    tg::set_seed(static_cast<std::uint64_t>(r + 1));
    w2v::SkipGramModel m(V, dim, 5);
    const tg::data::SkipGramOptions o{.batch_size = 128, .seed = static_cast<std::uint64_t>(r + 1)};
    tg::data::SkipGramBatcher counter(sentences, vocab, o), batcher(sentences, vocab, o);
    tg::data::SkipGramBatch b;
    std::int64_t steps = 0;
    while (counter.next(b)) ++steps;
    tg::optimizers::SGD sgd(tg::optimizers::LinearDecay(0.025, 0.0001, steps));
    const auto st = w2v::train_epoch_keras(m, batcher, sgd);
    keras.add(st.seconds, st.words, st.effective_words);
  }
  report("tapegrad_keras", threads, keras);
  return 0;
}
