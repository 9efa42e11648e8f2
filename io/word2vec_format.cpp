// The word2vec text format (include/tapegrad/io/word2vec_format.hpp says what
// is accepted and refused, and why).
#include "tapegrad/io/word2vec_format.hpp"


#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "atomic_write.hpp"
#include "npz_format.hpp"  // in_quotes

namespace tg::io {

using npz_format::in_quotes;

namespace {

// ---- shared by reading and writing ---------------------------------------------

// Fields are separated by any ASCII whitespace but '\n' (which ends the line),
// so a word read back never holds whitespace, which save_word2vec_format refuses.
bool is_separator(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
bool is_whitespace(char c) { return is_separator(c) || c == '\n'; }

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
// Returns the offset of the first invalid byte, or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    std::uint32_t min, cp;
    if (c >= 0xC2 && c <= 0xDF) extra = 1, min = 0x80, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) extra = 2, min = 0x800, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) extra = 3, min = 0x10000, cp = c & 0x07;
    else return i;
    if (i + static_cast<std::size_t>(extra) >= s.size()) return i;  // cut short
    for (int k = 1; k <= extra; ++k) {
      auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((d & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return std::string_view::npos;
}

// ---- reading ------------------------------------------------------------------

class Reader {
 public:
  Reader(std::string_view text, std::string where) : text_(text), where_(std::move(where)) {}

  WordVectors read() {
    if (text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);  // a BOM
    if (text_.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos)
      fail_file(text_.empty() ? "the file is empty; expected a header line 'COUNT DIM' (e.g. '3 100') and then "
                                "one line per word"
                              : "the file holds only whitespace; expected a header line 'COUNT DIM' (e.g. '3 100') "
                                "and then one line per word");
    read_header();

    WordVectors result;
    result.words.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(count_, text_.size() / 2 + 1)));
    std::vector<float> values;
    values.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(count_ * dim_, text_.size() / 2 + 1)));
    std::unordered_map<std::string_view, std::uint64_t> first_line;
    std::vector<std::string_view> fields;

    for (std::uint64_t w = 0; w < count_; ++w) {
      std::string_view line;
      if (!next_line(line))
        fail_file("the header says " + std::to_string(count_) + " words, but the file ends after " +
                  std::to_string(w) + (w == 1 ? " word" : " words") +
                  " (is the count in the header wrong, or the file cut short?)");
      if (line.empty())
        fail_line("the line is empty; expected a word and " + std::to_string(dim_) + " values (the header says " +
                  std::to_string(count_) + " words: is that count too large?)");
      if (is_separator(line.front()))
        fail_line("the line starts with whitespace; expected the word first, then " + std::to_string(dim_) +
                  " values");
      split(line, fields);
      std::string_view word = fields[0];
      if (std::size_t bad = invalid_utf8_at(word); bad != std::string_view::npos)
        fail_line("the word " + in_quotes(word) + " is not valid UTF-8 (byte " + std::to_string(bad + 1) +
                  "); save the file as UTF-8");
      if (fields.size() - 1 != dim_)
        fail_line("expected " + std::to_string(dim_) + " values after the word " + in_quotes(word) + " (the header's " +
                  "dimension), found " + std::to_string(fields.size() - 1));
      auto [it, inserted] = first_line.emplace(word, line_number_);
      if (!inserted)
        fail_line("the word " + in_quotes(word) + " appears again (first on line " + std::to_string(it->second) +
                  "); each word may have only one vector");
      for (std::size_t j = 1; j < fields.size(); ++j) values.push_back(parse_value(fields[j], j, word));
      result.words.emplace_back(word);
    }
    std::string_view line;
    while (next_line(line))
      if (!line.empty())
        fail_line("another line after the " + std::to_string(count_) +
                  " words the header announces (is the count in the header too small?)");

