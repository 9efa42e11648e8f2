// Callbacks: the order fit() calls them in, and each one's behaviour:
// EarlyStopping (stopping epoch, restoring the best weights, also after an
// exception), ModelCheckpoint, CSVLogger, TerminateOnNaN,
// LearningRateScheduler, ReduceLROnPlateau, ProgressBar; History.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "test_models_support.hpp"

using namespace models_testing;
using tg::Tensor;
namespace layers = tg::layers;
namespace callbacks = tg::callbacks;
namespace optimizers = tg::optimizers;

namespace {

// Records every call as text, and the weights and logs at each epoch's end.
struct Recorder : callbacks::Callback {
  std::vector<std::string> calls;
  std::vector<std::vector<std::vector<double>>> weights;  // per epoch end
  std::vector<tg::Logs> epoch_logs;
  std::vector<double> learning_rates;
  void on_train_begin(const tg::Logs&) override { calls.push_back("train_begin"); }
  void on_train_end(const tg::Logs&) override { calls.push_back("train_end"); }
  void on_epoch_begin(int e, const tg::Logs&) override { calls.push_back("epoch_begin " + std::to_string(e)); }
  void on_epoch_end(int e, const tg::Logs& logs) override {
    calls.push_back("epoch_end " + std::to_string(e));
    weights.push_back(snapshot(model()));
    epoch_logs.push_back(logs);
    learning_rates.push_back(model().optimizer().learning_rate());
  }
  void on_train_batch_begin(int b, const tg::Logs&) override { calls.push_back("batch_begin " + std::to_string(b)); }
  void on_train_batch_end(int b, const tg::Logs&) override { calls.push_back("batch_end " + std::to_string(b)); }
};

tg::Ref<tg::Sequential> xor_model(std::uint64_t seed, const std::string& prefix = "") {
  tg::set_seed(seed);
  // Explicit names when given: weights files are keyed by layer names.
  auto model = tg::Sequential::make({layers::Dense::make(8, "tanh", true, prefix.empty() ? "" : prefix + "_hidden"),
                        layers::Dense::make(1, "sigmoid", true, prefix.empty() ? "" : prefix + "_out")});
  model->compile(optimizers::Adam(0.05), "binary_crossentropy", {"accuracy"});
  return model;
}

// Sets every weight to `value` (to tell epochs apart by their weights).
void fill_weights(const tg::Ref<tg::Layer>& model, double value) {
  for (Tensor w : model->weights()) w.assign(tg::full(w.shape(), value, w.dtype()));
}

}  // namespace

TEST_CASE("callbacks: the order of the calls; epochs and batches are 0-based") {
  auto model = xor_model(30);
  auto recorder = std::make_shared<Recorder>();
  model->fit(xor_x(), xor_y(), {.epochs = 2, .batch_size = 2, .verbose = 0, .callbacks = {recorder}});
  const std::vector<std::string> expected = {
      "train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1", "epoch_end 0",
      "epoch_begin 1", "batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1", "epoch_end 1", "train_end"};
  CHECK(recorder->calls == expected);
  CHECK(recorder->params().epochs == 2);
  CHECK(recorder->params().steps == 2);
  CHECK(recorder->epoch_logs[0].count("loss") == 1);
  CHECK(recorder->epoch_logs[0].count("accuracy") == 1);
}

TEST_CASE("callbacks: stop_training set after a batch ends fit after that batch; the epoch is still closed") {
  auto model = xor_model(31);
  struct StopAtBatch1 : callbacks::Callback {
    void on_train_batch_end(int batch, const tg::Logs&) override {
      if (batch == 1) model().stop_training = true;
    }
  };
  auto recorder = std::make_shared<Recorder>();
  const tg::History history = model->fit(
      xor_x(), xor_y(),
      {.epochs = 5, .batch_size = 1, .verbose = 0, .callbacks = {std::make_shared<StopAtBatch1>(), recorder}});
  CHECK(history.epochs() == 1);
  CHECK(model->optimizer().iterations() == 2);
  CHECK(recorder->calls.back() == "train_end");
  CHECK(recorder->calls[recorder->calls.size() - 2] == "epoch_end 0");
}

