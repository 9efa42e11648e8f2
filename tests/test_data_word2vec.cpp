// Skip-gram data (tg::data, data/word2vec.cpp): vocabulary counts and order on
// a tiny corpus by hand, gensim's keep probabilities, window statistics, the
// negative distribution, batches, determinism, and every bad input.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "op_checks.hpp"
#include "tapegrad/data/word2vec.hpp"
#include "temp_files.hpp"

namespace {

namespace fs = std::filesystem;
using tgtest::address_sanitizer;
using tgtest::ChildOutcome;
using tgtest::run_in_child;
using tg::data::Vocabulary;

fs::path temp_file(const std::string& name, const std::string& bytes) {
  fs::path dir = fs::temp_directory_path() / "tapegrad_test_data_word2vec";
  fs::create_directories(dir);
  fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

// "a" 4 times, "b" 3, then "c", "d", "e" once each, first seen in that order.
const char* tiny = "a b c a\n  b\ta d \r\n\n e a b\n";

}  // namespace

TEST_CASE("data word2vec: read_corpus splits lines and tokens") {
  auto corpus = tg::data::read_corpus_from_memory(tiny);
  REQUIRE(corpus.sentences.size() == 3);  // the blank line is no sentence
  CHECK(corpus.num_tokens == 10);
  CHECK(corpus.sentences[0] == std::vector<std::string_view>{"a", "b", "c", "a"});
  CHECK(corpus.sentences[1] == std::vector<std::string_view>{"b", "a", "d"});
  CHECK(corpus.sentences[2] == std::vector<std::string_view>{"e", "a", "b"});
  // From a file too, UTF-8 words kept whole, a BOM skipped.
  auto p = temp_file("utf8.txt", "\xEF\xBB\xBFna\xC3\xAFve caf\xC3\xA9\n");
  auto c2 = tg::data::read_corpus(p.string());
  REQUIRE(c2.sentences.size() == 1);
  CHECK(c2.sentences[0] == std::vector<std::string_view>{"na\xC3\xAFve", "caf\xC3\xA9"});
}

TEST_CASE("data: a corpus's tokens stay valid in its copies after the original is gone") {
  // Tokens are views into the corpus's text, which copies share.
  tg::data::Corpus copy;
  {
    tg::data::Corpus original = tg::data::read_corpus_from_memory("alpha beta\ngamma\n");
    copy = original;
  }
  REQUIRE(copy.sentences.size() == 2);
  CHECK(copy.sentences[0] == std::vector<std::string_view>{"alpha", "beta"});
  CHECK(copy.sentences[1] == std::vector<std::string_view>{"gamma"});
  CHECK(copy.num_tokens == 3);
}

TEST_CASE("data word2vec: vocabulary counts and order by hand") {
  auto corpus = tg::data::read_corpus_from_memory(tiny);
  auto v = Vocabulary::build(corpus, 1);
  // Descending count; ties (c, d, e: 1 each) in order of first appearance.
  CHECK(v.words() == std::vector<std::string>{"a", "b", "c", "d", "e"});
  CHECK(v.counts() == std::vector<std::int64_t>{4, 3, 1, 1, 1});
  CHECK(v.total_count() == 10);
  CHECK(v.corpus_tokens() == 10);
  CHECK(v.index("b") == 1);
  CHECK(v.index("zzz") == -1);
  auto v2 = Vocabulary::build(corpus, 2);
  CHECK(v2.words() == std::vector<std::string>{"a", "b"});
  CHECK(v2.total_count() == 7);
  CHECK(v2.corpus_tokens() == 10);
  // Encoding drops the words below min_count.
  auto enc = v2.encode(corpus);
  REQUIRE(enc.size() == 3);
  CHECK(enc[0] == std::vector<std::int32_t>{0, 1, 0});
  CHECK(enc[1] == std::vector<std::int32_t>{1, 0});
  CHECK(enc[2] == std::vector<std::int32_t>{0, 1});
  // A later, more frequent word comes first.
  auto v3 = Vocabulary::build(tg::data::read_corpus_from_memory("x y y z z z"), 1);
  CHECK(v3.words() == std::vector<std::string>{"z", "y", "x"});
}

TEST_CASE("data word2vec: keep probabilities follow gensim's formula") {
  auto v = Vocabulary::from_counts({"the", "of", "rare"}, {1000, 500, 10});
  auto keep = tg::data::keep_probabilities(v, 1e-3);
  const double t = 1e-3 * 1510;  // sample * retained words
  auto expected = [&](double c) { return std::min(1.0, (std::sqrt(c / t) + 1) * t / c); };
  CHECK(keep[0] == doctest::Approx(expected(1000)).epsilon(1e-12));
  CHECK(keep[0] == doctest::Approx((std::sqrt(1000 / 1.51) + 1) * 1.51 / 1000).epsilon(1e-12));  // 0.04037...
  CHECK(keep[1] == doctest::Approx(expected(500)).epsilon(1e-12));
  CHECK(keep[2] == doctest::Approx(expected(10)).epsilon(1e-12));  // 0.5397...
  CHECK(keep[2] < 1.0);
  // sample = 0 keeps everything; a large sample keeps everything too.
  for (double k : tg::data::keep_probabilities(v, 0)) CHECK(k == 1.0);
  for (double k : tg::data::keep_probabilities(v, 1000.0)) CHECK(k == 1.0);  // sample >= 1: a count (gensim)
  CHECK(tg::data::keep_probabilities(v, 100.0)[0] < 1.0);
  // The batcher keeps about that fraction of each word.
  std::vector<std::int32_t> sentence(20000, 0);
  auto thresholds = tg::data::SkipGramBatcher::keep_thresholds(keep);
  tg::data::FastRandom random(7);
  std::vector<std::int32_t> kept;
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
  auto n = tg::data::SkipGramBatcher::sentence_pairs(sentence, thresholds, 5, random, kept, pairs);
  const double sd = std::sqrt(20000 * keep[0] * (1 - keep[0]));
  CHECK(std::abs(static_cast<double>(n) - 20000 * keep[0]) < 4 * sd);
}

TEST_CASE("data word2vec: the dynamic window's statistics") {
  // Distinct words 0..N-1, nothing dropped: each centre's context is the
  // positions within a half-window uniform in 1..5, so an offset d (1..5) is
  // used with probability (6 - d) / 5 on each side, 6 contexts on average.
  const int N = 20000, window = 5;
  std::vector<std::int32_t> sentence(N);
  for (int i = 0; i < N; ++i) sentence[static_cast<std::size_t>(i)] = i;
  std::vector<std::uint64_t> keep_all(N, std::uint64_t{1} << 32);
  tg::data::FastRandom random(3);
  std::vector<std::int32_t> kept;
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
  tg::data::SkipGramBatcher::sentence_pairs(sentence, keep_all, window, random, kept, pairs);
  CHECK(kept.size() == static_cast<std::size_t>(N));
  std::map<int, std::int64_t> by_offset;
  for (auto [input, output] : pairs) {
    const int d = input - output;  // input = context word j, output = centre i
    CHECK(d != 0);
    CHECK(std::abs(d) <= window);
    ++by_offset[d];
  }
  const double centres = N;  // edges change this by < 0.1%
  for (int d = 1; d <= window; ++d) {
    const double p = (6.0 - d) / 5.0;
    for (int side : {-1, 1}) {
      const double got = static_cast<double>(by_offset[side * d]) / centres;
      CHECK_MESSAGE(std::abs(got - p) < 0.015, "offset " << side * d << ": " << got << " vs " << p);
    }
  }
  const double per_centre = static_cast<double>(pairs.size()) / centres;
  CHECK(per_centre == doctest::Approx(6.0).epsilon(0.01));
  // The window never crosses the sentence's ends.
  std::vector<std::int32_t> short_sentence{0, 1};
  pairs.clear();
  tg::data::SkipGramBatcher::sentence_pairs(short_sentence, keep_all, window, random, kept, pairs);
  CHECK(pairs == std::vector<std::pair<std::int32_t, std::int32_t>>{{1, 0}, {0, 1}});
}

TEST_CASE("data word2vec: negatives follow count^0.75 (chi-square)") {
  std::vector<std::string> words;
  std::vector<std::int64_t> counts{5000, 2000, 900, 400, 150, 60, 20, 8, 5, 1};
  for (std::size_t i = 0; i < counts.size(); ++i) words.push_back("w" + std::to_string(i));
  auto v = Vocabulary::from_counts(words, counts);
  tg::data::NegativeSampler sampler(v);
  double z = 0;
  for (auto c : counts) z += std::pow(static_cast<double>(c), 0.75);
  for (std::size_t i = 0; i < counts.size(); ++i)
    CHECK(sampler.probability(static_cast<std::int64_t>(i)) ==
          doctest::Approx(std::pow(static_cast<double>(counts[i]), 0.75) / z).epsilon(1e-6));
  const int draws = 400000;
  std::vector<double> seen(counts.size(), 0);
  tg::data::FastRandom random(12345);
  for (int i = 0; i < draws; ++i) ++seen[static_cast<std::size_t>(sampler.draw(random))];
  double chi2 = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double e = draws * sampler.probability(static_cast<std::int64_t>(i));
    chi2 += (seen[i] - e) * (seen[i] - e) / e;
  }
  // 9 degrees of freedom: P(chi2 > 27.9) = 0.001.
  CHECK_MESSAGE(chi2 < 27.9, "chi-square " << chi2);
}

