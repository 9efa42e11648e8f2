// Callbacks: hooks fit() calls at the start and end of training, of each epoch
// and of each batch, with the current logs ({"loss": ..., "val_loss": ...}).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

class Model;
using Logs = std::map<std::string, double>;

// Per-epoch values of the loss and metrics, as Keras's History.history.
class History {
 public:
  std::map<std::string, std::vector<double>> history;
  int epochs() const;
  // The values of one key; throws naming the known keys if absent.
  const std::vector<double>& operator[](const std::string& key) const;
};

namespace callbacks {

class Callback {
 public:
  virtual ~Callback() = default;
  void set_model(Model* model) { model_ = model; }
  virtual void on_train_begin(const Logs&) {}
  virtual void on_train_end(const Logs&) {}
  virtual void on_epoch_begin(int /*epoch*/, const Logs&) {}
  virtual void on_epoch_end(int /*epoch*/, const Logs&) {}
  virtual void on_train_batch_begin(int /*batch*/, const Logs&) {}
  virtual void on_train_batch_end(int /*batch*/, const Logs&) {}

 protected:
  Model& model();

 private:
  Model* model_ = nullptr;
};

// Stops training when `monitor` has not improved by more than min_delta for
// `patience` epochs; with restore_best_weights the weights of the best epoch
// are put back at the end (also when training stops for another reason).
// mode "min", "max" or "auto" (max for names containing "acc", else min).
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

 private:
  std::string monitor_, mode_;
  int patience_;
  double min_delta_;
  bool restore_best_weights_;
  int wait_ = 0, stopped_epoch_ = -1, best_epoch_ = -1;
  double best_ = 0;
  std::vector<Tensor> best_weights_;
};

// Saves the model's weights (save_weights) after each epoch, or only when
// `monitor` improved with save_best_only. "{epoch}" in the path is replaced by
// the 1-based epoch number.
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string path, std::string monitor = "val_loss", bool save_best_only = false,
                           std::string mode = "auto");
  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;

 private:
  std::string path_, monitor_, mode_;
  bool save_best_only_;
  double best_ = 0;
  bool has_best_ = false;
};

// Writes one CSV row per epoch: epoch, then the logs' keys in sorted order.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string path, char separator = ',', bool append = false);
  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;

 private:
  std::string path_;
  char separator_;
  bool append_;
  std::vector<std::string> keys_;
};

// Stops training at the first batch whose loss is NaN or infinite, saying which.
class TerminateOnNaN : public Callback {
 public:
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_epoch_begin(int epoch, const Logs& logs) override;

 private:
  int epoch_ = 0;
};

// Sets the optimizer's learning rate at the start of each epoch to
// schedule(epoch, current learning rate).
class LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(std::function<double(int epoch, double lr)> schedule);
  void on_epoch_begin(int epoch, const Logs& logs) override;

 private:
  std::function<double(int, double)> schedule_;
};

// Keras's progress output: "Epoch 3/10", then a bar with the batch count, ETA,
// running loss and metrics, redrawn in place on a terminal; one line per epoch
// when the output is not a terminal (or verbose = 2). fit() adds it for verbose > 0.
class ProgressBar : public Callback {
 public:
  explicit ProgressBar(std::ostream& os, int verbose = 1, int epochs = 1, std::int64_t steps = 0);
  void on_epoch_begin(int epoch, const Logs& logs) override;
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;

 private:
  std::ostream& os_;
  int verbose_, epochs_;
  std::int64_t steps_;
  bool terminal_;
  double epoch_start_ = 0;
};

}  // namespace callbacks
}  // namespace tg