TEST_CASE("callbacks: History: values per key; an unknown key names the recorded ones") {
  tg::History history;
  history.history["loss"] = {1.0, 0.5};
  CHECK(history.epochs() == 2);
  CHECK(history["loss"][1] == 0.5);
  CHECK_THROWS_WITH_AS(history["val_loss"], "History: no values for 'val_loss' (recorded: loss)", std::out_of_range);
  CHECK_THROWS_WITH_AS(Recorder().on_epoch_end(0, {}), doctest::Contains("Callback: no model is set"),
                       std::logic_error);
}

// ---- EarlyStopping ----------------------------------------------------------------------------

TEST_CASE("callbacks: EarlyStopping: stops after `patience` epochs without improvement and restores the best weights") {
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  model->predict(tg::zeros({1, 2}));
  callbacks::EarlyStopping stopping("val_loss", /*patience=*/2, /*min_delta=*/0.0, "auto",
                                    /*restore_best_weights=*/true);
  stopping.set_model(model.get());
  stopping.on_train_begin({});
  // val_loss per epoch: 1.0 (best), 0.5 (best), 0.6 (wait 1), 0.55 (wait 2: stop).
  const std::vector<double> losses = {1.0, 0.5, 0.6, 0.55};
  for (int epoch = 0; epoch < 4; ++epoch) {
    fill_weights(model, epoch);  // the weights "after" this epoch
    CHECK_FALSE(model->stop_training);
    stopping.on_epoch_end(epoch, {{"loss", 0.0}, {"val_loss", losses[static_cast<std::size_t>(epoch)]}});
  }
  CHECK(model->stop_training);
  CHECK(stopping.stopped_epoch() == 3);
  CHECK(stopping.best_epoch() == 1);
  CHECK(stopping.best() == 0.5);
  stopping.on_train_end({});
  for (const Tensor& w : model->weights())
    for (double v : values(w)) CHECK(v == 1.0);  // epoch 1's weights
}

