// W7 in LibTorch, the peer of ../siamese_fashion.cpp: Fashion-MNIST from
// Debian's gz IDX files (read here with zlib, no tapegrad), the same pairs
// (examples/siamese/pairs.hpp, the same seeds), the conv Siamese model of
// examples/siamese/fashion.hpp ("conv"):
//   Conv2d(1, 32, 3) relu -> MaxPool2d(2) -> Conv2d(32, 64, 3) relu -> MaxPool2d(2)
//   -> BatchNorm2d(64, eps 1e-3, momentum 0.01 == Keras's 0.99) -> Flatten -> Linear(1600, 64)
// called on both images of a pair (two calls, so BatchNorm sees each side's
// batch on its own, as the Keras graph does), cosine distance d = 1 - cos(a, b),
// the contrastive loss mean(0.5 * (y d^2 + (1 - y) max(1 - d, 0)^2)), Adam 1e-3
// (eps 1e-7, Keras's), batch 128, 20,000 pairs per epoch, shuffled each epoch.
//
// The images are NCHW (N, 1, 28, 28), PyTorch's native layout, where tapegrad
// runs channels-last (N, 28, 28, 1). Flatten therefore orders the 1600 features
// (C, H, W) here and (H, W, C) there: the Dense weight rows are a permutation of
// each other. Glorot-uniform weights are i.i.d., so from scratch both programs
// train the same model in distribution, not bit for bit.
//
// Weights as Keras: xavier_uniform_ (a conv weight (C_out, C_in, kh, kw) has
// fan_in C_in*kh*kw and fan_out C_out*kh*kw, as Keras's kernel (kh, kw, C_in, C_out)),
// zero biases, BatchNorm gamma 1, beta 0.
//
// Reports one JSON line: the median seconds per epoch (the first epoch is an
// untimed warm-up), the held-out pair accuracy (eval mode, threshold on the
// cosine chosen on the training pairs by siamese::best_threshold), the last
// epoch's mean loss and the resident memory: before the epochs, the epochs'
// peak and the whole run's peak.
//
//   siamese_fashion_torch [timed_epochs=3] [dir=/usr/share/datasets/fashion-mnist]
#include <sys/resource.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../examples/siamese/pairs.hpp"
#include "bench_util.hpp"

namespace {

constexpr int kTrainPairs = 20000;
constexpr int kTestPairs = 10000;
constexpr int kBatch = 128;
constexpr int kEvalBatch = 1024;  // tapegrad's predict() batch in ../siamese_fashion.cpp
constexpr std::uint64_t kSeed = 1;
constexpr std::int64_t kSide = 28;

// A gzipped IDX file: big-endian magic 0x0000 08 <rank> (08: unsigned bytes),
// <rank> big-endian 32-bit sizes, then the bytes.
struct Idx {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;
};

Idx read_idx(const std::string& path, int rank) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw std::runtime_error("cannot open " + path);
  auto read = [&](void* out, unsigned bytes) {
    if (gzread(file, out, bytes) != static_cast<int>(bytes)) {
      gzclose(file);
      throw std::runtime_error(path + ": truncated");
    }
  };
  auto big_endian = [&] {
    unsigned char b[4];
    read(b, 4);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  };
  const std::uint32_t magic = big_endian();
  if (magic != (0x0800u | static_cast<std::uint32_t>(rank))) {
    gzclose(file);
    char text[96];
    std::snprintf(text, sizeof text, ": expected the IDX magic 0x%08x (unsigned bytes, rank %d), found 0x%08x",
                  0x0800u | static_cast<unsigned>(rank), rank, magic);
    throw std::runtime_error(path + text);
  }
  Idx idx;
  std::int64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    idx.dims.push_back(big_endian());
    count *= idx.dims.back();
  }
  idx.data.resize(static_cast<std::size_t>(count));
  if (count > 0) read(idx.data.data(), static_cast<unsigned>(count));
  unsigned char extra;
  const bool trailing = gzread(file, &extra, 1) > 0;
  gzclose(file);
  if (trailing) throw std::runtime_error(path + ": bytes after the " + std::to_string(count) + " the header announces");
  return idx;
}

struct Images {
  torch::Tensor pixels;     // (count, 1, 28, 28) float32 in [0, 1]
  std::vector<int> labels;  // 0..9
};

Images load_images(const std::string& dir, const std::string& prefix) {
  const Idx images = read_idx(dir + "/" + prefix + "-images-idx3-ubyte.gz", 3);
  const Idx labels = read_idx(dir + "/" + prefix + "-labels-idx1-ubyte.gz", 1);
  if (images.dims[0] != labels.dims[0] || images.dims[1] != kSide || images.dims[2] != kSide)
    throw std::runtime_error(dir + ": expected " + prefix + " images of 28 x 28 with one label each");
  Images out;
  out.pixels = torch::from_blob(const_cast<std::uint8_t*>(images.data.data()), {images.dims[0], 1, kSide, kSide},
                                torch::kUInt8)
                   .to(torch::kFloat32)
                   .div_(255.0f);
  for (std::uint8_t label : labels.data) {
    if (label >= 10) throw std::runtime_error(dir + ": " + prefix + " label " + std::to_string(label) + " is not in 0..9");
    out.labels.push_back(label);
  }
  return out;
}

torch::Tensor take(const Images& images, const std::vector<int>& rows) {
  std::vector<std::int64_t> index(rows.begin(), rows.end());
  return images.pixels.index_select(0, torch::tensor(index, torch::kLong));
}

