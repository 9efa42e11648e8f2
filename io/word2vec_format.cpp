// The word2vec text and binary formats (include/tapegrad/io/word2vec_format.hpp
// says what is accepted and refused, and why).
#include "tapegrad/io/word2vec_format.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "atomic_write.hpp"
#include "npz_format.hpp"  // in_quotes
#include "tapegrad/io/read_file.hpp"

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

// A byte count for messages: "4800000000000 bytes (4.8 TB)".
std::string describe_bytes(std::uint64_t bytes) {
  static const char* const units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  std::string out = std::to_string(bytes) + " bytes";
  if (bytes < 1000) return out;
  double scaled = static_cast<double>(bytes);
  int unit = 0;
  while (scaled >= 1000 && unit < 6) scaled /= 1000, ++unit;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, " (%.3g %s)", scaled, units[unit]);
  return out + buffer;
}

// The word2vec.c binary layout stores float32 little-endian (what gensim's
// tobytes() writes on the x86 and ARM machines that made those files).
float float32_from_little_endian(const char* bytes) {
  std::uint32_t bits = 0;
  for (int k = 3; k >= 0; --k) bits = (bits << 8) | static_cast<unsigned char>(bytes[k]);
  return std::bit_cast<float>(bits);
}
void append_little_endian(std::string& out, float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  for (int k = 0; k < 4; ++k) out += static_cast<char>((bits >> (8 * k)) & 0xFF);
}

// Whether a byte may stand among a text line's values: the text format is
// printable ASCII after the word (digits, signs, '.', 'e', and separators).
bool is_text_value_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 0x20 && u < 0x7F) || is_separator(c);
}

class Reader {
 public:
  Reader(std::string_view text, std::string where, bool binary)
      : text_(text), where_(std::move(where)), binary_(binary) {}

  WordVectors read() {
    if (!binary_ && text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);  // a BOM
    if (text_.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos)
      fail_file(text_.empty() ? "the file is empty; expected a header line 'COUNT DIM' (e.g. '3 100') and then "
                                "one line per word"
                              : "the file holds only whitespace; expected a header line 'COUNT DIM' (e.g. '3 100') "
                                "and then one line per word");
    read_header();
    check_claim();
    try {
      return binary_ ? read_binary_words() : read_text_words();
    } catch (const std::bad_alloc&) {
      fail_file("not enough memory for the " + std::to_string(count_) + " words of dimension " +
                std::to_string(dim_) + " the header announces (" + describe_bytes(count_ * dim_ * 4) +
                " of float32 values)");
    }
  }

 private:
  [[noreturn]] void fail_file(const std::string& what) const {
    throw std::runtime_error("load_word2vec_format: " + where_ + ": " + what + format_hint());
  }
  [[noreturn]] void fail_line(const std::string& what) const {
    throw std::runtime_error("load_word2vec_format: " + where_ + ", line " + std::to_string(line_number_) + ": " +
                             what + format_hint());
  }
  [[noreturn]] void fail_at(std::size_t offset, const std::string& what) const {
    throw std::runtime_error("load_word2vec_format: " + where_ + ", byte offset " + std::to_string(offset) + ": " +
                             what + format_hint());
  }

  // When a file does not parse, a hint if it looks like the other format. The
  // bytes after the first word's space are values: in the text format only
  // printable ASCII up to the line's end; in the binary one, 4 * dim raw bytes
  // that are almost never all printable (a float32 near +-1 has 0x3F or 0xBF
  // as its high byte, small integers have zero bytes).
  std::string format_hint() const {
    if (data_start_ == std::string_view::npos || data_start_ >= text_.size()) return "";
    std::string_view rest = text_.substr(data_start_);
    while (!rest.empty() && rest.front() == '\n') rest.remove_prefix(1);
    const std::size_t space = rest.find(' ');
    if (space == std::string_view::npos || space == 0) return "";
    std::string_view values = rest.substr(space + 1);
    if (binary_) {
      // Text: the first word's values are printable up to the newline and read as numbers.
      const std::size_t newline = values.find('\n');
      if (newline == std::string_view::npos || newline == 0) return "";
      std::string_view line = values.substr(0, newline);
      for (char c : line)
        if (!is_text_value_byte(c)) return "";
      if (line.find_first_not_of("0123456789+-.eE \t\r") != std::string_view::npos) return "";
      return " (this looks like the word2vec text format; pass binary=false: load_word2vec_format(path))";
    }
    values = values.substr(0, std::min<std::uint64_t>(values.size(), dim_ * 4));
    const std::size_t newline = values.find('\n');
    // The newline of a text line, or the first raw byte 0x0A of a binary vector:
    // either way the bytes before it are values.
    for (char c : values.substr(0, newline))
      if (!is_text_value_byte(c))
        return " (this looks like the binary word2vec format, gensim's binary=True; pass binary=true: "
               "load_word2vec_format(path, true))";
    return "";
  }