TEST_CASE("callbacks: EarlyStopping: min_delta, mode max, and a monitor missing from the logs") {
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  model->predict(tg::zeros({1, 2}));
  callbacks::EarlyStopping delta("loss", /*patience=*/1, /*min_delta=*/0.1);
  delta.set_model(model.get());
  delta.on_train_begin({});
  delta.on_epoch_end(0, {{"loss", 1.0}});
  delta.on_epoch_end(1, {{"loss", 0.95}});  // better, but by less than 0.1: no improvement
  CHECK(model->stop_training);
  CHECK(delta.stopped_epoch() == 1);
  CHECK(delta.best_epoch() == 0);

  model->stop_training = false;
  callbacks::EarlyStopping accuracy("val_accuracy", /*patience=*/1);  // auto: max for accuracies
  accuracy.set_model(model.get());
  accuracy.on_train_begin({});
  accuracy.on_epoch_end(0, {{"val_accuracy", 0.5}});
  accuracy.on_epoch_end(1, {{"val_accuracy", 0.7}});
  CHECK_FALSE(model->stop_training);
  CHECK(accuracy.best_epoch() == 1);
  accuracy.on_epoch_end(2, {{"val_accuracy", 0.6}});
  CHECK(model->stop_training);

  callbacks::EarlyStopping missing;  // val_loss
  missing.set_model(model.get());
  missing.on_train_begin({});
  CHECK_THROWS_WITH_AS(missing.on_epoch_end(0, {{"loss", 1.0}}),
                       "EarlyStopping: the monitored value 'val_loss' is not in the epoch's logs (available: loss); "
                       "pass validation_split or validation data to fit",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(callbacks::EarlyStopping("loss", 0, 0.0, "lowest"),
                       "EarlyStopping: mode must be \"min\", \"max\" or \"auto\", received \"lowest\"",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(callbacks::EarlyStopping("loss", -1), "EarlyStopping: patience must be >= 0, received -1",
                       std::invalid_argument);
}

TEST_CASE("callbacks: EarlyStopping in fit: a loss that stops improving stops training at the right epoch") {
  tg::set_seed(32);
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  model->compile(optimizers::SGD(0.0), "mse");  // lr 0: the loss never changes
  auto stopping = std::make_shared<callbacks::EarlyStopping>("loss", /*patience=*/2);
  const tg::History history =
      model->fit(tg::randn({8, 2}, 1), tg::randn({8, 1}, 2), {.epochs = 10, .verbose = 0, .callbacks = {stopping}});
  // Epoch 0 improves on +inf; epochs 1 and 2 do not: stop at epoch 2.
  CHECK(history.epochs() == 3);
  CHECK(stopping->stopped_epoch() == 2);
  CHECK(stopping->best_epoch() == 0);
}

namespace {

// From epoch `from` on, replaces the weights by large random values at the
// start of each epoch (so those epochs are much worse), and throws at the
// start of epoch `throw_at` (if >= 0).
struct Sabotage : callbacks::Callback {
  int from, throw_at;
  Sabotage(int f, int t) : from(f), throw_at(t) {}
  void on_epoch_begin(int epoch, const tg::Logs&) override {
    if (epoch == throw_at) throw std::runtime_error("sabotage");
    if (epoch >= from)
      for (Tensor w : model().weights()) w.assign(tg::randn(w.shape(), static_cast<std::uint64_t>(epoch)) * 20.0);
  }
};

}  // namespace

TEST_CASE("callbacks: EarlyStopping in fit: restore_best_weights puts back the best epoch's weights") {
  auto model = xor_model(33);
  auto recorder = std::make_shared<Recorder>();
  auto stopping = std::make_shared<callbacks::EarlyStopping>("loss", /*patience=*/2, 0.0, "auto", true);
  model->fit(xor_x(), xor_y(),
            {.epochs = 20, .batch_size = 4, .verbose = 0,
             .callbacks = {std::make_shared<Sabotage>(4, -1), recorder, stopping}});
  REQUIRE(stopping->stopped_epoch() == 5);  // epochs 4 and 5 are sabotaged
  REQUIRE(stopping->best_epoch() >= 0);
  CHECK(stopping->best_epoch() <= 3);
  CHECK(snapshot(model) == recorder->weights[static_cast<std::size_t>(stopping->best_epoch())]);
  CHECK(snapshot(model) != recorder->weights.back());
}

TEST_CASE("callbacks: EarlyStopping: restore_best_weights also when training runs to the end, and when fit throws") {
  SUBCASE("runs to the end with a worse last epoch") {
    auto model = xor_model(34);
    auto recorder = std::make_shared<Recorder>();
    auto stopping = std::make_shared<callbacks::EarlyStopping>("loss", /*patience=*/5, 0.0, "auto", true);
    model->fit(xor_x(), xor_y(),
              {.epochs = 5, .batch_size = 4, .verbose = 0,
               .callbacks = {std::make_shared<Sabotage>(4, -1), recorder, stopping}});
    CHECK(stopping->stopped_epoch() == -1);
    CHECK(stopping->best_epoch() == 3);  // the loss decreases in epochs 0..3 (Adam on XOR), epoch 4 is sabotaged
    CHECK(snapshot(model) == recorder->weights[3]);
  }
  SUBCASE("fit throws: the best weights are back before the exception propagates") {
    auto model = xor_model(35);
    auto recorder = std::make_shared<Recorder>();
    auto stopping = std::make_shared<callbacks::EarlyStopping>("loss", /*patience=*/10, 0.0, "auto", true);
    CHECK_THROWS_WITH_AS(model->fit(xor_x(), xor_y(),
                                   {.epochs = 20, .batch_size = 4, .verbose = 0,
                                    .callbacks = {std::make_shared<Sabotage>(3, 5), recorder, stopping}}),
                         "sabotage", std::runtime_error);
    REQUIRE(recorder->weights.size() == 5);
    CHECK(stopping->best_epoch() == 2);
    CHECK(snapshot(model) == recorder->weights[2]);
    // The model is usable: it trains on.
    const tg::History history = model->fit(xor_x(), xor_y(), {.epochs = 2, .batch_size = 4, .verbose = 0});
    CHECK(history.epochs() == 2);
  }
}

// ---- ModelCheckpoint --------------------------------------------------------------------------

TEST_CASE("callbacks: ModelCheckpoint: one file per epoch, {epoch} filled in (1-based)") {
  TempDir dir;
  auto model = xor_model(36, "ckpt");
  auto checkpoint = std::make_shared<callbacks::ModelCheckpoint>(dir.file("w_{epoch:02d}.npz"), "loss");
  auto recorder = std::make_shared<Recorder>();
  model->fit(xor_x(), xor_y(), {.epochs = 3, .batch_size = 4, .verbose = 0, .callbacks = {recorder, checkpoint}});
  REQUIRE(checkpoint->saved() ==
          std::vector<std::string>{dir.file("w_01.npz"), dir.file("w_02.npz"), dir.file("w_03.npz")});
  // Each file holds that epoch's weights.
  auto copy = xor_model(36, "ckpt");  // same layer names: the file's keys
  copy->predict(xor_x());
  for (int epoch = 0; epoch < 3; ++epoch) {
    copy->load_weights(checkpoint->saved()[static_cast<std::size_t>(epoch)]);
    CHECK(snapshot(copy) == recorder->weights[static_cast<std::size_t>(epoch)]);
  }
  callbacks::ModelCheckpoint names("run/{epoch}/w-{epoch:03d}.npz");
  CHECK(names.path_for(6) == "run/7/w-007.npz");
  CHECK(callbacks::ModelCheckpoint("w{epoch:1d}.npz").path_for(10) == "w11.npz");
  CHECK(callbacks::ModelCheckpoint("w{epoch:d}.npz").path_for(0) == "w1.npz");
  CHECK(callbacks::ModelCheckpoint("w{epoch:}.npz").path_for(0) == "w1.npz");
  CHECK(callbacks::ModelCheckpoint("w{epoch:4}.npz").path_for(11) == "w  12.npz");  // Python pads with spaces
  CHECK(callbacks::ModelCheckpoint("w{epoch:0003d}.npz").path_for(0) == "w001.npz");
  CHECK(callbacks::ModelCheckpoint("{{run}}_{epoch}.npz").path_for(0) == "{run}_1.npz");  // as Python's format
  CHECK(callbacks::ModelCheckpoint("w{epoch:064d}.npz").path_for(0) == "w" + std::string(63, '0') + "1.npz");
}

TEST_CASE("callbacks: ModelCheckpoint: a pattern it cannot fill in is refused when it is constructed") {
  // Before: "{epoch:0999999999999d}" threw a bare std::bad_alloc after the
  // first epoch, "{epoch:020000000000000000000d}" wrapped its width silently,
  // and other fields were kept as literal text (Keras would fill them in).
  const std::string accepted =
      "; the fields filled in are {epoch}, {epoch:d}, {epoch:Nd} and {epoch:0Nd} (N <= 64); write a literal brace "
      "as {{ or }}";
  auto refused = [](const std::string& path) {
    try {
      callbacks::ModelCheckpoint checkpoint(path);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(refused("w{epoch:065d}.npz") ==
        "ModelCheckpoint: the path 'w{epoch:065d}.npz' has the field {epoch:065d}, whose width is above 64" + accepted);
  CHECK(refused("w{epoch:0999999999999d}.npz") ==
        "ModelCheckpoint: the path 'w{epoch:0999999999999d}.npz' has the field {epoch:0999999999999d}, whose width "
        "is above 64" + accepted);
  CHECK(refused("w{epoch:020000000000000000000d}.npz").find("whose width is above 64") != std::string::npos);
  CHECK(refused("w{epoch:x}.npz") ==
        "ModelCheckpoint: the path 'w{epoch:x}.npz' has the field {epoch:x}, whose format 'x' is not an integer "
        "width" + accepted);
  CHECK(refused("w{epoch:.3d}.npz").find("whose format '.3d' is not an integer width") != std::string::npos);
  CHECK(refused("w{epoch:3s}.npz").find("whose format '3s'") != std::string::npos);
  CHECK(refused("w_{val_loss:.2f}.npz") ==
        "ModelCheckpoint: the path 'w_{val_loss:.2f}.npz' has the field {val_loss:.2f}, which is not filled in "
        "(Keras fills in the logs' values too, tapegrad does not)" + accepted);
  CHECK(refused("{epochs}.npz").find("has the field {epochs}, which is not filled in") != std::string::npos);
  CHECK(refused("{}.npz").find("has the field {}, which is not filled in") != std::string::npos);
  CHECK(refused("w{epoch.npz") ==
        "ModelCheckpoint: the path 'w{epoch.npz' has a '{' at position 1 that is never closed" + accepted);
  CHECK(refused("w}.npz") == "ModelCheckpoint: the path 'w}.npz' has a single '}' at position 1" + accepted);
  CHECK(refused("w{epoch:64d}.npz") == "accepted");
}

TEST_CASE("callbacks: ModelCheckpoint: save_best_only writes only when the monitored value improves") {
  TempDir dir;
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  model->predict(tg::zeros({1, 2}));
  callbacks::ModelCheckpoint checkpoint(dir.file("best_{epoch}.npz"), "val_loss", /*save_best_only=*/true);
  checkpoint.set_model(model.get());
  checkpoint.on_train_begin({});
  const std::vector<double> losses = {1.0, 0.5, 0.7, 0.4, 0.4};
  for (int epoch = 0; epoch < 5; ++epoch) {
    fill_weights(model, epoch);
    checkpoint.on_epoch_end(epoch, {{"val_loss", losses[static_cast<std::size_t>(epoch)]}});
  }
  CHECK(checkpoint.saved() ==
        std::vector<std::string>{dir.file("best_1.npz"), dir.file("best_2.npz"), dir.file("best_4.npz")});
  CHECK_FALSE(std::filesystem::exists(dir.file("best_3.npz")));
  CHECK_FALSE(std::filesystem::exists(dir.file("best_5.npz")));  // 0.4 again is not an improvement
  // best_4 holds epoch 3's weights (filled with 3).
  const auto arrays = tg::io::load_npz(dir.file("best_4.npz"));
  for (const auto& [name, value] : arrays)
    for (double v : values(value)) CHECK(v == 3.0);
  CHECK_THROWS_WITH_AS(checkpoint.on_epoch_end(5, {{"loss", 1.0}}),
                       doctest::Contains("ModelCheckpoint: the monitored value 'val_loss' is not in the epoch's logs"),
                       std::invalid_argument);
}

// ---- CSVLogger ------------------------------------------------------------------------------------

namespace {

std::vector<std::vector<std::string>> read_csv(const std::string& path, char separator) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(read_file(path));
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream in(line);
    while (std::getline(in, cell, separator)) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

}  // namespace

TEST_CASE("callbacks: CSVLogger: a header, then one row per epoch with exactly the History's values") {
  TempDir dir;
  auto model = xor_model(37);
  const Tensor x = tg::concat({xor_x(), xor_x(), xor_x()}, 0), y = tg::concat({xor_y(), xor_y(), xor_y()}, 0);
  const std::string path = dir.file("log.csv");
  auto logger = std::make_shared<callbacks::CSVLogger>(path);
  const tg::History history = model->fit(
      x, y, {.epochs = 3, .batch_size = 4, .validation_split = 0.25, .verbose = 0, .callbacks = {logger}});
  auto rows = read_csv(path, ',');
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == std::vector<std::string>{"epoch", "accuracy", "loss", "val_accuracy", "val_loss"});
  for (int epoch = 0; epoch < 3; ++epoch) {
    const auto& row = rows[static_cast<std::size_t>(epoch) + 1];
    REQUIRE(row.size() == 5);
    CHECK(row[0] == std::to_string(epoch));
    // Shortest round-trip decimals: reading them back gives the values exactly.
    CHECK(std::stod(row[1]) == history["accuracy"][static_cast<std::size_t>(epoch)]);
    CHECK(std::stod(row[2]) == history["loss"][static_cast<std::size_t>(epoch)]);
    CHECK(std::stod(row[3]) == history["val_accuracy"][static_cast<std::size_t>(epoch)]);
    CHECK(std::stod(row[4]) == history["val_loss"][static_cast<std::size_t>(epoch)]);
  }
  // append: the next fit continues the file without a second header.
  auto appender = std::make_shared<callbacks::CSVLogger>(path, ',', /*append=*/true);
  model->fit(x, y, {.epochs = 2, .batch_size = 4, .validation_split = 0.25, .verbose = 0, .callbacks = {appender}});
  rows = read_csv(path, ',');
  REQUIRE(rows.size() == 6);
  CHECK(rows[4][0] == "0");
  CHECK(rows[5][0] == "1");
  // Without append, a new fit starts the file over; another separator.
  auto semicolons = std::make_shared<callbacks::CSVLogger>(path, ';');
  model->fit(x, y, {.epochs = 1, .batch_size = 4, .verbose = 0, .callbacks = {semicolons}});
  rows = read_csv(path, ';');
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == std::vector<std::string>{"epoch", "accuracy", "loss"});
}

TEST_CASE("callbacks: CSVLogger: separators that break the columns are refused, naming the character") {
  // Allowed: a tab or printable ASCII other than letters, digits, '.', '-',
  // '+' and quotes (those occur in "-1.5e+07", "nan", "inf", "NA", or would
  // start a quoted field). Before, '.' or '\n' gave a file no reader splits back.
  const std::string expected =
      "CSVLogger: the separator must be a tab or a printable ASCII character other than a letter, a digit, '.', "
      "'-', '+' and the quotes (those appear in the numbers, or would start a quoted field), received ";
  const std::pair<char, const char*> bad[] = {
      {'.', "'.'"},       {'\n', "'\\n'"},    {'\r', "'\\r'"},   {'\0', "'\\0'"},     {'-', "'-'"},
      {'+', "'+'"},       {'e', "'e'"},       {'N', "'N'"},      {'5', "'5'"},        {'"', "'\"'"},
      {'\'', "'''"},      {'\x01', "'\\x01'"}, {'\x7f', "'\\x7f'"}, {static_cast<char>(0xe9), "'\\xe9'"}};
  for (const auto& [separator, shown] : bad) {
    CAPTURE(shown);
    CHECK_THROWS_WITH_AS(callbacks::CSVLogger("log.csv", separator), (expected + shown).c_str(),
                         std::invalid_argument);
  }
  for (char separator : {',', ';', '\t', ' ', '|', ':', '_', '#'}) CHECK_NOTHROW(callbacks::CSVLogger("log.csv", separator));
}

TEST_CASE("callbacks: CSVLogger: a metric name containing the separator is refused before the header is written") {
  TempDir dir;
  auto model = xor_model(39);
  const tg::Metric plain = tg::metrics::mean_squared_error();
  auto same = [plain](const Tensor& t, const Tensor& p) { return plain(t, p); };
  model->compile(optimizers::Adam(0.05), "binary_crossentropy", {tg::Metric("mse,clipped", same)});
  const std::string path = dir.file("log.csv");
  auto logger = std::make_shared<callbacks::CSVLogger>(path);
  CHECK_THROWS_WITH_AS(model->fit(xor_x(), xor_y(), {.epochs = 2, .verbose = 0, .callbacks = {logger}}),
                       "CSVLogger: the log key 'mse,clipped' (a metric's name) contains the separator ',', which "
                       "would break the CSV file's columns; rename the metric or choose another separator",
                       std::invalid_argument);
  // Nothing but the (empty) file created at the start of training was written.
  CHECK(read_file(path).empty());
  // Another separator takes the same name; a quote or a line break is refused with any separator.
  auto semicolons = std::make_shared<callbacks::CSVLogger>(path, ';');
  model->fit(xor_x(), xor_y(), {.epochs = 1, .verbose = 0, .callbacks = {semicolons}});
  CHECK(read_csv(path, ';')[0] == std::vector<std::string>{"epoch", "loss", "mse,clipped"});
  model->compile(optimizers::Adam(0.05), "binary_crossentropy", {tg::Metric("mse\nx", same)});
  CHECK_THROWS_WITH_AS(model->fit(xor_x(), xor_y(), {.epochs = 1, .verbose = 0, .callbacks = {semicolons}}),
                       "CSVLogger: the log key 'mse\nx' (a metric's name) contains '\\n', which would break the "
                       "CSV file's columns; rename the metric",
                       std::invalid_argument);
}

TEST_CASE("callbacks: CSVLogger: a path that cannot be written fails before any training") {
  TempDir dir;
  auto model = xor_model(38);
  auto logger = std::make_shared<callbacks::CSVLogger>(dir.file("no/such/dir/log.csv"));
  CHECK_THROWS_WITH_AS(model->fit(xor_x(), xor_y(), {.epochs = 1, .verbose = 0, .callbacks = {logger}}),
                       doctest::Contains("CSVLogger: cannot open '"), std::runtime_error);
  CHECK(model->optimizer().iterations() == 0);
}

// ---- TerminateOnNaN ----------------------------------------------------------------------------------

TEST_CASE("callbacks: TerminateOnNaN: stops at the first batch whose loss is NaN and says where") {
  tg::set_seed(39);
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  model->compile(optimizers::SGD(0.01), "mse");
  std::vector<double> xs(20, 0.5);
  xs[11] = std::nan("");  // sample 5 (row 5 of (10, 2)): batch 2 with batches of 2, not shuffled
  const Tensor x = f32(xs, {10, 2}), y = tg::zeros({10, 1});
  std::ostringstream out;
  auto terminate = std::make_shared<callbacks::TerminateOnNaN>(out);
  const tg::History history =
      model->fit(x, y, {.epochs = 3, .batch_size = 2, .shuffle = false, .verbose = 0, .callbacks = {terminate}});
  CHECK(terminate->stopped_epoch() == 0);
  CHECK(terminate->stopped_batch() == 2);
  CHECK(terminate->message() == "TerminateOnNaN: epoch 1/3, batch 3/5: the loss is nan; training stopped");
  CHECK(out.str() == terminate->message() + "\n");
  CHECK(history.epochs() == 1);
  CHECK(model->optimizer().iterations() == 3);  // as Keras, the NaN batch's step was taken
  // A finite run says nothing.
  auto clean = tg::Sequential::make({layers::Dense::make(1)});
  clean->compile(optimizers::SGD(0.01), "mse");
  std::ostringstream quiet;
  auto watcher = std::make_shared<callbacks::TerminateOnNaN>(quiet);
  clean->fit(tg::ones({4, 2}), tg::zeros({4, 1}), {.epochs = 2, .verbose = 0, .callbacks = {watcher}});
  CHECK(watcher->stopped_batch() == -1);
  CHECK(quiet.str().empty());
}

// ---- LearningRateScheduler -----------------------------------------------------------------------------

TEST_CASE("callbacks: LearningRateScheduler: sets the optimizer's learning rate at the start of each epoch") {
  auto model = xor_model(40);
  model->compile(optimizers::SGD(1.0), "binary_crossentropy");
  auto scheduler = std::make_shared<callbacks::LearningRateScheduler>(
      [](int epoch, double lr) { return epoch == 0 ? 0.1 : lr * 0.5; });
  auto recorder = std::make_shared<Recorder>();
  model->fit(xor_x(), xor_y(), {.epochs = 3, .verbose = 0, .callbacks = {scheduler, recorder}});
  CHECK(recorder->learning_rates == std::vector<double>{0.1, 0.05, 0.025});
  CHECK(model->optimizer().learning_rate() == 0.025);

  auto negative = std::make_shared<callbacks::LearningRateScheduler>([](int, double) { return -1.0; });
  CHECK_THROWS_WITH_AS(model->fit(xor_x(), xor_y(), {.epochs = 1, .verbose = 0, .callbacks = {negative}}),
                       "LearningRateScheduler: the schedule returned -1 at epoch 0; a learning rate must be a finite "
                       "number >= 0",
                       std::invalid_argument);
  // An optimizer driven by a schedule object refuses to have its rate set.
  model->compile(optimizers::SGD(optimizers::ExponentialDecay(0.1, 10, 0.5)), "binary_crossentropy");
  CHECK_THROWS_AS(model->fit(xor_x(), xor_y(), {.epochs = 1, .verbose = 0, .callbacks = {scheduler}}),
                  std::logic_error);
}

// ---- ReduceLROnPlateau ---------------------------------------------------------------------------------

TEST_CASE("callbacks: ReduceLROnPlateau: Keras's patience, cooldown and min_lr, epoch by epoch") {
  // ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1,
  //                   min_delta=0, min_lr=0.2, verbose=1), driven by hand.
  auto model = xor_model(42);
  model->compile(optimizers::SGD(1.0), "binary_crossentropy");
  std::ostringstream out;
  callbacks::ReduceLROnPlateau reduce(
      {.factor = 0.5, .patience = 2, .verbose = 1, .min_delta = 0.0, .cooldown = 1, .min_lr = 0.2}, out);
  reduce.set_model(model.get());
  reduce.on_train_begin({});
  const std::vector<double> val_loss = {1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.95, 0.95, 0.95, 0.95};
  std::vector<double> lr;
  for (int epoch = 0; epoch < static_cast<int>(val_loss.size()); ++epoch) {
    reduce.on_epoch_end(epoch, {{"loss", 0.5}, {"val_loss", val_loss[epoch]}});
    lr.push_back(model->optimizer().learning_rate());
  }
  // e0 best; e1 wait 1; e2 wait 2: 0.5 (cooldown 1); e3 cooldown ends, wait 1;
  // e4: 0.25; e5 improves; e6, e7: max(0.125, 0.2) = 0.2; e8, e9: 0.2 is not
  // above float32(0.2), so no reduction and no message.
  CHECK(lr == std::vector<double>{1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2});
  CHECK(out.str() ==
        "\nEpoch 3: ReduceLROnPlateau reducing learning rate to 0.5.\n"
        "\nEpoch 5: ReduceLROnPlateau reducing learning rate to 0.25.\n"
        "\nEpoch 8: ReduceLROnPlateau reducing learning rate to 0.2.\n");
  // In fit: a monitor missing from the logs, and bad arguments.
  auto missing = std::make_shared<callbacks::ReduceLROnPlateau>();
  CHECK_THROWS_WITH_AS(model->fit(xor_x(), xor_y(), {.epochs = 1, .verbose = 0, .callbacks = {missing}}),
                       doctest::Contains("ReduceLROnPlateau: the monitored value 'val_loss' is not in the epoch's logs"),
                       std::invalid_argument);
  auto on_loss = std::make_shared<callbacks::ReduceLROnPlateau>(
      callbacks::ReduceLROnPlateauOptions{.monitor = "loss", .factor = 0.5, .patience = 0, .min_delta = 10.0});
  model->fit(xor_x(), xor_y(), {.epochs = 3, .verbose = 0, .callbacks = {on_loss}});
  CHECK(model->optimizer().learning_rate() == 0.2 * 0.25);  // no epoch improves by 10: halved at epochs 1 and 2
  CHECK_THROWS_WITH_AS(callbacks::ReduceLROnPlateau({.factor = 1.0}),
                       "ReduceLROnPlateau: factor must be in (0, 1), received 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(callbacks::ReduceLROnPlateau({.patience = -1}),
                       doctest::Contains("patience and cooldown must be >= 0"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(callbacks::ReduceLROnPlateau({.mode = "up"}),
                       doctest::Contains("ReduceLROnPlateau: mode must be"), std::invalid_argument);
}

// ---- ProgressBar ---------------------------------------------------------------------------------------

TEST_CASE("callbacks: ProgressBar: one line per epoch when the output is not a terminal") {
  auto model = xor_model(41);
  std::ostringstream out;
  auto bar = std::make_shared<callbacks::ProgressBar>(out);
  const Tensor x = tg::concat({xor_x(), xor_x(), xor_x(), xor_x()}, 0);
  const Tensor y = tg::concat({xor_y(), xor_y(), xor_y(), xor_y()}, 0);
  const tg::History history = model->fit(
      x, y, {.epochs = 2, .batch_size = 4, .validation_split = 0.25, .verbose = 0, .callbacks = {bar}});
  // 12 training samples in batches of 4: 3 steps.
  const std::string text = out.str();
  INFO(text);
  CHECK(text.find('\r') == std::string::npos);
  std::istringstream lines(text);
  std::string line;
  const std::regex epoch_line(
      R"(3/3 \[==============================\] - \d+s \d+(s|ms|us)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4})");
  for (int epoch = 0; epoch < 2; ++epoch) {
    REQUIRE(std::getline(lines, line));
    CHECK(line == "Epoch " + std::to_string(epoch + 1) + "/2");
    REQUIRE(std::getline(lines, line));
    CHECK(std::regex_match(line, epoch_line));
    char loss[32];
    std::snprintf(loss, sizeof loss, "%.4f", history["loss"][static_cast<std::size_t>(epoch)]);
    CHECK(line.find(std::string(" - loss: ") + loss) != std::string::npos);
  }
  CHECK_FALSE(std::getline(lines, line));
}

TEST_CASE("callbacks: ProgressBar: on a terminal the bar is redrawn in place with an ETA") {
  auto model = xor_model(42);
  std::ostringstream out;
  auto bar = std::make_shared<callbacks::ProgressBar>(out);
  bar->set_terminal(true);
  model->fit(xor_x(), xor_y(), {.epochs = 1, .batch_size = 1, .shuffle = false, .verbose = 0, .callbacks = {bar}});
  const std::string text = out.str();
  INFO(text);
  CHECK(text.rfind("Epoch 1/1\n\r1/4 [======>.......................] - ETA: ", 0) == 0);
  CHECK(text.find("\r2/4 [==============>...............] - ETA: ") != std::string::npos);
  CHECK(text.find("\r4/4 [==============================] - ") != std::string::npos);
  CHECK(text.back() == '\n');
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
}
