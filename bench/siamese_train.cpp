// W4, Siamese training: the digits example's model (examples/siamese_digits.cpp)
// trained as issue 6 specifies: a shared Dense base 64-128-128-32 (relu on the
// hidden layers), CosineEmbeddingLoss (margin 0) on the two embeddings, Adam
// 1e-3, batch 128, 20,000 training pairs per epoch (fixed pairs, shuffled each
// epoch). Times whole epochs of Model::fit (the shuffle, batch gathering,
// forward, tape, backward and Adam steps); the median over the timed epochs
// is the figure. After training, the held-out pair accuracy through the cosine
// similarity head (Dot(axes=1, normalize=true)), the threshold chosen on the
// training pairs. torch/siamese_train_torch.cpp is the same in LibTorch: the
// same data file, split and pairs (examples/siamese/digits_data.hpp).
//
//   bench_siamese_train [timed_epochs=10] [data=examples/data/digits.csv.gz]
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "../examples/siamese/digits_data.hpp"
#include "bench_util.hpp"

namespace {

constexpr int kTrainPairs = 20000;
constexpr int kTestPairs = 4000;
constexpr int kBatch = 128;
constexpr std::uint64_t kSeed = 1;

tg::Tensor rows_tensor(const siamese::Digits& digits, const std::vector<int>& rows) {
  return tg::Tensor::from_vector(siamese::gather_rows(digits, rows),
                                 {static_cast<std::int64_t>(rows.size()), siamese::kPixels});
}

tg::Tensor labels_tensor(const siamese::Pairs& pairs) {  // +1 same digit, -1 not
  std::vector<float> y(pairs.size());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = pairs.same[i] ? 1.0f : -1.0f;
  return tg::Tensor::from_vector(y, {static_cast<std::int64_t>(y.size())});
}

}  // namespace

int main(int argc, char** argv) {
  int repetitions = 10;
  std::string data;
  CLI::App app{"W4: Siamese training epochs on the UCI digits; prints one JSON line.", "bench_siamese_train"};
  app.add_option("repetitions", repetitions, "timed epochs (the median is reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("data", data, "the digits file (default: examples/data/digits.csv.gz)");
  CLI11_PARSE(app, argc, argv);
  try {
    const siamese::Digits digits = siamese::load_digits(siamese::find_data_file(data));
    const siamese::Split split = siamese::split_by_image(digits, 0.3, kSeed);
    siamese::Rng rng(kSeed * 7919 + 1);
    const siamese::Pairs train = siamese::make_pairs(digits, split.train, kTrainPairs, rng);
    const siamese::Pairs test = siamese::make_pairs(digits, split.test, kTestPairs, rng);
    const tg::Tensor train_a = rows_tensor(digits, train.a), train_b = rows_tensor(digits, train.b);
    const tg::Tensor train_y = labels_tensor(train);

    tg::set_seed(kSeed);
    auto base = tg::Sequential::make({tg::layers::Dense::make(128, "relu"), tg::layers::Dense::make(128, "relu"), tg::layers::Dense::make(32)});
    auto left = tg::Input({siamese::kPixels}), right = tg::Input({siamese::kPixels});
    auto left_embedding = base(left), right_embedding = base(right);
    auto pair_model = tg::Model::make({left, right}, {left_embedding, right_embedding});
    auto similarity_model = tg::Model::make({left, right}, tg::layers::Dot::make(1, /*normalize=*/true)({left_embedding, right_embedding}));
    pair_model->compile(tg::optimizers::Adam(1e-3), tg::losses::CosineEmbeddingLoss());

    tg::FitOptions options;
    options.epochs = 1;
    options.batch_size = kBatch;
    options.verbose = 0;
    int epoch = 0;
    double last_loss = 0;
    auto run_epoch = [&] {
      options.seed = static_cast<std::uint64_t>(epoch++);  // a new shuffle each epoch
      last_loss = pair_model->fit({train_a, train_b}, train_y, options)["loss"].back();
    };
    const bench::Timings t = bench::time_repeated(1, repetitions, run_epoch);

    auto scores = [&](const siamese::Pairs& pairs) {
      return similarity_model->predict({rows_tensor(digits, pairs.a), rows_tensor(digits, pairs.b)}, 1024)
          .to_vector<float>();
    };
    const double threshold = siamese::best_threshold(scores(train), train.same).first;
    const double accuracy = siamese::pair_accuracy(scores(test), test.same, threshold);
    if (!std::isfinite(last_loss)) {
      std::fprintf(stderr, "siamese_train: non-finite loss %g\n", last_loss);
      return 1;
    }
    char extra[256];
    std::snprintf(extra, sizeof extra,
                  "\"unit\":\"epoch\",\"seconds_per_epoch\":%.4f,\"train_pairs\":%d,\"batch\":%d,\"epochs\":%d,"
                  "\"final_loss\":%.6f,\"pair_accuracy\":%.4f",
                  t.median_ms / 1000.0, kTrainPairs, kBatch, epoch, last_loss, accuracy);
    bench::print_json("siamese_train", "tapegrad", bench::threads_from_env(), t, extra);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "siamese_train: %s\n", e.what());
    return 1;
  }
  return 0;
}
