// History and the callbacks fit() calls (see callbacks.hpp for when).
#include "tapegrad/models/callbacks.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/models/model.hpp"
#include "tapegrad/optimizers/optimizer.hpp"

namespace tg {

namespace {

std::string keys_of(const Logs& logs) {
  std::string s;
  for (const auto& [key, value] : logs) s += (s.empty() ? "" : ", ") + key;
  return s.empty() ? "none" : s;
}

// The shortest decimal that reads back as `value`; "nan" for any NaN.
using detail::format_number;

double seconds_now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// "min" or "max" for a mode and a monitored key (Keras's "auto": max for accuracies).
std::string resolve_mode(const char* who, const std::string& mode, const std::string& monitor) {
  if (mode == "min" || mode == "max") return mode;
  if (mode == "auto") return monitor.find("acc") != std::string::npos ? "max" : "min";
  throw std::invalid_argument(std::string(who) + ": mode must be \"min\", \"max\" or \"auto\", received \"" + mode +
                              "\"");
}

double monitored(const char* who, const std::string& monitor, const Logs& logs) {
  auto it = logs.find(monitor);
  if (it == logs.end())
    throw std::invalid_argument(std::string(who) + ": the monitored value '" + monitor +
                                "' is not in the epoch's logs (available: " + keys_of(logs) + ")" +
                                (monitor.rfind("val_", 0) == 0 ? "; pass validation_split or validation data to fit"
                                                               : ""));
  return it->second;
}

}  // namespace

// ---- History -----------------------------------------------------------------------------

int History::epochs() const {
  auto it = history.find("loss");
  return it == history.end() ? 0 : static_cast<int>(it->second.size());
}

const std::vector<double>& History::operator[](const std::string& key) const {
  auto it = history.find(key);
  if (it == history.end()) {
    std::string known;
    for (const auto& [k, v] : history) known += (known.empty() ? "" : ", ") + k;
    throw std::out_of_range("History: no values for '" + key + "' (recorded: " + (known.empty() ? "none" : known) +
                            ")");
  }
  return it->second;
}

namespace callbacks {

Model& Callback::model() {
  if (model_ == nullptr)
    throw std::logic_error("Callback: no model is set; callbacks are run by Model::fit (or call set_model first)");
  return *model_;
}

// ---- EarlyStopping -------------------------------------------------------------------------

EarlyStopping::EarlyStopping(std::string monitor, int patience, double min_delta, std::string mode,
                             bool restore_best_weights)
    : monitor_(std::move(monitor)),
      mode_(std::move(mode)),
      patience_(patience),
      min_delta_(std::abs(min_delta)),
      restore_best_weights_(restore_best_weights) {
  mode_ = resolve_mode("EarlyStopping", mode_, monitor_);
  if (patience_ < 0)
    throw std::invalid_argument("EarlyStopping: patience must be >= 0, received " + std::to_string(patience_));
  if (!std::isfinite(min_delta_))
    throw std::invalid_argument("EarlyStopping: min_delta must be finite, received " + format_number(min_delta));
}

void EarlyStopping::on_train_begin(const Logs&) {
  wait_ = 0;
  stopped_epoch_ = -1;
  best_epoch_ = -1;
  best_ = mode_ == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(int epoch, const Logs& logs) {
  const double current = monitored("EarlyStopping", monitor_, logs);
  auto snapshot = [this] {
    best_weights_.clear();
    for (const Tensor& w : model().weights()) best_weights_.emplace_back(w, w.clone());
  };
  // Keras: until a first improvement, the weights to go back to are the first epoch's.
  if (restore_best_weights_ && best_weights_.empty()) snapshot();
  ++wait_;
  const bool improved = mode_ == "min" ? current < best_ - min_delta_ : current > best_ + min_delta_;
  if (improved) {
    best_ = current;
    best_epoch_ = epoch;
    if (restore_best_weights_) snapshot();
    wait_ = 0;
    return;
  }
  if (wait_ >= patience_ && epoch > 0) {
    stopped_epoch_ = epoch;
    model().stop_training = true;
  }
}

void EarlyStopping::on_train_end(const Logs&) {
  if (!restore_best_weights_ || best_weights_.empty()) return;
  NoGradGuard no_grad;
  for (auto& [weight, value] : best_weights_) weight.assign(value);
}

// ---- ModelCheckpoint --------------------------------------------------------------------------

namespace {

// The widest padding a ModelCheckpoint pattern may ask for: far above any
// epoch count (an int has 10 digits), far below a file name's 255 bytes.
constexpr int kMaxEpochWidth = 64;

}  // namespace

ModelCheckpoint::ModelCheckpoint(std::string path, std::string monitor, bool save_best_only, std::string mode)
    : path_(std::move(path)), monitor_(std::move(monitor)), mode_(std::move(mode)), save_best_only_(save_best_only) {
  if (path_.empty()) throw std::invalid_argument("ModelCheckpoint: the path must not be empty");
  mode_ = resolve_mode("ModelCheckpoint", mode_, monitor_);
  // Python's str.format grammar, restricted to the one field we fill in.
  const std::string where = "ModelCheckpoint: the path '" + path_ + "'";
  const std::string accepted =
      "the fields filled in are {epoch}, {epoch:d}, {epoch:Nd} and {epoch:0Nd} (N <= " +
      std::to_string(kMaxEpochWidth) + "); write a literal brace as {{ or }}";
  PathPiece literal;
  auto flush_literal = [&] {
    if (!literal.text.empty()) pieces_.push_back(literal);
    literal.text.clear();
  };
  std::size_t i = 0;
  while (i < path_.size()) {
    const char c = path_[i];
    if ((c == '{' || c == '}') && i + 1 < path_.size() && path_[i + 1] == c) {
      literal.text += c;
      i += 2;
      continue;
    }
    if (c == '}')
      throw std::invalid_argument(where + " has a single '}' at position " + std::to_string(i) + "; " + accepted);
    if (c != '{') {
      literal.text += c;
      ++i;
      continue;
    }
    const std::size_t close = path_.find('}', i);
    if (close == std::string::npos)
      throw std::invalid_argument(where + " has a '{' at position " + std::to_string(i) + " that is never closed; " +
                                  accepted);
    const std::string field = path_.substr(i, close + 1 - i);
    const std::string inside = path_.substr(i + 1, close - i - 1);
    const std::size_t colon = inside.find(':');
    const std::string name = inside.substr(0, colon);
    if (name != "epoch")
      throw std::invalid_argument(where + " has the field " + field + ", which is not filled in (Keras fills in " +
                                  "the logs' values too, tapegrad does not); " + accepted);
    PathPiece piece;
    piece.epoch = true;
    if (colon != std::string::npos) {
      // [0][width][d], the width's digits accumulated only while <= the cap.
      const std::string spec = inside.substr(colon + 1);
      std::size_t j = 0;
      if (j < spec.size() && spec[j] == '0') {
        piece.zeros = true;
        ++j;
      }
      std::int64_t width = 0;
      bool too_wide = false;
      while (j < spec.size() && std::isdigit(static_cast<unsigned char>(spec[j]))) {
        width = width * 10 + (spec[j++] - '0');
        if (width > kMaxEpochWidth) too_wide = true;
        if (too_wide) width = kMaxEpochWidth + 1;
      }
      if (j < spec.size() && spec[j] == 'd') ++j;
      if (j != spec.size())
        throw std::invalid_argument(where + " has the field " + field + ", whose format '" + spec +
                                    "' is not an integer width; " + accepted);
      if (too_wide)
        throw std::invalid_argument(where + " has the field " + field + ", whose width is above " +
                                    std::to_string(kMaxEpochWidth) + "; " + accepted);
      piece.width = static_cast<int>(width);
    }
    flush_literal();
    pieces_.push_back(piece);
    i = close + 1;
  }
  flush_literal();
}

std::string ModelCheckpoint::path_for(int epoch) const {
  // 1-based epoch numbers, as Keras.
  const std::string number = std::to_string(epoch + 1);
  std::string out;
  for (const PathPiece& piece : pieces_) {
    if (!piece.epoch) {
      out += piece.text;
      continue;
    }
    const std::size_t width = static_cast<std::size_t>(piece.width);
    out += std::string(width > number.size() ? width - number.size() : 0, piece.zeros ? '0' : ' ') + number;
  }
  return out;
}

void ModelCheckpoint::on_train_begin(const Logs&) {
  best_ = mode_ == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  has_best_ = false;
  saved_.clear();
}

void ModelCheckpoint::on_epoch_end(int epoch, const Logs& logs) {
  if (save_best_only_) {
    const double current = monitored("ModelCheckpoint", monitor_, logs);
    const bool improved = mode_ == "min" ? current < best_ : current > best_;
    if (!improved) return;
    best_ = current;
    has_best_ = true;
  }
  const std::string path = path_for(epoch);
  model().save_weights(path);
  saved_.push_back(path);
}

// ---- CSVLogger --------------------------------------------------------------------------------

namespace {

// 'c' for a printable character, else an escape: '\n', '\x01'.
std::string quoted_char(char c) {
  switch (c) {
    case '\n': return "'\\n'";
    case '\r': return "'\\r'";
    case '\t': return "'\\t'";
    case '\0': return "'\\0'";
    default: break;
  }
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "'\\x%02x'", u);
  return buffer;
}

// A separator a plain split can rely on: nothing our numbers ("-1.5e+07",
// "nan", "inf"), "NA" or "epoch" contain, no quote (a reader would start a
// quoted field), no line break, nothing outside printable ASCII.
bool valid_separator(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (c == '\t') return true;
  if (u < 0x20 || u >= 0x7f) return false;
  if (std::isalnum(u)) return false;
  return c != '.' && c != '-' && c != '+' && c != '"' && c != '\'';
}

}  // namespace

CSVLogger::CSVLogger(std::string path, char separator, bool append)
    : path_(std::move(path)), separator_(separator), append_(append) {
  if (path_.empty()) throw std::invalid_argument("CSVLogger: the path must not be empty");
  if (!valid_separator(separator_))
    throw std::invalid_argument("CSVLogger: the separator must be a tab or a printable ASCII character other than a "
                                "letter, a digit, '.', '-', '+' and the quotes (those appear in the numbers, or "
                                "would start a quoted field), received " +
                                quoted_char(separator_));
}

void CSVLogger::on_train_begin(const Logs&) {
  keys_.clear();
  write_header_ = true;
  if (append_) {
    std::ifstream existing(path_);
    std::string first;
    if (existing && std::getline(existing, first) && !first.empty()) write_header_ = false;
  }
  // Created (or truncated) now, so that a bad path fails before any training.
  std::ofstream file(path_, append_ ? std::ios::app : std::ios::trunc);
  if (!file)
    throw std::runtime_error("CSVLogger: cannot open '" + path_ + "' for writing: " + std::strerror(errno));
}

void CSVLogger::on_epoch_end(int epoch, const Logs& logs) {
  std::string text;
  if (keys_.empty()) {
    // The header is taken from these keys: each must stay one field of it.
    for (const auto& [key, value] : logs) {
      for (char c : key)
        if (c == separator_ || c == '\n' || c == '\r' || c == '"')
          throw std::invalid_argument("CSVLogger: the log key '" + key + "' (a metric's name) contains " +
                                      (c == separator_ ? "the separator " : std::string()) + quoted_char(c) +
                                      ", which would break the CSV file's columns; rename the metric" +
                                      (c == separator_ ? " or choose another separator" : std::string()));
    }
    for (const auto& [key, value] : logs) keys_.push_back(key);
    if (write_header_) {
      text += "epoch";
      for (const std::string& key : keys_) text += separator_ + key;
      text += '\n';
      write_header_ = false;
    }
  }
  text += std::to_string(epoch);
  for (const std::string& key : keys_) {
    auto it = logs.find(key);
    text += separator_;
    text += it == logs.end() ? std::string("NA") : format_number(it->second);
  }
  text += '\n';
  std::ofstream file(path_, std::ios::app);
  file << text;
  file.flush();
  if (!file) throw std::runtime_error("CSVLogger: cannot write to '" + path_ + "': " + std::strerror(errno));
}

// ---- TerminateOnNaN -----------------------------------------------------------------------------

TerminateOnNaN::TerminateOnNaN(std::ostream& os) : os_(&os) {}
TerminateOnNaN::TerminateOnNaN() : os_(&std::cerr) {}

void TerminateOnNaN::on_train_begin(const Logs&) {
  epoch_ = 0;
  stopped_epoch_ = -1;
  stopped_batch_ = -1;
  message_.clear();
}

void TerminateOnNaN::on_epoch_begin(int epoch, const Logs&) { epoch_ = epoch; }

void TerminateOnNaN::on_train_batch_end(int batch, const Logs& logs) {
  auto it = logs.find("loss");
  if (it == logs.end() || std::isfinite(it->second)) return;
  stopped_epoch_ = epoch_;
  stopped_batch_ = batch;
  const TrainingParams& p = params();
  message_ = "TerminateOnNaN: epoch " + std::to_string(epoch_ + 1) +
             (p.epochs > 0 ? "/" + std::to_string(p.epochs) : std::string()) + ", batch " +
             std::to_string(batch + 1) + (p.steps > 0 ? "/" + std::to_string(p.steps) : std::string()) +
             ": the loss is " + format_number(it->second) + "; training stopped";
  *os_ << message_ << std::endl;
  model().stop_training = true;
}

// ---- LearningRateScheduler ------------------------------------------------------------------------

LearningRateScheduler::LearningRateScheduler(std::function<double(int, double)> schedule)
    : schedule_(std::move(schedule)) {
  if (!schedule_) throw std::invalid_argument("LearningRateScheduler: the schedule function is empty");
}

void LearningRateScheduler::on_epoch_begin(int epoch, const Logs&) {
  optimizers::Optimizer& optimizer = model().optimizer();
  const double lr = schedule_(epoch, optimizer.learning_rate());
  if (!std::isfinite(lr) || lr < 0)
    throw std::invalid_argument("LearningRateScheduler: the schedule returned " + format_number(lr) + " at epoch " +
                                std::to_string(epoch) + "; a learning rate must be a finite number >= 0");
  optimizer.set_learning_rate(lr);
}

// ---- ReduceLROnPlateau --------------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(const ReduceLROnPlateauOptions& options) : ReduceLROnPlateau(options, std::cout) {}

ReduceLROnPlateau::ReduceLROnPlateau(const ReduceLROnPlateauOptions& options, std::ostream& os)
    : options_(options), os_(&os) {
  options_.mode = resolve_mode("ReduceLROnPlateau", options_.mode, options_.monitor);
  options_.min_delta = std::abs(options_.min_delta);
  if (!(options_.factor > 0.0 && options_.factor < 1.0))
    throw std::invalid_argument("ReduceLROnPlateau: factor must be in (0, 1), received " +
                                format_number(options.factor));
  if (options_.patience < 0 || options_.cooldown < 0)
    throw std::invalid_argument("ReduceLROnPlateau: patience and cooldown must be >= 0, received patience=" +
                                std::to_string(options_.patience) + ", cooldown=" + std::to_string(options_.cooldown));
  if (!std::isfinite(options_.min_delta) || !std::isfinite(options_.min_lr) || options_.min_lr < 0)
    throw std::invalid_argument("ReduceLROnPlateau: min_delta must be finite and min_lr finite and >= 0, received "
                                "min_delta=" + format_number(options.min_delta) + ", min_lr=" +
                                format_number(options.min_lr));
}

void ReduceLROnPlateau::on_train_begin(const Logs&) {
  wait_ = 0;
  cooldown_counter_ = 0;
  has_best_ = false;
}

void ReduceLROnPlateau::on_epoch_end(int epoch, const Logs& logs) {
  const double current = monitored("ReduceLROnPlateau", options_.monitor, logs);
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  const bool improved = !has_best_ || (options_.mode == "min" ? current < best_ - options_.min_delta
                                                              : current > best_ + options_.min_delta);
  if (improved) {
    best_ = current;
    has_best_ = true;
    wait_ = 0;
    return;
  }
  if (cooldown_counter_ > 0 || ++wait_ < options_.patience) return;
  optimizers::Optimizer& optimizer = model().optimizer();
  const double old_lr = optimizer.learning_rate();
  if (!(old_lr > static_cast<double>(static_cast<float>(options_.min_lr)))) return;
  const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
  optimizer.set_learning_rate(new_lr);
  if (options_.verbose > 0)
    *os_ << "\nEpoch " << epoch + 1 << ": ReduceLROnPlateau reducing learning rate to " << format_number(new_lr)
         << ".\n";
  cooldown_counter_ = options_.cooldown;
  wait_ = 0;
}

// ---- ProgressBar ------------------------------------------------------------------------------------

namespace {

bool is_terminal(const std::ostream& os) {
  if (&os == &std::cout) return isatty(STDOUT_FILENO) == 1;
  if (&os == &std::cerr || &os == &std::clog) return isatty(STDERR_FILENO) == 1;
  return false;
}

// Keras: 4 decimals, or 4 significant digits in scientific notation for small values.
std::string format_value(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, std::abs(v) > 1e-3 || v == 0 || !std::isfinite(v) ? "%.4f" : "%.4e", v);
  return buffer;
}

// " - loss: 0.2345 - accuracy: 0.5000 - val_loss: ...": loss first, then the
// metrics, then the validation values (each group in sorted order).
std::string format_logs(const Logs& logs) {
  std::string s;
  auto add = [&](const std::string& key, double v) { s += " - " + key + ": " + format_value(v); };
  if (auto it = logs.find("loss"); it != logs.end()) add("loss", it->second);
  for (const auto& [key, v] : logs)
    if (key != "loss" && key.rfind("val_", 0) != 0) add(key, v);
  if (auto it = logs.find("val_loss"); it != logs.end()) add("val_loss", it->second);
  for (const auto& [key, v] : logs)
    if (key != "val_loss" && key.rfind("val_", 0) == 0) add(key, v);
  return s;
}

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(std::llround(seconds));
  char buffer[64];
  if (s >= 3600) std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", s / 3600, (s % 3600) / 60, s % 60);
  else if (s >= 60) std::snprintf(buffer, sizeof buffer, "%lld:%02lld", s / 60, s % 60);
  else std::snprintf(buffer, sizeof buffer, "%llds", s);
  return buffer;
}

std::string format_per_step(double seconds) {
  char buffer[64];
  if (seconds >= 1) std::snprintf(buffer, sizeof buffer, "%.0fs/step", seconds);
  else if (seconds >= 1e-3) std::snprintf(buffer, sizeof buffer, "%.0fms/step", seconds * 1e3);
  else std::snprintf(buffer, sizeof buffer, "%.0fus/step", seconds * 1e6);
  return buffer;
}

}  // namespace