TEST_CASE("data word2vec: batches hold pairs, labels, skipped negatives, and repeat with a seed") {
  auto corpus = tg::data::read_corpus_from_memory("a b a b a b a a b\nb a b a\n");
  auto v = Vocabulary::build(corpus, 1);
  auto sentences = v.encode(corpus);
  tg::data::SkipGramOptions o{.window = 2, .negative = 5, .sample = 0, .batch_size = 4, .seed = 9};
  auto collect = [&](std::uint64_t seed) {
    o.seed = seed;
    tg::data::SkipGramBatcher batcher(sentences, v, o);
    std::vector<std::int64_t> all;
    tg::data::SkipGramBatch batch;
    std::int64_t pairs = 0, skipped = 0;
    while (batcher.next(batch)) {
      CHECK(batch.size <= 4);
      CHECK(batch.outputs.shape() == tg::Shape{batch.size, 6});
      for (std::int64_t p = 0; p < batch.size; ++p) {
        CHECK(batch.labels.at({p, 0}) == 1.0);
        CHECK(batch.weights.at({p, 0}) == 1.0);
        for (std::int64_t k = 1; k < 6; ++k) {
          CHECK(batch.labels.at({p, k}) == 0.0);
          const bool same = batch.outputs.at({p, k}) == batch.outputs.at({p, 0});
          CHECK(batch.weights.at({p, k}) == (same ? 0.0 : 1.0));
          skipped += same;
        }
        all.push_back(static_cast<std::int64_t>(batch.inputs.at({p})));
        for (std::int64_t k = 0; k < 6; ++k) all.push_back(static_cast<std::int64_t>(batch.outputs.at({p, k})));
      }
      pairs += batch.size;
    }
    CHECK(batcher.stats().pairs == pairs);  // the whole epoch's
    CHECK(batcher.stats().words_seen == 13);
    CHECK(batcher.stats().words_kept == 13);  // sample = 0
    CHECK(pairs > 0);
    CHECK(skipped > 0);  // two words: many draws equal the positive
    return all;
  };
  auto first = collect(9);
  CHECK(first == collect(9));
  CHECK(first != collect(10));
}