std::vector<int> all_rows(const Images& images) {
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
  const int repetitions = argc > 1 ? std::atoi(argv[1]) : 3;
  const std::string dir = argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist";
  try {
    if (repetitions < 1) throw std::runtime_error("timed_epochs must be positive");
    torch::set_num_threads(bench::threads_from_env());
    // Only the pairs' images are kept of the training set (as in ../siamese_fashion.cpp).
    siamese::Pairs train, test;
    torch::Tensor train_a, train_b, test_a, test_b;
    {
      const Images train_images = load_images(dir, "train"), test_images = load_images(dir, "t10k");
      siamese::Rng pair_rng(kSeed * 7919 + 1);
      train = siamese::make_pairs(train_images.labels, 10, all_rows(train_images), kTrainPairs, pair_rng);
      test = siamese::make_pairs(test_images.labels, 10, all_rows(test_images), kTestPairs, pair_rng);
      train_a = take(train_images, train.a), train_b = take(train_images, train.b);
      test_a = take(test_images, test.a), test_b = take(test_images, test.b);
    }
    const torch::Tensor train_y =
        torch::tensor(std::vector<float>(train.same.begin(), train.same.end()), torch::kFloat32);

    torch::manual_seed(kSeed);
    torch::nn::Sequential base(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3)), torch::nn::ReLU(), torch::nn::MaxPool2d(2),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3)), torch::nn::ReLU(), torch::nn::MaxPool2d(2),
        torch::nn::BatchNorm2d(torch::nn::BatchNormOptions(64).eps(1e-3).momentum(0.01)), torch::nn::Flatten(),
        torch::nn::Linear(64 * 5 * 5, 64));
    for (auto& module : base->modules(/*include_self=*/false)) {
      if (auto* conv = module->as<torch::nn::Conv2d>()) {
        torch::nn::init::xavier_uniform_(conv->weight);
        torch::nn::init::zeros_(conv->bias);
      } else if (auto* linear = module->as<torch::nn::Linear>()) {
        torch::nn::init::xavier_uniform_(linear->weight);
        torch::nn::init::zeros_(linear->bias);
      }
    }
    torch::optim::Adam adam(base->parameters(), torch::optim::AdamOptions(1e-3).eps(1e-7));

    auto distance = [&](const torch::Tensor& a, const torch::Tensor& b) {
      return 1 - torch::cosine_similarity(base->forward(a), base->forward(b), 1, 1e-8);
    };
    int epoch = 0;
    double last_loss = 0;
    auto run_epoch = [&] {
      ++epoch;
      base->train();
      const torch::Tensor order = torch::randperm(kTrainPairs, torch::kLong);
      double sum = 0;
      for (int start = 0; start < kTrainPairs; start += kBatch) {
        const torch::Tensor index = order.slice(0, start, std::min(start + kBatch, kTrainPairs));
        const torch::Tensor d = distance(train_a.index_select(0, index), train_b.index_select(0, index));
        const torch::Tensor y = train_y.index_select(0, index);
        const torch::Tensor loss = (0.5 * (y * d.square() + (1 - y) * (1 - d).clamp_min(0).square())).mean();
        adam.zero_grad();
        loss.backward();
        adam.step();
        sum += loss.item<double>() * static_cast<double>(index.size(0));  // fit() logs the same epoch mean
      }
      last_loss = sum / kTrainPairs;
    };
    const double load_peak_rss = peak_rss_mb(), rss_before_training = current_rss_mb();
    if (!reset_peak_rss()) throw std::runtime_error("cannot reset the peak RSS (/proc/self/clear_refs)");
    const bench::Timings t = bench::time_repeated(1, repetitions, run_epoch);
    const double train_rss = peak_rss_mb();

    // Cosine similarities in eval mode (BatchNorm's moving statistics), in
    // batches of kEvalBatch as tapegrad's predict.
    auto scores = [&](const torch::Tensor& a, const torch::Tensor& b) {
      torch::NoGradGuard no_grad;
      base->eval();
      std::vector<float> out;
      for (std::int64_t start = 0; start < a.size(0); start += kEvalBatch) {
        const std::int64_t stop = std::min<std::int64_t>(start + kEvalBatch, a.size(0));
        const torch::Tensor s =
            torch::cosine_similarity(base->forward(a.slice(0, start, stop)), base->forward(b.slice(0, start, stop)), 1, 1e-8)
                .contiguous();
        out.insert(out.end(), s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
      }
      return out;
    };
    const double threshold = siamese::best_threshold(scores(train_a, train_b), train.same).first;
    const double accuracy =
        siamese::pair_accuracy(scores(test_a, test_b), test.same, threshold);
    if (!std::isfinite(last_loss)) {
      std::fprintf(stderr, "siamese_fashion_torch: non-finite loss %g\n", last_loss);
      return 1;
    }
    char extra[384];
    std::snprintf(extra, sizeof extra,
                  "\"unit\":\"epoch\",\"seconds_per_epoch\":%.4f,\"train_pairs\":%d,\"batch\":%d,\"epochs\":%d,"
                  "\"final_loss\":%.6f,\"pair_accuracy\":%.4f,\"rss_before_training_mb\":%.1f,"
                  "\"peak_rss_train_mb\":%.1f,\"peak_rss_mb\":%.1f,"
                  "\"layout\":\"NCHW\"",
                  t.median_ms / 1000.0, kTrainPairs, kBatch, epoch, last_loss, accuracy, rss_before_training,
                  train_rss, std::max(load_peak_rss, peak_rss_mb()));
    bench::print_json("siamese_fashion", "libtorch", torch::get_num_threads(), t, extra);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "siamese_fashion_torch: %s\n", e.what());
    return 1;
  }
  return 0;
}