ProgressBar::ProgressBar(std::ostream& os, int verbose, int epochs, std::int64_t steps)
    : os_(os), verbose_(verbose), epochs_(epochs), steps_(steps), terminal_(verbose == 1 && is_terminal(os)) {}

void ProgressBar::on_train_begin(const Logs&) {
  if (epochs_ <= 0) epochs_ = params().epochs;
  if (steps_ <= 0) steps_ = params().steps;
}

std::string ProgressBar::bar(std::int64_t done) const {
  if (steps_ <= 0) return std::to_string(done) + "/Unknown";
  std::string count = std::to_string(done);
  const std::string total = std::to_string(steps_);
  if (count.size() < total.size()) count.insert(0, total.size() - count.size(), ' ');
  // Keras's bar: 30 characters, '=' for done, '>' at the head while running.
  constexpr std::int64_t width = 30;
  const std::int64_t filled = std::min(width, width * done / steps_);
  std::string b;
  if (filled > 0) b = std::string(static_cast<std::size_t>(filled - 1), '=') + (done < steps_ ? '>' : '=');
  b += std::string(static_cast<std::size_t>(width - filled), '.');
  return count + "/" + total + " [" + b + "]";
}

void ProgressBar::on_epoch_begin(int epoch, const Logs&) {
  os_ << "Epoch " << epoch + 1 << "/" << epochs_ << "\n";
  if (terminal_) os_.flush();
  epoch_start_ = seconds_now();
  seen_ = 0;
  last_width_ = 0;
}

void ProgressBar::on_train_batch_end(int batch, const Logs& logs) {
  seen_ = batch + 1;
  if (!terminal_) return;
  const double per_step = (seconds_now() - epoch_start_) / static_cast<double>(seen_);
  std::string line = bar(seen_);
  if (steps_ > 0 && seen_ < steps_) line += " - ETA: " + format_duration(per_step * static_cast<double>(steps_ - seen_));
  line += format_logs(logs);
  const std::size_t width = line.size();
  if (line.size() < last_width_) line += std::string(last_width_ - line.size(), ' ');
  last_width_ = width;
  os_ << '\r' << line << std::flush;
}

void ProgressBar::on_epoch_end(int, const Logs& logs) {
  const double elapsed = seconds_now() - epoch_start_;
  std::string line = bar(seen_) + " - " + format_duration(elapsed) + " " +
                     format_per_step(seen_ > 0 ? elapsed / static_cast<double>(seen_) : 0.0) + format_logs(logs);
  if (terminal_) {
    const std::size_t width = line.size();
    if (width < last_width_) line += std::string(last_width_ - width, ' ');
    os_ << '\r';
  }
  os_ << line << "\n";
  os_.flush();
}

}  // namespace callbacks
}  // namespace tg