TEST_CASE("data word2vec: bad corpora are refused with clear errors") {
  auto missing = (fs::temp_directory_path() / "tapegrad_no_such_corpus.txt").string();
  auto e = tgtest::error_of([&] { tg::data::read_corpus(missing); });
  CHECK_CONTAINS(e, "read_corpus: " + missing + ": cannot open the file: No such file or directory (check the path)");
  CHECK_THROWS_AS(tg::data::read_corpus(missing), std::runtime_error);

  auto empty = temp_file("empty.txt", "");
  e = tgtest::error_of([&] { tg::data::read_corpus(empty.string()); });
  CHECK_CONTAINS(e, "read_corpus: ");
  CHECK_CONTAINS(e, "is empty");
  auto blank = temp_file("blank.txt", " \n\t\n\r\n");
  CHECK_CONTAINS(tgtest::error_of([&] { tg::data::read_corpus(blank.string()); }), "is empty: no token in 6 bytes");

  auto binary = temp_file("binary.bin", std::string("abc\0def\x01\x02", 9));
  e = tgtest::error_of([&] { tg::data::read_corpus(binary.string()); });
  CHECK_CONTAINS(e, "not a text file: it contains a NUL byte at offset 3");
  CHECK_THROWS_AS(tg::data::read_corpus(binary.string()), std::runtime_error);

  auto latin1 = temp_file("latin1.txt", "caf\xE9 au lait\n");
  e = tgtest::error_of([&] { tg::data::read_corpus(latin1.string()); });
  CHECK_CONTAINS(e, "is not valid UTF-8: byte 0xE9 at offset 3");
  CHECK_CONTAINS(tgtest::error_of([] { tg::data::read_corpus_from_memory("\xC0\x80"); }), "offset 0");  // overlong
  CHECK_CONTAINS(tgtest::error_of([] { tg::data::read_corpus_from_memory("ok \xED\xA0\x80"); }), "offset 3");  // surrogate
}

