// W4 in LibTorch, the peer of ../siamese_train.cpp: the same data file, split
// and pairs (examples/siamese/digits_data.hpp), a shared base
// Linear(64, 128) -> ReLU -> Linear(128, 128) -> ReLU -> Linear(128, 32),
// torch::nn::functional::cosine_embedding_loss (margin 0), Adam 1e-3, batch
// 128, 20,000 training pairs per epoch, shuffled each epoch (randperm, then
// index_select per batch). Times whole epochs; reports the median and the
// held-out pair accuracy through the cosine similarity of the embeddings
// (threshold chosen on the training pairs). Weights are initialized as
// Keras and tapegrad do (Glorot uniform, zero biases).
//
//   siamese_train_torch [timed_epochs=10] [data=examples/data/digits.csv.gz]
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../../examples/siamese/digits_data.hpp"
#include "bench_util.hpp"

namespace {

constexpr int kTrainPairs = 20000;
constexpr int kTestPairs = 4000;
constexpr int kBatch = 128;
constexpr std::uint64_t kSeed = 1;

torch::Tensor rows_tensor(const siamese::Digits& digits, const std::vector<int>& rows) {
  std::vector<float> values = siamese::gather_rows(digits, rows);
  return torch::from_blob(values.data(), {static_cast<long>(rows.size()), siamese::kPixels}, torch::kFloat32).clone();
}

torch::Tensor labels_tensor(const siamese::Pairs& pairs) {  // +1 same digit, -1 not
  std::vector<float> y(pairs.size());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = pairs.same[i] ? 1.0f : -1.0f;
  return torch::from_blob(y.data(), {static_cast<long>(y.size())}, torch::kFloat32).clone();
}

}  // namespace

int main(int argc, char** argv) {
  const int repetitions = argc > 1 ? std::atoi(argv[1]) : 10;
  try {
    torch::set_num_threads(bench::threads_from_env());
    const siamese::Digits digits = siamese::load_digits(siamese::find_data_file(argc > 2 ? argv[2] : ""));
    const siamese::Split split = siamese::split_by_image(digits, 0.3, kSeed);
    siamese::Rng rng(kSeed * 7919 + 1);
    const siamese::Pairs train = siamese::make_pairs(digits, split.train, kTrainPairs, rng);
    const siamese::Pairs test = siamese::make_pairs(digits, split.test, kTestPairs, rng);
    const torch::Tensor train_a = rows_tensor(digits, train.a), train_b = rows_tensor(digits, train.b);
    const torch::Tensor train_y = labels_tensor(train);

    torch::manual_seed(kSeed);
    torch::nn::Sequential base(torch::nn::Linear(siamese::kPixels, 128), torch::nn::ReLU(),
                               torch::nn::Linear(128, 128), torch::nn::ReLU(), torch::nn::Linear(128, 32));
    // Keras's (and tapegrad's) initialization, so that both programs train the
    // same model: LibTorch's default (kaiming_uniform with a = sqrt(5), biases
    // uniform too) left about 1% of the images with all hidden units dead here,
    // each mapped to the last bias, so that every pair of them had cosine 1
    // whatever the digits (held-out pair accuracy 0.87 instead of 0.98).
    for (auto& module : base->modules(/*include_self=*/false))
      if (auto* linear = module->as<torch::nn::Linear>()) {
        torch::nn::init::xavier_uniform_(linear->weight);
        torch::nn::init::zeros_(linear->bias);
      }
    torch::optim::Adam adam(base->parameters(), torch::optim::AdamOptions(1e-3));

    int epoch = 0;
    double last_loss = 0;
    auto run_epoch = [&] {
      ++epoch;
      const torch::Tensor order = torch::randperm(kTrainPairs, torch::kLong);
      double sum = 0;
      for (int start = 0; start < kTrainPairs; start += kBatch) {
        const torch::Tensor index = order.slice(0, start, std::min(start + kBatch, kTrainPairs));
        const torch::Tensor loss = torch::nn::functional::cosine_embedding_loss(
            base->forward(train_a.index_select(0, index)), base->forward(train_b.index_select(0, index)),
            train_y.index_select(0, index));
        adam.zero_grad();
        loss.backward();
        adam.step();
        sum += loss.item<double>() * static_cast<double>(index.size(0));  // fit() logs the same epoch mean
      }
      last_loss = sum / kTrainPairs;
    };
    const bench::Timings t = bench::time_repeated(1, repetitions, run_epoch);

    auto scores = [&](const siamese::Pairs& pairs) {
      torch::NoGradGuard no_grad;
      const torch::Tensor s = torch::cosine_similarity(base->forward(rows_tensor(digits, pairs.a)),
                                                       base->forward(rows_tensor(digits, pairs.b)), 1)
                                  .contiguous();
      return std::vector<float>(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
    };
    const double threshold = siamese::best_threshold(scores(train), train.same).first;
    const double accuracy = siamese::pair_accuracy(scores(test), test.same, threshold);
    if (!std::isfinite(last_loss)) {
      std::fprintf(stderr, "siamese_train_torch: non-finite loss %g\n", last_loss);
      return 1;
    }
    char extra[256];
    std::snprintf(extra, sizeof extra,
                  "\"unit\":\"epoch\",\"seconds_per_epoch\":%.4f,\"train_pairs\":%d,\"batch\":%d,\"epochs\":%d,"
                  "\"final_loss\":%.6f,\"pair_accuracy\":%.4f",
                  t.median_ms / 1000.0, kTrainPairs, kBatch, epoch, last_loss, accuracy);
    bench::print_json("siamese_train", "libtorch", torch::get_num_threads(), t, extra);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "siamese_train_torch: %s\n", e.what());
    return 1;
  }
  return 0;
}
