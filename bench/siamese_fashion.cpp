// W7, the conv Siamese epoch: the Fashion-MNIST example's model
// (examples/siamese/fashion.hpp, base "conv": Conv2D 32 3x3 relu, MaxPooling2D,
// Conv2D 64 3x3 relu, MaxPooling2D, BatchNormalization, Flatten, Dense 64 on
// channels-last (N, 28, 28, 1) images; the cosine distance head;
// ContrastiveLoss margin 1; Adam 1e-3), batch 128, 20,000 training pairs per
// epoch (fixed pairs, shuffled each epoch). Times whole epochs of Model::fit
// (the shuffle, batch gathering, forward, tape, backward and Adam steps); the
// first epoch is an untimed warm-up, the median of the others is the figure.
// After training: the held-out pair accuracy (predict, so BatchNormalization
// uses its moving statistics; the cosine 1 - d thresholded where it best
// separates the training pairs), the last epoch's loss and the resident
// memory: before the epochs, the epochs' peak and the whole run's peak.
// torch/siamese_fashion_torch.cpp is the same in LibTorch (NCHW there), on
// the same pairs (examples/siamese/pairs.hpp, the same seeds).
//
//   bench_siamese_fashion [timed_epochs=3] [dir=/usr/share/datasets/fashion-mnist]
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "../examples/siamese/fashion.hpp"
#include "bench_util.hpp"

namespace {

constexpr int kTrainPairs = 20000;
constexpr int kTestPairs = 10000;
constexpr int kBatch = 128;
constexpr int kEvalBatch = 1024;  // as the LibTorch peer
constexpr std::uint64_t kSeed = 1;

std::vector<int> all_rows(const fashion::Images& images) {
  std::vector<int> rows(images.labels.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int>(i);
  return rows;
}

// Resident memory, MB. The peak is getrusage's ru_maxrss (Linux: kilobytes).
// Loading the data peaks above anything the training needs (the whole training
// set as float32 before the pairs are gathered), so the peak is reset before
// the epochs (writing 5 to /proc/self/clear_refs resets the high-water mark
// that ru_maxrss reads, Linux 4.0+) to see the training's own peak.
double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

double current_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

}  // namespace

int main(int argc, char** argv) {
  int repetitions = 3;
  std::string dir = fashion::kDefaultDir;
  CLI::App app{"W7: conv Siamese epochs on Fashion-MNIST; prints one JSON line.", "bench_siamese_fashion"};
  app.add_option("repetitions", repetitions, "timed epochs (the median is reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("dir", dir, "the directory of the gz IDX files")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    // Only the pairs' images are kept of the training set (as in the peer).
    siamese::Pairs train, test;
    tg::Tensor train_a, train_b, test_a, test_b;
    {
      const fashion::Images train_images = fashion::load_images(dir, "train");
      const fashion::Images test_images = fashion::load_images(dir, "t10k");
      siamese::Rng pair_rng(kSeed * 7919 + 1);
      train = siamese::make_pairs(train_images.labels, fashion::kClasses, all_rows(train_images), kTrainPairs, pair_rng);
      test = siamese::make_pairs(test_images.labels, fashion::kClasses, all_rows(test_images), kTestPairs, pair_rng);
      train_a = fashion::take(train_images, train.a), train_b = fashion::take(train_images, train.b);
      test_a = fashion::take(test_images, test.a), test_b = fashion::take(test_images, test.b);
    }
    const tg::Tensor train_y = fashion::labels_tensor(train);

    tg::set_seed(kSeed);
    const fashion::Siamese siamese_model = fashion::make_siamese("conv", /*margin=*/1.0, /*lr=*/1e-3);

    tg::FitOptions options;
    options.epochs = 1;
    options.batch_size = kBatch;
    options.verbose = 0;
    int epoch = 0;
    double last_loss = 0;
    auto run_epoch = [&] {
      options.seed = static_cast<std::uint64_t>(epoch++);  // a new shuffle each epoch
      last_loss = siamese_model.model->fit({train_a, train_b}, train_y, options)["loss"].back();
    };
    const double load_peak_rss = peak_rss_mb(), rss_before_training = current_rss_mb();
    if (!reset_peak_rss()) throw std::runtime_error("cannot reset the peak RSS (/proc/self/clear_refs)");
    const bench::Timings t = bench::time_repeated(1, repetitions, run_epoch);
    const double train_rss = peak_rss_mb();

    auto scores = [&](const tg::Tensor& a, const tg::Tensor& b) {  // the cosine, 1 - distance
      std::vector<float> s = siamese_model.model->predict({a, b}, kEvalBatch).to_vector<float>();
      for (float& v : s) v = 1.0f - v;
      return s;
    };
    const double threshold = siamese::best_threshold(scores(train_a, train_b), train.same).first;
    const double accuracy = siamese::pair_accuracy(
        scores(test_a, test_b), test.same, threshold);
    if (!std::isfinite(last_loss)) {
      std::fprintf(stderr, "siamese_fashion: non-finite loss %g\n", last_loss);
      return 1;
    }
    char extra[384];
    std::snprintf(extra, sizeof extra,
                  "\"unit\":\"epoch\",\"seconds_per_epoch\":%.4f,\"train_pairs\":%d,\"batch\":%d,\"epochs\":%d,"
                  "\"final_loss\":%.6f,\"pair_accuracy\":%.4f,\"rss_before_training_mb\":%.1f,"
                  "\"peak_rss_train_mb\":%.1f,\"peak_rss_mb\":%.1f,"
                  "\"layout\":\"NHWC\"",
                  t.median_ms / 1000.0, kTrainPairs, kBatch, epoch, last_loss, accuracy, rss_before_training,
                  train_rss, std::max(load_peak_rss, peak_rss_mb()));
    bench::print_json("siamese_fashion", "tapegrad", bench::threads_from_env(), t, extra);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "siamese_fashion: %s\n", e.what());
    return 1;
  }
  return 0;
}