TEST_CASE("data word2vec: too few distinct words for negative sampling") {
  // One distinct word: every negative would equal the positive.
  auto corpus = tg::data::read_corpus_from_memory("amen amen amen amen amen\n");
  auto v = Vocabulary::build(corpus, 1);
  auto sentences = v.encode(corpus);
  auto e = tgtest::error_of([&] { tg::data::SkipGramBatcher(sentences, v, {}); });
  CHECK_CONTAINS(e, "needs at least 2 distinct words in the vocabulary, received 1");
  CHECK_THROWS_AS(tg::data::NegativeSampler{v}, std::invalid_argument);
  // min_count leaving nothing.
  e = tgtest::error_of([&] { Vocabulary::build(tg::data::read_corpus_from_memory("a b c"), 5); });
  CHECK_CONTAINS(e, "Vocabulary::build: no word occurs at least min_count = 5 times (3 distinct words, the most "
                    "frequent occurs 1 times)");
}

TEST_CASE("data word2vec: bad parameters name the function and the value") {
  auto corpus = tg::data::read_corpus_from_memory(tiny);
  auto v = Vocabulary::build(corpus, 1);
  auto s = v.encode(corpus);
  CHECK_CONTAINS(tgtest::error_of([&] { Vocabulary::build(corpus, 0); }),
                 "Vocabulary::build: min_count must be >= 1, received 0");
  CHECK_CONTAINS(tgtest::error_of([&] { tg::data::keep_probabilities(v, -1e-3); }),
                 "keep_probabilities: sample must be a finite number >= 0, received -0.001");
  CHECK_CONTAINS(tgtest::error_of([&] { tg::data::SkipGramBatcher(s, v, {.window = 0}); }),
                 "SkipGramBatcher: window must be >= 1, received 0");
  CHECK_CONTAINS(tgtest::error_of([&] { tg::data::SkipGramBatcher(s, v, {.negative = -1}); }),
                 "SkipGramBatcher: negative must be >= 0, received -1");
  CHECK_CONTAINS(tgtest::error_of([&] { tg::data::SkipGramBatcher(s, v, {.sample = NAN}); }),
                 "SkipGramBatcher: sample must be a finite number >= 0, received nan");
  CHECK_CONTAINS(tgtest::error_of([&] { tg::data::SkipGramBatcher(s, v, {.batch_size = 0}); }),
                 "SkipGramBatcher: batch_size must be >= 1, received 0");
  tg::data::EncodedCorpus bad{{0, 1, 7}};
  CHECK_CONTAINS(tgtest::error_of([&] { tg::data::SkipGramBatcher(bad, v, {}); }),
                 "SkipGramBatcher: sentence 0 holds index 7, outside the vocabulary of 5 words");
  CHECK_CONTAINS(tgtest::error_of([] { Vocabulary::from_counts({"a", "b"}, {1, 2}); }),
                 "Vocabulary::from_counts: counts must not increase: 'b' (2) follows 'a' (1)");
  CHECK_CONTAINS(tgtest::error_of([] { Vocabulary::from_counts({"a", "a"}, {2, 2}); }), "the word 'a' appears twice");
  CHECK_CONTAINS(tgtest::error_of([] { Vocabulary::from_counts({"a"}, {0}); }), "the count of 'a' is 0");
  CHECK_CONTAINS(tgtest::error_of([] { Vocabulary::from_counts({"a"}, {1, 2}); }), "1 words but 2 counts");
}

