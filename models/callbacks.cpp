// History and the callbacks fit() calls (see callbacks.hpp for when).
#include "tapegrad/models/callbacks.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>

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

// The shortest decimal that reads back as `value`.
std::string shortest(double value) {
  if (std::isnan(value)) return "nan";  // whatever its sign bit
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

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
    throw std::invalid_argument("EarlyStopping: min_delta must be finite, received " + shortest(min_delta));
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

ModelCheckpoint::ModelCheckpoint(std::string path, std::string monitor, bool save_best_only, std::string mode)
    : path_(std::move(path)), monitor_(std::move(monitor)), mode_(std::move(mode)), save_best_only_(save_best_only) {
  if (path_.empty()) throw std::invalid_argument("ModelCheckpoint: the path must not be empty");
  mode_ = resolve_mode("ModelCheckpoint", mode_, monitor_);
}

std::string ModelCheckpoint::path_for(int epoch) const {
  // "{epoch}" -> 3, "{epoch:03d}" -> 003 (1-based epoch numbers, as Keras).
  std::string out;
  const std::string number = std::to_string(epoch + 1);
  std::size_t i = 0;
  while (i < path_.size()) {
    if (path_.compare(i, 7, "{epoch}") == 0) {
      out += number;
      i += 7;
      continue;
    }
    if (path_.compare(i, 7, "{epoch:") == 0) {
      // Python's format spec for an integer: an optional 0 (pad with zeros, else
      // spaces), a width, then d.
      std::size_t j = i + 7;
      const bool zeros = j < path_.size() && path_[j] == '0';
      if (zeros) ++j;
      std::size_t width = 0;
      while (j < path_.size() && std::isdigit(static_cast<unsigned char>(path_[j])))
        width = width * 10 + static_cast<std::size_t>(path_[j++] - '0');
      if (path_.compare(j, 2, "d}") == 0) {
        out += std::string(width > number.size() ? width - number.size() : 0, zeros ? '0' : ' ') + number;
        i = j + 2;
        continue;
      }
    }
    out += path_[i++];
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

CSVLogger::CSVLogger(std::string path, char separator, bool append)
    : path_(std::move(path)), separator_(separator), append_(append) {
  if (path_.empty()) throw std::invalid_argument("CSVLogger: the path must not be empty");
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
    text += it == logs.end() ? std::string("NA") : shortest(it->second);
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
             ": the loss is " + shortest(it->second) + "; training stopped";
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
    throw std::invalid_argument("LearningRateScheduler: the schedule returned " + shortest(lr) + " at epoch " +
                                std::to_string(epoch) + "; a learning rate must be a finite number >= 0");
  optimizer.set_learning_rate(lr);
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
