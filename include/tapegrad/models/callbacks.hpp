// Callbacks: hooks fit() calls at the start and end of training, of each epoch
// and of each batch, with the current logs ({"loss": ..., "val_loss": ...}).
//
// Order of the calls in fit(), as Keras:
//   on_train_begin
//   for each epoch:  on_epoch_begin(epoch), then per batch on_train_batch_begin(batch)
//                    and on_train_batch_end(batch, running means of loss and metrics),
//                    then on_epoch_end(epoch, epoch means + "val_..." values)
//   on_train_end     (also when fit() ends by an exception, before it propagates:
//                     EarlyStopping then still restores its best weights)
// Epochs and batches are 0-based, as in Keras. Setting model().stop_training
// ends fit() after the current batch (the epoch is then closed normally:
// validation, on_epoch_end, History).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

class Model;
using Logs = std::map<std::string, double>;

// Per-epoch values of the loss and metrics, as Keras's History.history.
// fit() returns it; it is not a callback to pass in (fit fills it itself).
class History {
 public:
  std::map<std::string, std::vector<double>> history;
  // The number of epochs recorded (the length of history["loss"]).
  int epochs() const;
  // The values of one key; throws naming the known keys if absent.
  const std::vector<double>& operator[](const std::string& key) const;
};

namespace callbacks {

// What fit() tells its callbacks before training (Keras's callback.params).
struct TrainingParams {
  int epochs = 0;
  std::int64_t steps = 0;  // batches per epoch
  int verbose = 0;
};

class Callback {
 public:
  virtual ~Callback() = default;
  void set_model(Model* model) { model_ = model; }
  void set_params(const TrainingParams& params) { params_ = params; }
  const TrainingParams& params() const { return params_; }
  virtual void on_train_begin(const Logs&) {}
  virtual void on_train_end(const Logs&) {}
  virtual void on_epoch_begin(int /*epoch*/, const Logs&) {}
  virtual void on_epoch_end(int /*epoch*/, const Logs&) {}
  virtual void on_train_batch_begin(int /*batch*/, const Logs&) {}
  virtual void on_train_batch_end(int /*batch*/, const Logs&) {}

 protected:
  // The model fit() runs (throws std::logic_error if the callback is used outside fit()).
  Model& model();

 private:
  Model* model_ = nullptr;
  TrainingParams params_;
};

// Stops training when `monitor` has not improved by more than min_delta for
// `patience` epochs; with restore_best_weights the weights of the best epoch
// are put back at the end (also when training stops for another reason or
// runs to the end, and when fit() throws). Keras's rule: an epoch improves if
// value < best - min_delta (mode min) or value > best + min_delta (max); after
// each epoch that does not improve, wait grows by one, and training stops once
// wait >= patience (so patience = 2 stops at the 2nd epoch without improvement).
// mode "min", "max" or "auto" (max for names containing "acc", else min).
// A monitor that is not in the epoch's logs is an error naming the keys there.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(std::string monitor = "val_loss", int patience = 0, double min_delta = 0.0,
                         std::string mode = "auto", bool restore_best_weights = false);
  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  void on_train_end(const Logs& logs) override;
  // The epoch training stopped at (-1 if it ran to the end), and the best epoch.
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }
  double best() const { return best_; }

 private:
  std::string monitor_, mode_;
  int patience_;
  double min_delta_;
  bool restore_best_weights_;
  int wait_ = 0, stopped_epoch_ = -1, best_epoch_ = -1;
  double best_ = 0;
  std::vector<std::pair<Tensor, Tensor>> best_weights_;  // (weight, its value at the best epoch)
};

// Saves the model's weights (save_weights) after each epoch, or only when
// `monitor` improved (strictly; mode as EarlyStopping) with save_best_only.
// The path is a pattern, read as Python's str.format reads Keras's filepath:
// "{epoch}" is replaced by the 1-based epoch number, "{epoch:03d}" by the
// same zero-padded to 3 digits ("{epoch:5d}" pads with spaces, "{epoch:d}" and
// "{epoch:}" do not), "{{" and "}}" are literal braces. The constructor
// refuses (std::invalid_argument, naming the field) anything else, so that
// nothing fails after an epoch of training: a width above 64, another field
// ("{val_loss:.2f}": Keras fills in the logs, we do not), another format spec,
// a lone '{' or '}'.
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string path, std::string monitor = "val_loss", bool save_best_only = false,
                           std::string mode = "auto");
  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  // The files written so far in this fit, in order.
  const std::vector<std::string>& saved() const { return saved_; }
  // `path` with {epoch} filled in for a 0-based epoch.
  std::string path_for(int epoch) const;

 private:
  // The pattern, parsed: literal text, or the epoch number padded to `width`.
  struct PathPiece {
    std::string text;
    bool epoch = false;
    bool zeros = false;  // pad with '0' (else with spaces)
    int width = 0;
  };
  std::string path_, monitor_, mode_;
  std::vector<PathPiece> pieces_;
  bool save_best_only_;
  std::vector<std::string> saved_;
  double best_ = 0;
  bool has_best_ = false;
};