TEST_CASE("data word2vec: read_corpus refuses a directory, a FIFO and devices at once, naming itself and the path") {
  tgtest::TempDir dir;
  // A directory: not a bare std::ios_base::failure.
  std::string e = tgtest::error_of([&] { tg::data::read_corpus(dir.path()); });
  CHECK_CONTAINS(e, "read_corpus: " + dir.path() + ": is a directory, not a corpus");
  CHECK_THROWS_AS(tg::data::read_corpus(dir.path()), std::runtime_error);

  // A FIFO would block until a writer comes; it must be refused, not waited on.
  const std::string fifo = dir.file("corpus.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  ChildOutcome outcome = run_in_child([&] { tg::data::read_corpus(fifo); }, 5, std::uint64_t{512} << 20);
  REQUIRE_MESSAGE(outcome.returned, "read_corpus on a FIFO: the child " << outcome.ended);
  CHECK_CONTAINS(outcome.error, "read_corpus: " + fifo + ": is a FIFO (named pipe), not a corpus");

  // Devices never end (and /dev/zero's NULs would only be found after reading it all).
  for (const std::string device : {"/dev/zero", "/dev/urandom"}) {
    CAPTURE(device);
    if (!fs::exists(device)) continue;
    outcome = run_in_child([&] { tg::data::read_corpus(device); }, 5, std::uint64_t{512} << 20);
    REQUIRE_MESSAGE(outcome.returned, "read_corpus on " << device << ": the child " << outcome.ended);
    CHECK_CONTAINS(outcome.error, "read_corpus: " + device + ": is a character device");
  }

  // An unreadable file (root reads anything, so the child drops to 'nobody').
  const std::string locked = dir.file("locked.txt");
  tgtest::write_bytes(locked, "a b c\n");
  ::chmod(locked.c_str(), 0000);
  // 'nobody' must reach the directory, so that the file's own mode refuses it
  // (mkdtemp makes the directory 0700: stat would fail first).
  ::chmod(dir.path().c_str(), 0755);
  outcome = run_in_child(
      [&] {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0))
          throw std::runtime_error("skipped: running as root and cannot drop privileges");
        tg::data::read_corpus(locked);
      },
      5);
  REQUIRE(outcome.returned);
  if (tgtest::contains(outcome.error, "skipped:")) MESSAGE(outcome.error);
  else CHECK_CONTAINS(outcome.error, "read_corpus: " + locked + ": cannot open the file: Permission denied");
  CHECK_CONTAINS(tgtest::error_of([] { tg::data::read_corpus(""); }), "read_corpus: the path is empty");
}

TEST_CASE("data word2vec: a corpus larger than the memory the process may have: an error naming the file, not bad_alloc") {
  if (address_sanitizer) {
    MESSAGE("skipped: AddressSanitizer needs the address space for its shadow memory");
    return;
  }
  // 4M one-letter tokens on one line: 8 MB of text, 64 MB of 16-byte views, in
  // a child allowed 48 MB more. The last growth of the sentence's vector asks
  // for 64 MB at once, more than glibc's largest mmap threshold (32 MB), so it
  // is a fresh mapping that the cap refuses whatever the heap already holds.
  tgtest::TempDir dir;
  std::string text;
  for (int i = 0; i < (1 << 22); ++i) text += "a ";
  const std::string path = dir.file("big.txt");
  tgtest::write_bytes(path, text);
  ChildOutcome outcome = run_in_child([&] { tg::data::read_corpus(path); }, 20, std::uint64_t{48} << 20);
  REQUIRE_MESSAGE(outcome.returned, "the child " << outcome.ended);
  CHECK_CONTAINS(outcome.error, "read_corpus: " + path + ": not enough memory for the tokens of this 8388608-byte "
                                "corpus");
}
