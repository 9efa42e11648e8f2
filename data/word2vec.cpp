// Skip-gram data for word2vec: corpus, vocabulary, sub-sampling, windows,
// negatives and batches. The rules are gensim's; see the header.
#include "tapegrad/data/word2vec.hpp"
#include "tapegrad/io/read_file.hpp"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <new>
#include <stdexcept>

#include "tapegrad/autodiff/format.hpp"

namespace tg::data {

namespace {

using tg::detail::format_number;

std::string quoted(std::string_view s) {
  std::string out = "'";
  out += s;
  out += "'";
  return out;
}

// The byte offset of the first invalid UTF-8 sequence, or npos. Overlong
// forms, surrogates and code points above U+10FFFF are invalid.
std::size_t first_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return i;
    if (i + static_cast<std::size_t>(len) > n) return i;
    for (int k = 1; k < len; ++k) {
      const unsigned char d = p[i + static_cast<std::size_t>(k)];
      if ((d & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += static_cast<std::size_t>(len);
  }
  return std::string_view::npos;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

// ---- corpus ----------------------------------------------------------------------

namespace {

// The corpus of `owned` (a whole file's text): tokens are views into it.
Corpus parse_corpus(std::shared_ptr<const std::string> owned, const std::string& source) {
  std::string_view text = *owned;
  const std::string fn = "read_corpus";
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    throw std::runtime_error(fn + ": " + source + " is not a text file: it contains a NUL byte at offset " +
                             std::to_string(nul) + " (expected UTF-8 text, one sentence per line)");
  if (const auto bad = first_invalid_utf8(text); bad != std::string_view::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
    throw std::runtime_error(fn + ": " + source + " is not valid UTF-8: byte " + hex + " at offset " +
                             std::to_string(bad) + " (convert it to UTF-8 first, e.g. with iconv)");
  }
  // A UTF-8 byte order mark is not a token.
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Corpus corpus;
  corpus.text = owned;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::vector<std::string_view> sentence;
    std::size_t i = pos;
    while (i < end) {
      while (i < end && is_space(text[i])) ++i;
      const std::size_t start = i;
      while (i < end && !is_space(text[i])) ++i;
      if (i > start) sentence.emplace_back(text.substr(start, i - start));
    }
    if (!sentence.empty()) {
      corpus.num_tokens += static_cast<std::int64_t>(sentence.size());
      corpus.sentences.push_back(std::move(sentence));
    }
    pos = end + 1;
  }
  if (corpus.num_tokens == 0)
    throw std::runtime_error(fn + ": " + source + " is empty: no token in " + std::to_string(text.size()) +
                             " bytes (expected UTF-8 text, one sentence per line, tokens separated by spaces)");
  for (auto& sentence : corpus.sentences) sentence.shrink_to_fit();
  return corpus;
}

}  // namespace

Corpus read_corpus_from_memory(std::string_view text, const std::string& source) {
  return parse_corpus(std::make_shared<const std::string>(text), source);
}

Corpus read_corpus(const std::string& path) {
  if (path.empty()) throw std::invalid_argument("read_corpus: the path is empty");
  const std::string where = "read_corpus: " + path;
  auto text = std::make_shared<const std::string>(io::read_regular_file(path, "read_corpus", "a corpus"));
  const auto size = text->size();
  try {
    return parse_corpus(std::move(text), "'" + path + "'");
  } catch (const std::bad_alloc&) {
    // The sentences take 16 bytes a token (a string_view) beside the text.
    throw std::runtime_error(where + ": not enough memory for the tokens of this " + std::to_string(size) +
                             "-byte corpus (up to 16 bytes a token beside the text itself)");
  }
}

// ---- vocabulary ------------------------------------------------------------------

Vocabulary Vocabulary::build(const Corpus& corpus, std::int64_t min_count) {
  if (min_count < 1)
    throw std::invalid_argument("Vocabulary::build: min_count must be >= 1, received " + std::to_string(min_count));
  // Counts in order of first appearance (gensim's raw_vocab is an insertion-ordered dict).
  std::unordered_map<std::string_view, std::size_t> slot;
  std::vector<std::string_view> seen;
  std::vector<std::int64_t> seen_counts;
  for (const auto& sentence : corpus.sentences)
    for (const auto& token : sentence) {
      auto [it, inserted] = slot.try_emplace(token, seen.size());
      if (inserted) {
        seen.push_back(token);
        seen_counts.push_back(0);
      }
      ++seen_counts[it->second];
    }
  std::vector<std::size_t> order;
  std::int64_t max_count = 0;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    max_count = std::max(max_count, seen_counts[i]);
    if (seen_counts[i] >= min_count) order.push_back(i);
  }
  if (order.empty())
    throw std::invalid_argument("Vocabulary::build: no word occurs at least min_count = " + std::to_string(min_count) +
                                " times (" + std::to_string(seen.size()) + " distinct words, the most frequent occurs " +
                                std::to_string(max_count) + " times); lower min_count or use a larger corpus");
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return seen_counts[a] > seen_counts[b]; });
  std::vector<std::string> words;
  std::vector<std::int64_t> counts;
  words.reserve(order.size());
  counts.reserve(order.size());
  for (auto i : order) {
    words.emplace_back(seen[i]);
    counts.push_back(seen_counts[i]);
  }
  Vocabulary v = from_counts(std::move(words), std::move(counts));
  v.min_count_ = min_count;
  v.corpus_tokens_ = corpus.num_tokens;
  return v;
}