  // The header's claim against the file's size, before anything of that size
  // is allocated: each value takes at least 2 bytes of text (a separator and a
  // digit) or 4 bytes of binary float32, so a file smaller than that cannot
  // hold what the header says (and trusting it would allocate, say, 4.8 TB
  // for the header "4000000000 300").
  void check_claim() const {
    const std::uint64_t values = count_ * dim_;  // < 2^53 (read_header)
    const std::uint64_t per_value = binary_ ? 4 : 2;
    const std::uint64_t available = data_start_ >= text_.size() ? 0 : text_.size() - data_start_;
    if (values * per_value <= available) return;
    fail_file("the header claims " + std::to_string(count_) + " words of dimension " + std::to_string(dim_) + " (" +
              std::to_string(values) + " float32 values, " + describe_bytes(values * 4) +
              " of memory), but the file holds only " + describe_bytes(available) +
              " after the header, and " +
              (binary_ ? "in the binary format each value takes 4 bytes"
                       : "in the text format each value takes at least 2 bytes (a separator and a digit)") +
              ", so at least " + describe_bytes(values * per_value) +
              ": is the count in the header wrong, or the file cut short?");
  }

  WordVectors read_text_words() {
    WordVectors result;
    result.words.reserve(static_cast<std::size_t>(count_));  // count_ <= the file's size (check_claim)
    std::vector<float> values;
    values.reserve(static_cast<std::size_t>(count_ * dim_));
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

  // word2vec.c's binary layout, as gensim reads it: after the header line, for
  // each word its UTF-8 bytes, a space, then dim float32 values (4 bytes each,
  // little-endian). word2vec.c writes a '\n' after each vector and gensim does
  // not; newlines before a word are skipped (gensim's word.lstrip('\n')).
  WordVectors read_binary_words() {
    WordVectors result;
    result.words.reserve(static_cast<std::size_t>(count_));  // count_ * dim_ * 4 <= the file's size (check_claim)
    result.vectors = Tensor::empty(Shape{static_cast<std::int64_t>(count_), static_cast<std::int64_t>(dim_)});
    float* out = result.vectors.data<float>();
    std::unordered_map<std::string_view, std::uint64_t> first_word;
    const std::uint64_t vector_bytes = dim_ * 4;
    std::size_t position = data_start_;

    for (std::uint64_t w = 0; w < count_; ++w) {
      while (position < text_.size() && text_[position] == '\n') ++position;
      const std::string which = "word " + std::to_string(w + 1) + " of " + std::to_string(count_);
      const std::size_t space = position < text_.size() ? text_.find(' ', position) : std::string_view::npos;
      if (space == std::string_view::npos)
        fail_at(position, "the header says " + std::to_string(count_) + " words, but the file ends after " +
                              std::to_string(w) + (w == 1 ? " word" : " words") +
                              " (is the count in the header wrong, or the file cut short?)");
      std::string_view word = text_.substr(position, space - position);
      if (word.empty()) fail_at(position, which + " is empty (a space where the word should start)");
      for (std::size_t k = 0; k < word.size(); ++k) {
        auto c = static_cast<unsigned char>(word[k]);
        if (c < 0x20 || c == 0x7F) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02X", c);
          fail_at(position, which + " (" + in_quotes(word, 80) + ") holds the control byte " + hex + " at byte " +
                                std::to_string(k + 1) +
                                "; a word is text (is the dimension in the header right, or the file cut or "
                                "corrupt?)");
        }
      }
      if (std::size_t bad = invalid_utf8_at(word); bad != std::string_view::npos)
        fail_at(position, which + " (" + in_quotes(word, 80) + ") is not valid UTF-8 (byte " +
                              std::to_string(bad + 1) + "); is the dimension in the header right?");
      auto [it, inserted] = first_word.emplace(word, w + 1);
      if (!inserted)
        fail_at(position, "the word " + in_quotes(word, 80) + " appears again (first as word " +
                              std::to_string(it->second) + "); each word may have only one vector");
      const std::size_t start = space + 1;
      if (text_.size() - start < vector_bytes)
        fail_at(start, "the vector of " + in_quotes(word, 80) + " (" + which + ") needs " + std::to_string(dim_) +
                           " float32 values (" + std::to_string(vector_bytes) + " bytes), but the file ends after " +
                           std::to_string(text_.size() - start) + " (is the file cut short?)");
      for (std::uint64_t j = 0; j < dim_; ++j) {
        const float value = float32_from_little_endian(text_.data() + start + 4 * j);
        if (!std::isfinite(value))
          fail_at(start + 4 * j, "value " + std::to_string(j + 1) + " of the word " + in_quotes(word, 80) + " is " +
                                     (std::isnan(value) ? "NaN" : "infinite") +
                                     "; a vectors file with NaN or infinities comes from a training run that "
                                     "diverged");
        out[w * dim_ + j] = value;
      }
      result.words.emplace_back(word);
      position = start + vector_bytes;
    }
    const std::size_t trailing = position < text_.size() ? text_.find_first_not_of(" \t\r\n\v\f", position)
                                                          : std::string_view::npos;
    if (trailing != std::string_view::npos)
      fail_at(trailing, std::to_string(text_.size() - trailing) + " more bytes after the " + std::to_string(count_) +
                            " words the header announces (is the count in the header too small?)");
    return result;
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
                                 "the first line of gensim's save_word2vec_format)";
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
    data_start_ = std::min(position_, text_.size());
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
  bool binary_;
  std::size_t position_ = 0;  // of the text lines (the header, and the text format's words)
  std::size_t data_start_ = std::string_view::npos;  // the first byte after the header, once read
  std::uint64_t line_number_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t dim_ = 0;
};

}  // namespace

