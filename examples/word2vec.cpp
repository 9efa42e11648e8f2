// word2vec: skip-gram with negative sampling on a text corpus, with gensim's
// defaults, as the classic Keras tutorial builds it from layers (target and
// context Embeddings, a Dot merge, a sigmoid output, binary cross-entropy) and
// a validation model sharing the embeddings that lists the nearest words of
// probe words by cosine similarity (Dot(normalize = true)).
//
//   scripts/prepare_kjv.sh                       # build/data/kjv.txt, the default corpus
//   build/examples/word2vec                      # 1 epoch on the KJV, the tape path
//   build/examples/word2vec --trainer fused --threads 2 --epochs 5
//   build/examples/word2vec --corpus my.txt --out my_vectors --min-count 2
//
// Two trainers of the same model (same tables, same outputs):
//   --trainer keras (default)  one GradientTape per batch of pairs, sparse
//                              gradients, tg::optimizers::SGD on a LinearDecay schedule;
//   --trainer fused            gensim's per-pair update in one loop over the two
//                              tables, hogwild threads (--threads): gensim's speed
//                              (tg::data::SkipGramTrainer, tapegrad/data/skipgram_trainer.hpp).
//
// Outputs in --out (default word2vec_out): vectors.txt (word2vec text format,
// KeyedVectors.load_word2vec_format reads it), vocab.txt ("word count", most
// frequent first), vectors.tsv and metadata.tsv (https://projector.tensorflow.org: Load).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tapegrad/tapegrad.hpp"
#include "word2vec/skipgram_model.hpp"

namespace {

struct Args {
  std::string corpus = "build/data/kjv.txt";
  std::string out = "word2vec_out";
  std::string trainer = "keras";
  int epochs = 1, dim = 100, window = 5, negative = 5, threads = 1, hot_rows = 512, sync_words = 500;
  double sample = 1e-3, alpha = 0.025, min_alpha = 0.0001;
  std::int64_t min_count = 5, batch_size = 128, max_sentences = 0;
  std::uint64_t seed = 1;
  std::vector<std::string> probes{"king", "god", "water", "son", "jerusalem"};
  int neighbours = 8;
};

// The flags and --help, by CLI11. Defaults are gensim's: dim 100, window 5,
// negative 5, sample 1e-3, min_count 5, alpha 0.025 -> 0.0001. Returns the
// exit status of --help or of a bad flag (CLI11 prints its message), or -1 to go on.
int parse(int argc, char** argv, Args& a) {
  CLI::App app{"Skip-gram with negative sampling (gensim's defaults), built from Keras-style layers.", "word2vec"};
  app.add_option("corpus,--corpus", a.corpus, "a UTF-8 text file, one sentence per line")->capture_default_str();
  app.add_option("--out", a.out, "the output directory")->capture_default_str();
  app.add_option("--trainer", a.trainer, "keras (one tape per batch) | fused (tg::data::SkipGramTrainer)")
      ->check(CLI::IsMember({"keras", "fused"}))
      ->capture_default_str();
  app.add_option("--epochs", a.epochs)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--dim", a.dim, "vector size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--window", a.window)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--negative", a.negative, "negatives per pair")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--sample", a.sample, "sub-sampling threshold")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--min-count", a.min_count)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--alpha", a.alpha, "initial learning rate")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--min-alpha", a.min_alpha, "final learning rate")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--batch-size", a.batch_size, "pairs per batch (keras trainer)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--threads", a.threads, "hogwild threads (fused trainer)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--hot-rows", a.hot_rows, "rows kept per thread (fused trainer)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--sync-words", a.sync_words, "words between syncs of the hot rows (fused trainer)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", a.seed)->capture_default_str();
  app.add_option("--max-sentences", a.max_sentences, "use only the first N sentences (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--probes", a.probes, "words whose nearest words are printed after each epoch")
      ->delimiter(',')
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return -1;
}

void print_probes(w2v::SkipGramModel& m, const tg::data::Vocabulary& vocab, const Args& a) {
  for (const auto& p : a.probes) {
    const auto w = vocab.index(p);
    if (w < 0) {
      std::printf("  %-10s (not in the vocabulary)\n", p.c_str());
      continue;
    }
    std::printf("  %-10s", p.c_str());
    for (auto [i, s] : w2v::nearest(m, w, a.neighbours)) std::printf(" %s %.2f", vocab.word(i).c_str(), s);
    std::printf("\n");
  }
}

void write_outputs(const w2v::SkipGramModel& m, const tg::data::Vocabulary& vocab, const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const tg::Tensor vectors = m.vectors();
  tg::io::save_word2vec_format((fs::path(dir) / "vectors.txt").string(), vocab.words(), vectors);
  std::ofstream voc(fs::path(dir) / "vocab.txt");
  for (std::int64_t i = 0; i < vocab.size(); ++i) voc << vocab.word(i) << ' ' << vocab.count(i) << '\n';
  // The Embedding Projector's two files: tab-separated vectors, and one word per line.
  std::ofstream tsv(fs::path(dir) / "vectors.tsv"), meta(fs::path(dir) / "metadata.tsv");
  const float* v = vectors.data<float>();
  const std::int64_t dim = vectors.dim(1);
  char buf[32];
  for (std::int64_t i = 0; i < vocab.size(); ++i) {
    for (std::int64_t k = 0; k < dim; ++k) {
      std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(v[i * dim + k]));
      tsv << (k ? "\t" : "") << buf;
    }
    tsv << '\n';
    meta << vocab.word(i) << '\n';
  }
  if (!voc || !tsv || !meta) throw std::runtime_error("word2vec: could not write the outputs in " + dir);
}

}  // namespace