Vocabulary Vocabulary::from_counts(std::vector<std::string> words, std::vector<std::int64_t> counts) {
  const std::string fn = "Vocabulary::from_counts";
  if (words.size() != counts.size())
    throw std::invalid_argument(fn + ": " + std::to_string(words.size()) + " words but " +
                                std::to_string(counts.size()) + " counts");
  if (words.empty()) throw std::invalid_argument(fn + ": received no word");
  if (words.size() > static_cast<std::size_t>(INT32_MAX)) throw std::invalid_argument(fn + ": too many words");
  Vocabulary v;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (counts[i] < 1)
      throw std::invalid_argument(fn + ": the count of " + quoted(words[i]) + " is " + std::to_string(counts[i]) +
                                  " (counts must be >= 1)");
    if (i > 0 && counts[i] > counts[i - 1])
      throw std::invalid_argument(fn + ": counts must not increase: " + quoted(words[i]) + " (" +
                                  std::to_string(counts[i]) + ") follows " + quoted(words[i - 1]) + " (" +
                                  std::to_string(counts[i - 1]) + ")");
    if (!v.index_.emplace(words[i], static_cast<std::int32_t>(i)).second)
      throw std::invalid_argument(fn + ": the word " + quoted(words[i]) + " appears twice");
    v.total_ += counts[i];
  }
  v.min_count_ = counts.back();
  v.corpus_tokens_ = v.total_;
  v.words_ = std::move(words);
  v.counts_ = std::move(counts);
  return v;
}

std::int64_t Vocabulary::index(std::string_view word) const {
  auto it = index_.find(std::string(word));
  return it == index_.end() ? -1 : it->second;
}

EncodedCorpus Vocabulary::encode(const Corpus& corpus) const {
  EncodedCorpus out;
  out.reserve(corpus.sentences.size());
  for (const auto& sentence : corpus.sentences) {
    std::vector<std::int32_t> ids;
    ids.reserve(sentence.size());
    for (const auto& token : sentence) {
      auto it = index_.find(std::string(token));
      if (it != index_.end()) ids.push_back(it->second);
    }
    if (!ids.empty()) out.push_back(std::move(ids));
  }
  return out;
}

// ---- sub-sampling ----------------------------------------------------------------

std::vector<double> keep_probabilities(const Vocabulary& vocab, double sample) {
  if (!(sample >= 0) || !std::isfinite(sample))
    throw std::invalid_argument("keep_probabilities: sample must be a finite number >= 0, received " +
                                format_number(sample));
  std::vector<double> keep(static_cast<std::size_t>(vocab.size()), 1.0);
  if (sample == 0) return keep;
  // gensim: sample < 1 is a fraction of the retained words; sample >= 1 is
  // its "shorthand", downsampling the words with more than `sample` occurrences.
  const double t = sample < 1.0 ? sample * static_cast<double>(vocab.total_count())
                                : std::floor(sample * (3 + std::sqrt(5.0)) / 2);
  for (std::size_t i = 0; i < keep.size(); ++i) {
    const double c = static_cast<double>(vocab.counts()[i]);
    keep[i] = std::min(1.0, (std::sqrt(c / t) + 1.0) * t / c);
  }
  return keep;
}