// ---- writing --------------------------------------------------------------------

void save_word2vec_format(const std::string& path, const std::vector<std::string>& words, const Tensor& vectors,
                          bool binary) {
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
    if (binary)
      for (char c : word)
        if (auto u = static_cast<unsigned char>(c); u < 0x20 || u == 0x7F)
          throw std::invalid_argument(where + which +
                                      " contains a control character; the binary format's reader takes one for a "
                                      "sign of a misread vector and refuses it");
    if (!seen.insert(word).second)
      throw std::invalid_argument(where + which + " appears twice; each word may have only one vector");
  }

  const std::int64_t dim = vectors.dim(1);
  const float* data = vectors.data<float>();
  for (std::size_t i = 0; i < words.size(); ++i)
    for (std::int64_t j = 0; j < dim; ++j)
      if (const float v = data[static_cast<std::int64_t>(i) * dim + j]; !std::isfinite(v))
        throw std::invalid_argument(where + "the vector of " + in_quotes(words[i], 80) + " (row " + std::to_string(i) +
                                    ") holds " + (std::isnan(v) ? "NaN" : "an infinity") + " at column " +
                                    std::to_string(j) + "; did the training diverge?");

  std::string text = std::to_string(words.size()) + " " + std::to_string(dim) + "\n";
  text.reserve(text.size() + words.size() * static_cast<std::size_t>(dim) * (binary ? 4 : 12));
  char buffer[64];
  for (std::size_t i = 0; i < words.size(); ++i) {
    text += words[i];
    const float* row = data + static_cast<std::int64_t>(i) * dim;
    if (binary) {
      // As gensim 4 writes it: "word " and the raw float32s, no newline.
      text += ' ';
      for (std::int64_t j = 0; j < dim; ++j) append_little_endian(text, row[j]);
      continue;
    }
    for (std::int64_t j = 0; j < dim; ++j) {
      auto r = std::to_chars(buffer, buffer + sizeof buffer, row[j]);  // shortest round-trip form
      text += ' ';
      text.append(buffer, r.ptr);
    }
    text += '\n';
  }
  detail::write_atomically(path, where, [&](const detail::ByteSink& write) { write(text.data(), text.size()); });
}

WordVectors load_word2vec_format_from_memory(std::string_view bytes, bool binary) {
  return Reader(bytes, "<memory>", binary).read();
}

WordVectors load_word2vec_format(const std::string& path, bool binary) {
  if (path.empty()) throw std::invalid_argument("load_word2vec_format: the path is empty");
  const std::string bytes = read_regular_file(path, "load_word2vec_format", "a vectors file");
  return Reader(bytes, path, binary).read();
}

}  // namespace tg::io