int main(int argc, char** argv) try {
  Args a;
  if (const int status = parse(argc, argv, a); status >= 0) return status;
  const auto t0 = std::chrono::steady_clock::now();
  if (!std::filesystem::exists(a.corpus))
    throw std::runtime_error("word2vec: no corpus at '" + a.corpus + "'" +
                             (a.corpus == Args{}.corpus ? ": run scripts/prepare_kjv.sh first (from the repository's "
                                                          "root), or give a UTF-8 text file with --corpus"
                                                        : ""));
  auto corpus = tg::data::read_corpus(a.corpus);
  if (a.max_sentences > 0 && static_cast<std::int64_t>(corpus.sentences.size()) > a.max_sentences) {
    corpus.sentences.resize(static_cast<std::size_t>(a.max_sentences));
    corpus.num_tokens = 0;
    for (const auto& s : corpus.sentences) corpus.num_tokens += static_cast<std::int64_t>(s.size());
  }
  const auto vocab = tg::data::Vocabulary::build(corpus, a.min_count);
  const auto sentences = vocab.encode(corpus);
  std::printf("corpus %s: %zu sentences, %lld tokens; vocabulary %lld words with count >= %lld (%lld tokens)\n",
              a.corpus.c_str(), corpus.sentences.size(), static_cast<long long>(corpus.num_tokens),
              static_cast<long long>(vocab.size()), static_cast<long long>(a.min_count),
              static_cast<long long>(vocab.total_count()));
  std::printf("trainer %s: dim %d, window %d, negative %d, sample %g, alpha %g -> %g, %d epoch(s)%s\n",
              a.trainer.c_str(), a.dim, a.window, a.negative, a.sample, a.alpha, a.min_alpha, a.epochs,
              a.trainer == "fused" ? (", " + std::to_string(a.threads) + " thread(s)").c_str()
                                   : (", batches of " + std::to_string(a.batch_size) + " pairs").c_str());

  tg::set_seed(a.seed);
  w2v::SkipGramModel m(vocab.size(), a.dim, a.negative);
  m.model->summary();
  const tg::data::SkipGramOptions batch_options{.window = a.window, .negative = a.negative, .sample = a.sample,
                                                .batch_size = a.batch_size, .seed = a.seed};
  tg::data::SkipGramBatcher batcher(sentences, vocab, batch_options);
  std::unique_ptr<tg::data::SkipGramTrainer> fused;
  std::unique_ptr<tg::optimizers::SGD> sgd;
  if (a.trainer == "fused") {
    // The Embedding layers' own weights, trained in place.
    const tg::data::SkipGramTrainerOptions options{.window = a.window, .negative = a.negative, .sample = a.sample,
                                                   .alpha = a.alpha, .min_alpha = a.min_alpha, .threads = a.threads,
                                                   .seed = a.seed, .hot_rows = a.hot_rows,
                                                   .sync_words = a.sync_words};
    fused = std::make_unique<tg::data::SkipGramTrainer>(sentences, vocab, m.target_embedding->embeddings(),
                                                        m.context_embedding->embeddings(), options, a.epochs);
  } else {
    // The schedule runs over optimizer steps: count one epoch's batches (a
    // dry run of an identically seeded batcher) to know the total.
    tg::data::SkipGramBatcher counter(sentences, vocab, batch_options);
    tg::data::SkipGramBatch b;
    std::int64_t steps = 0;
    while (counter.next(b)) ++steps;
    sgd = std::make_unique<tg::optimizers::SGD>(
        tg::optimizers::LinearDecay(a.alpha, a.min_alpha, std::max<std::int64_t>(1, steps * a.epochs)));
  }

  double train_seconds = 0;
  std::int64_t words = 0, effective = 0;
  for (int epoch = 0; epoch < a.epochs; ++epoch) {
    double seconds;
    std::int64_t w, e, pairs;
    std::string extra;
    if (fused) {
      auto st = fused->train_epoch(epoch);
      seconds = st.seconds, w = st.words, e = st.effective_words, pairs = st.pairs;
    } else {
      auto st = w2v::train_epoch_keras(m, batcher, *sgd);
      seconds = st.seconds, w = st.words, e = st.effective_words, pairs = st.pairs;
      char buf[96];
      std::snprintf(buf, sizeof buf, ", %lld steps, loss %.4f per pair, lr now %.5f", static_cast<long long>(st.steps),
                    st.loss, sgd->learning_rate());
      extra = buf;
    }
    train_seconds += seconds;
    words += w;
    effective += e;
    std::printf("epoch %d/%d: %.2f s, %lld words (%lld after sub-sampling), %lld pairs%s; %.0f words/s (%.0f effective "
                "words/s)\n",
                epoch + 1, a.epochs, seconds, static_cast<long long>(w), static_cast<long long>(e),
                static_cast<long long>(pairs), extra.c_str(), w / seconds, e / seconds);
    print_probes(m, vocab, a);
    std::fflush(stdout);
  }
  std::printf("trained in %.2f s: %.0f words/s, %.0f effective words/s (gensim reports the latter)\n", train_seconds,
              words / train_seconds, effective / train_seconds);
  write_outputs(m, vocab, a.out);
  std::printf("wrote %s/vectors.txt (word2vec text format), vocab.txt, vectors.tsv and metadata.tsv "
              "(load both at https://projector.tensorflow.org); total %.1f s\n",
              a.out.c_str(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