    result.vectors = Tensor::empty(Shape{static_cast<std::int64_t>(count_), static_cast<std::int64_t>(dim_)});
    if (!values.empty()) std::memcpy(result.vectors.data<float>(), values.data(), values.size() * sizeof(float));
    return result;
  }

 private:
  [[noreturn]] void fail_file(const std::string& what) const {
    throw std::runtime_error("load_word2vec_format: " + where_ + ": " + what);
  }
  [[noreturn]] void fail_line(const std::string& what) const {
    throw std::runtime_error("load_word2vec_format: " + where_ + ", line " + std::to_string(line_number_) + ": " +
                             what);
  }

  // The next line without its '\n' and trailing whitespace; false at the end of the text.
  bool next_line(std::string_view& line) {
    if (position_ >= text_.size()) return false;
    std::size_t end = text_.find('\n', position_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(position_, end - position_);
    position_ = end + 1;
    ++line_number_;
    while (!line.empty() && is_separator(line.back())) line.remove_suffix(1);
    return true;
  }

  static void split(std::string_view line, std::vector<std::string_view>& fields) {
    fields.clear();
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && is_separator(line[i])) ++i;
      std::size_t start = i;
      while (i < line.size() && !is_separator(line[i])) ++i;
      if (i > start) fields.push_back(line.substr(start, i - start));
    }
  }

  void read_header() {
    std::string_view line;
    next_line(line);
    const std::string expected = "expected a header 'COUNT DIM' (two whole numbers, e.g. '3 100'; "
                                 "the text format of gensim's save_word2vec_format)";
    std::vector<std::string_view> fields;
    split(line, fields);
    if (fields.size() != 2) fail_line(expected + ", found " + in_quotes(line, 80));
    auto parse = [&](std::string_view field, const char* what) {
      std::uint64_t v = 0;
      auto r = std::from_chars(field.data(), field.data() + field.size(), v);
      if (r.ec == std::errc::result_out_of_range)
        fail_line(std::string("the ") + what + " " + in_quotes(field, 80) + " in the header is too large");
      if (r.ec != std::errc() || r.ptr != field.data() + field.size())
        fail_line(expected + ", found " + in_quotes(line, 80) + " (the " + what + " " + in_quotes(field, 80) +
                  " is not a whole number)");
      return v;
    };
    count_ = parse(fields[0], "word count");
    dim_ = parse(fields[1], "dimension");
    if (dim_ == 0) fail_line("the header says the vectors have dimension 0; expected at least 1");
    constexpr std::uint64_t limit = std::uint64_t{1} << 53;
    if (count_ >= limit || dim_ >= limit || count_ * dim_ >= limit || count_ * dim_ / dim_ != count_)
      fail_line("the header's " + std::to_string(count_) + " words of dimension " + std::to_string(dim_) +
                " are more values than a tensor holds");
  }

  float parse_value(std::string_view field, std::size_t index, std::string_view word) const {
    auto describe = [&] {
      return "value " + std::to_string(index) + " of the word " + in_quotes(word, 80) + " (" + in_quotes(field, 80) +
             ")";
    };
    std::string_view digits = field;
    // from_chars has no leading '+'; Python's float() (gensim) accepts one.
    if (digits.size() > 1 && digits[0] == '+' && digits[1] != '-' && digits[1] != '+') digits.remove_prefix(1);
    const char* end = digits.data() + digits.size();
    float value = 0;
    auto r = std::from_chars(digits.data(), end, value, std::chars_format::general);
    if (r.ptr != end || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range))
      fail_line(describe() + " is not a number");
    if (r.ec == std::errc::result_out_of_range) {
      // Too large for float32, or so small it rounds to zero.
      double wide = 0;
      auto rd = std::from_chars(digits.data(), end, wide, std::chars_format::general);
      if (rd.ec == std::errc() && std::fabs(wide) < 1.0) return static_cast<float>(wide);
      fail_line(describe() + " is beyond the float32 range (magnitude at most 3.4028235e+38)");
    }
    if (std::isnan(value))
      fail_line(describe() + " is NaN; a vectors file with NaN comes from a training run that diverged");
    if (std::isinf(value))
      fail_line(describe() + " is infinite; a vectors file with infinities comes from a training run that diverged");
    return value;
  }

  std::string_view text_;
  std::string where_;
  std::size_t position_ = 0;
  std::uint64_t line_number_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t dim_ = 0;
};

}  // namespace

