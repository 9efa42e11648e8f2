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

const char* usage =
    "usage: word2vec [--corpus PATH | PATH] [--out DIR] [--trainer keras|fused] [--epochs N] [--dim N]\n"
    "                [--window N] [--negative N] [--sample X] [--min-count N] [--alpha X] [--min-alpha X]\n"
    "                [--batch-size N] [--threads N] [--hot-rows N] [--sync-words N] [--seed N] [--max-sentences N] [--probes w1,w2,...]\n"
    "Defaults are gensim's: dim 100, window 5, negative 5, sample 1e-3, min_count 5, alpha 0.025 -> 0.0001.\n";

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "-h" || k == "--help") {
      std::cout << usage;
      std::exit(0);
    }
    if (k.rfind("--", 0) != 0) {
      a.corpus = k;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument("word2vec: " + k + " needs a value\n" + usage);
    const std::string v = argv[++i];
    auto integer = [&] {
      std::size_t used = 0;
      long long x = std::stoll(v, &used);
      if (used != v.size()) throw std::invalid_argument("word2vec: " + k + " expects an integer, received '" + v + "'");
      return x;
    };
    auto real = [&] {
      std::size_t used = 0;
      double x = std::stod(v, &used);
      if (used != v.size()) throw std::invalid_argument("word2vec: " + k + " expects a number, received '" + v + "'");
      return x;
    };
    if (k == "--corpus") a.corpus = v;
    else if (k == "--out") a.out = v;
    else if (k == "--trainer") a.trainer = v;
    else if (k == "--epochs") a.epochs = static_cast<int>(integer());
    else if (k == "--dim") a.dim = static_cast<int>(integer());
    else if (k == "--window") a.window = static_cast<int>(integer());
    else if (k == "--negative") a.negative = static_cast<int>(integer());
    else if (k == "--threads") a.threads = static_cast<int>(integer());
    else if (k == "--hot-rows") a.hot_rows = static_cast<int>(integer());
    else if (k == "--sync-words") a.sync_words = static_cast<int>(integer());
    else if (k == "--sample") a.sample = real();
    else if (k == "--alpha") a.alpha = real();
    else if (k == "--min-alpha") a.min_alpha = real();
    else if (k == "--min-count") a.min_count = integer();
    else if (k == "--batch-size") a.batch_size = integer();
    else if (k == "--max-sentences") a.max_sentences = integer();
    else if (k == "--seed") a.seed = static_cast<std::uint64_t>(integer());
    else if (k == "--probes") {
      a.probes.clear();
      std::stringstream ss(v);
      for (std::string w; std::getline(ss, w, ',');)
        if (!w.empty()) a.probes.push_back(w);
    } else throw std::invalid_argument("word2vec: unknown option " + k + "\n" + usage);
  }
  if (a.trainer != "keras" && a.trainer != "fused")
    throw std::invalid_argument("word2vec: --trainer must be keras or fused, received '" + a.trainer + "'");
  if (a.epochs < 1 || a.dim < 1 || a.threads < 1)
    throw std::invalid_argument("word2vec: --epochs, --dim and --threads must be >= 1");
  if (a.alpha < 0 || a.min_alpha < 0) throw std::invalid_argument("word2vec: learning rates must be >= 0");
  return a;
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
  const Args a = parse(argc, argv);
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
  m.model.summary();
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
    fused = std::make_unique<tg::data::SkipGramTrainer>(sentences, vocab, m.target_embedding.embeddings(),
                                                        m.context_embedding.embeddings(), options, a.epochs);
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