// ---- negatives -------------------------------------------------------------------

NegativeSampler::NegativeSampler(const Vocabulary& vocab, double power) {
  if (vocab.size() < 2)
    throw std::invalid_argument("NegativeSampler: negative sampling needs at least 2 distinct words in the "
                                "vocabulary, received " + std::to_string(vocab.size()) +
                                " (a negative equal to the positive word is skipped, so every draw would be); "
                                "use a larger corpus or a lower min_count");
  if (!std::isfinite(power) || power < 0)
    throw std::invalid_argument("NegativeSampler: power must be finite and >= 0, received " + format_number(power));
  domain_ = (1u << 31) - 1;  // gensim's
  double total = 0;
  for (auto c : vocab.counts()) total += std::pow(static_cast<double>(c), power);
  cum_.resize(static_cast<std::size_t>(vocab.size()));
  double running = 0;
  for (std::size_t i = 0; i < cum_.size(); ++i) {
    running += std::pow(static_cast<double>(vocab.counts()[i]), power);
    cum_[i] = static_cast<std::uint32_t>(std::llround(running / total * domain_));
  }
  cum_.back() = domain_;
  // Buckets of 2^shift_ values of r; each knows the first candidate index.
  shift_ = 15;
  const std::uint32_t buckets = ((domain_ - 1) >> shift_) + 1;
  start_.resize(buckets + 1);
  std::int32_t idx = 0;
  for (std::uint32_t b = 0; b <= buckets; ++b) {
    const std::uint64_t r = std::min<std::uint64_t>(static_cast<std::uint64_t>(b) << shift_, domain_ - 1);
    while (cum_[static_cast<std::size_t>(idx)] <= r) ++idx;
    start_[b] = idx;
  }
}

double NegativeSampler::probability(std::int64_t index) const {
  const auto i = static_cast<std::size_t>(index);
  const std::uint32_t lo = i == 0 ? 0 : cum_[i - 1];
  return static_cast<double>(cum_.at(i) - lo) / domain_;
}

// ---- skip-gram batches -----------------------------------------------------------

std::vector<std::uint64_t> SkipGramBatcher::keep_thresholds(const std::vector<double>& keep_probability) {
  std::vector<std::uint64_t> out(keep_probability.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::uint64_t>(std::llround(keep_probability[i] * 4294967296.0));
  return out;
}

std::int64_t SkipGramBatcher::sentence_pairs(const std::vector<std::int32_t>& sentence,
                                             const std::vector<std::uint64_t>& keep_threshold, int window,
                                             FastRandom& random, std::vector<std::int32_t>& kept,
                                             std::vector<std::pair<std::int32_t, std::int32_t>>& pairs) {
  kept.clear();
  for (auto w : sentence)
    if (random.bits32() < keep_threshold[static_cast<std::size_t>(w)]) kept.push_back(w);
  const auto n = static_cast<std::int64_t>(kept.size());
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t b = random.below(static_cast<std::uint32_t>(window));
    const std::int64_t lo = std::max<std::int64_t>(0, i - window + b);
    const std::int64_t hi = std::min<std::int64_t>(n - 1, i + window - b);
    for (std::int64_t j = lo; j <= hi; ++j)
      if (j != i) pairs.emplace_back(kept[static_cast<std::size_t>(j)], kept[static_cast<std::size_t>(i)]);
  }
  return n;
}

namespace {
void check_options(const SkipGramOptions& o) {
  const std::string fn = "SkipGramBatcher: ";
  if (o.window < 1) throw std::invalid_argument(fn + "window must be >= 1, received " + std::to_string(o.window));
  if (o.negative < 0)
    throw std::invalid_argument(fn + "negative must be >= 0, received " + std::to_string(o.negative));
  if (!(o.sample >= 0) || !std::isfinite(o.sample))
    throw std::invalid_argument(fn + "sample must be a finite number >= 0, received " + format_number(o.sample));
  if (o.batch_size < 1)
    throw std::invalid_argument(fn + "batch_size must be >= 1, received " + std::to_string(o.batch_size));
}
const Vocabulary& checked(const Vocabulary& vocab, const SkipGramOptions& o) {
  check_options(o);
  return vocab;
}
}  // namespace