// ---- writing --------------------------------------------------------------------

void save_word2vec_format(const std::string& path, const std::vector<std::string>& words, const Tensor& vectors) {
  if (path.empty()) throw std::invalid_argument("save_word2vec_format: the path is empty");
  const std::string where = "save_word2vec_format: " + path + ": ";

  if (!vectors.defined()) throw std::invalid_argument(where + "the vectors tensor is undefined");
  if (vectors.dtype() != DType::float32)
    throw std::invalid_argument(where + "the vectors must be float32 (the format holds float32 values), got " +
                                dtype_name(vectors.dtype()) + "; convert with vectors.to(tg::float32)");
  if (vectors.rank() != 2)
    throw std::invalid_argument(where + "the vectors must be a matrix (words, dim), got shape " +
                                vectors.shape().str());
  if (vectors.dim(0) != static_cast<std::int64_t>(words.size()))
    throw std::invalid_argument(where + std::to_string(words.size()) + " words but " +
                                std::to_string(vectors.dim(0)) + " vectors (shape " + vectors.shape().str() +
                                "); expected one row per word");
  if (vectors.dim(1) == 0)
    throw std::invalid_argument(where + "the vectors have dimension 0 (shape " + vectors.shape().str() +
                                "); expected at least 1");

  std::unordered_set<std::string_view> seen;
  seen.reserve(words.size());
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    const std::string which = "word " + std::to_string(i) + " (" + in_quotes(word, 80) + ")";
    if (word.empty()) throw std::invalid_argument(where + "word " + std::to_string(i) + " is empty");
    for (char c : word)
      if (is_whitespace(c))
        throw std::invalid_argument(where + which +
                                    " contains whitespace; in the text format a space or newline would split it "
                                    "(replace it, e.g. with '_')");
    if (std::size_t bad = invalid_utf8_at(word); bad != std::string::npos)
      throw std::invalid_argument(where + which + " is not valid UTF-8 (byte " + std::to_string(bad + 1) + ")");
    if (!seen.insert(word).second)
      throw std::invalid_argument(where + which + " appears twice; each word may have only one vector");
  }

  const std::int64_t dim = vectors.dim(1);
  const float* data = vectors.data<float>();
  std::string text = std::to_string(words.size()) + " " + std::to_string(dim) + "\n";
  text.reserve(text.size() + words.size() * static_cast<std::size_t>(dim) * 12);
  char buffer[64];
  for (std::size_t i = 0; i < words.size(); ++i) {
    text += words[i];
    const float* row = data + static_cast<std::int64_t>(i) * dim;
    for (std::int64_t j = 0; j < dim; ++j) {
      if (!std::isfinite(row[j]))
        throw std::invalid_argument(where + "the vector of " + in_quotes(words[i], 80) + " (row " + std::to_string(i) +
                                    ") holds " + (std::isnan(row[j]) ? "NaN" : "an infinity") + " at column " +
                                    std::to_string(j) + "; did the training diverge?");
      auto r = std::to_chars(buffer, buffer + sizeof buffer, row[j]);  // shortest round-trip form
      text += ' ';
      text.append(buffer, r.ptr);
    }
    text += '\n';
  }
  detail::write_atomically(path, where, [&](const detail::ByteSink& write) { write(text.data(), text.size()); });
}

WordVectors load_word2vec_format_from_memory(std::string_view text) { return Reader(text, "<memory>").read(); }

WordVectors load_word2vec_format(const std::string& path) {
  const std::string where = "load_word2vec_format: " + path + ": ";
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0) {
    int error = errno;
    throw std::runtime_error(where + "cannot open the file: " + std::strerror(error) +
                             (error == ENOENT ? " (check the path)" : ""));
  }
  if (S_ISDIR(info.st_mode)) throw std::runtime_error(where + "is a directory, not a vectors file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(where + "cannot open the file: " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error(where + "reading the file failed");
  return Reader(text, path).read();
}

}  // namespace tg::io