// Writes one CSV row per epoch: epoch (0-based, as Keras), then the logs' keys
// in sorted order, with a header line naming them. Numbers are written in the
// shortest form that reads back exactly ("0.25", "1e-07", "nan"). The file is
// created (or, with append, continued, without a second header) at the start
// of training and flushed after every row. The keys are those of the first
// epoch; a key missing later is written as "NA".
// Nothing is quoted, so that every field stays readable by a plain split:
// the separator must be a tab or a printable ASCII character that is not a
// letter, a digit, '.', '-', '+', '"' or '\'' (those appear in numbers, "nan",
// "inf", "NA" or would start a quoted field), refused by the constructor; a log
// key (a metric's name) containing the separator, a quote, CR or LF is refused
// when the header is taken from the first epoch's logs, naming the key.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string path, char separator = ',', bool append = false);
  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;

 private:
  std::string path_;
  char separator_;
  bool append_;
  bool write_header_ = true;
  std::vector<std::string> keys_;
};

// Stops training at the first batch whose loss is NaN or infinite, saying which
// on `os` ("TerminateOnNaN: epoch 2/5, batch 7: the loss is nan; training stopped")
// and in message(). Keras's behaviour: that batch's update has been applied.
class TerminateOnNaN : public Callback {
 public:
  explicit TerminateOnNaN(std::ostream& os);
  TerminateOnNaN();  // writes to std::cerr
  void on_train_begin(const Logs& logs) override;
  void on_epoch_begin(int epoch, const Logs& logs) override;
  void on_train_batch_end(int batch, const Logs& logs) override;
  // Where training was stopped (0-based; -1 if it was not), and the message.
  int stopped_epoch() const { return stopped_epoch_; }
  int stopped_batch() const { return stopped_batch_; }
  const std::string& message() const { return message_; }

 private:
  std::ostream* os_;
  int epoch_ = 0, stopped_epoch_ = -1, stopped_batch_ = -1;
  std::string message_;
};

// Sets the optimizer's learning rate at the start of each epoch (0-based) to
// schedule(epoch, current learning rate). The optimizer must have a constant
// learning rate (one built on a schedule object refuses set_learning_rate).
class LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(std::function<double(int epoch, double lr)> schedule);
  void on_epoch_begin(int epoch, const Logs& logs) override;

 private:
  std::function<double(int, double)> schedule_;
};

// Keras's ReduceLROnPlateau, with its defaults: when `monitor` has not
// improved (as EarlyStopping: by more than min_delta, mode "auto" / "min" /
// "max") for `patience` epochs, the learning rate becomes
// max(lr * factor, min_lr), then `cooldown` epochs pass before waiting starts
// again. An lr already at min_lr (compared in float32, as Keras) is left. With
// verbose > 0 each reduction is reported on `os`:
//   "Epoch 12: ReduceLROnPlateau reducing learning rate to 0.0001."
// The optimizer must have a constant learning rate (a schedule refuses
// set_learning_rate). A monitor missing from the logs is an error (Keras warns).
struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;  // in (0, 1)
  int patience = 10;
  int verbose = 0;
  std::string mode = "auto";
  double min_delta = 1e-4;
  int cooldown = 0;
  double min_lr = 0.0;
};

class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(const ReduceLROnPlateauOptions& options = {});
  ReduceLROnPlateau(const ReduceLROnPlateauOptions& options, std::ostream& os);
  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  // Epochs since the last improvement, and the best value so far.
  int wait() const { return wait_; }

 private:
  ReduceLROnPlateauOptions options_;
  std::ostream* os_;
  int wait_ = 0, cooldown_counter_ = 0;
  bool has_best_ = false;
  double best_ = 0;
};

// Keras's progress output:
//   Epoch 3/10
//   157/157 [==============================] - 1s 6ms/step - loss: 0.2345 - val_loss: 0.2500
// On a terminal (verbose = 1 and `os` is std::cout or std::cerr on a tty) the
// bar is redrawn in place with \r after every batch, with the ETA and the
// running loss and metrics ("  45/157 [=======>......................] - ETA: 3s - loss: 0.2400");
// otherwise (a file, a pipe, or verbose = 2) one line per epoch is written,
// at its end. Values print with 4 decimals (4 significant digits in
// scientific notation below 1e-3). fit() adds one writing to std::cout when
// verbose > 0. epochs and steps of 0 are taken from fit()'s params.
class ProgressBar : public Callback {
 public:
  explicit ProgressBar(std::ostream& os, int verbose = 1, int epochs = 0, std::int64_t steps = 0);
  void on_train_begin(const Logs& logs) override;
  void on_epoch_begin(int epoch, const Logs& logs) override;
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  // Forces (or disables) the in-place redrawing, whatever `os` is.
  void set_terminal(bool terminal) { terminal_ = terminal; }

 private:
  std::string bar(std::int64_t done) const;
  std::ostream& os_;
  int verbose_, epochs_;
  std::int64_t steps_;
  bool terminal_;
  std::int64_t seen_ = 0;
  std::size_t last_width_ = 0;
  double epoch_start_ = 0;
};

}  // namespace callbacks
}  // namespace tg