SkipGramBatcher::SkipGramBatcher(const EncodedCorpus& sentences, const Vocabulary& vocab,
                                 const SkipGramOptions& options)
    : sentences_(sentences),
      options_(options),
      sampler_(checked(vocab, options)),
      keep_threshold_(keep_thresholds(keep_probabilities(vocab, options.sample))),
      random_(options.seed) {
  for (std::size_t s = 0; s < sentences.size(); ++s)
    for (auto w : sentences[s])
      if (w < 0 || w >= vocab.size())
        throw std::invalid_argument("SkipGramBatcher: sentence " + std::to_string(s) + " holds index " +
                                    std::to_string(w) + ", outside the vocabulary of " +
                                    std::to_string(vocab.size()) + " words");
}

bool SkipGramBatcher::next(SkipGramBatch& batch) {
  const std::int64_t B = options_.batch_size;
  const std::int64_t K = 1 + options_.negative;
  if (finished_) {  // a new epoch
    finished_ = false;
    stats_ = SkipGramStats{};
  }
  if (sentence_ >= sentences_.size() && pending_pos_ >= pending_.size()) {
    // End of the epoch (stats() still describe it); the next call starts the next one.
    sentence_ = 0;
    pending_.clear();
    pending_pos_ = 0;
    ++epoch_;
    finished_ = true;
    batch.size = 0;
    return false;
  }
  // Make sure enough pairs are pending (or the sentences are exhausted).
  if (pending_pos_ > 0 && pending_pos_ * 2 > pending_.size()) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_pos_));
    pending_pos_ = 0;
  }
  while (static_cast<std::int64_t>(pending_.size() - pending_pos_) < B && sentence_ < sentences_.size()) {
    const auto& s = sentences_[sentence_++];
    stats_.words_seen += static_cast<std::int64_t>(s.size());
    stats_.words_kept += sentence_pairs(s, keep_threshold_, options_.window, random_, kept_, pending_);
  }
  const std::int64_t n = std::min<std::int64_t>(B, static_cast<std::int64_t>(pending_.size() - pending_pos_));
  if (n == 0) return next(batch);  // the last sentences gave no pair
  if (!batch.inputs.defined() || batch.inputs.dim(0) != n || batch.outputs.dim(1) != K) {
    batch.inputs = Tensor::empty({n}, DType::int64);
    batch.outputs = Tensor::empty({n, K}, DType::int64);
    batch.labels = Tensor::empty({n, K}, DType::float32);
    batch.weights = Tensor::empty({n, K}, DType::float32);
  } else if (batch.inputs.impl().use_count() > 1 || batch.outputs.impl().use_count() > 1 ||
             batch.weights.impl().use_count() > 1) {
    // Someone (a tape) still holds the previous batch: do not overwrite it.
    batch.inputs = Tensor::empty({n}, DType::int64);
    batch.outputs = Tensor::empty({n, K}, DType::int64);
    batch.labels = batch.labels.clone();
    batch.weights = Tensor::empty({n, K}, DType::float32);
  }
  auto* in = batch.inputs.data<std::int64_t>();
  auto* out = batch.outputs.data<std::int64_t>();
  auto* lab = batch.labels.data<float>();
  auto* wt = batch.weights.data<float>();
  for (std::int64_t p = 0; p < n; ++p) {
    const auto& pair = pending_[pending_pos_ + static_cast<std::size_t>(p)];
    in[p] = pair.first;
    out[p * K] = pair.second;
    lab[p * K] = 1.0f;
    wt[p * K] = 1.0f;
    for (std::int64_t k = 1; k < K; ++k) {
      const std::int32_t neg = sampler_.draw(random_);
      out[p * K + k] = neg;
      lab[p * K + k] = 0.0f;
      wt[p * K + k] = neg == pair.second ? 0.0f : 1.0f;
    }
  }
  pending_pos_ += static_cast<std::size_t>(n);
  stats_.pairs += n;
  batch.size = n;
  batch.words_done = stats_.words_seen;
  return true;
}

}  // namespace tg::data
