// A Siamese network on the UCI handwritten digits (8 x 8 images, 1,797 of
// them, 10 classes): one shared Dense network embeds both images of a pair,
// and the cosine of the two embeddings says whether they show the same digit.
//
//   siamese_digits                          # 10 epochs, ContrastiveLoss, about 1-2 seconds
//   siamese_digits --loss cosine_embedding --head dot --epochs 20 --out /tmp/siamese
//   siamese_digits --help
//
// What it does:
//   1. reads examples/data/digits.csv.gz (zlib), scales pixels to [0, 1];
//   2. splits the images (seeded) into train and test, no image on both sides,
//      and draws balanced positive / negative pairs on each side;
//   3. builds the model: base = Dense(128, relu) -> Dense(128, relu) -> Dense(32)
//      (--dropout adds Dropout layers; on these data they did not help),
//      called on both inputs (shared weights); the head is a Lambda computing
//      the cosine distance 1 - cos(a, b) (--head lambda) or Dot(axes=1,
//      normalize=true) followed by 1 - s (--head dot);
//   4. trains with the loss chosen by --loss (see kLossHelp below);
//   5. reports held-out pair accuracy (threshold chosen on the training pairs),
//      one-shot nearest-neighbour accuracy, the training time;
//   6. writes to --out: a PCA of the test embeddings (pca.svg), the loss
//      curves (loss_batches.csv, loss_epochs.csv, loss_curves.gp, loss_curves.svg)
//      and the weights (siamese.weights.npz, numpy reads it).
#include <CLI/CLI.hpp>
#include <tapegrad/tapegrad.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "siamese/digits_data.hpp"
#include "siamese/report.hpp"

// The source tree, a last place to look for the data (examples/siamese_digits.cmake sets it).
#ifndef TAPEGRAD_EXAMPLES_SOURCE_DIR
#define TAPEGRAD_EXAMPLES_SOURCE_DIR ""
#endif

namespace {

const char* kLossHelp = R"(Losses (labels: y = 1 for a pair of the same digit):
  contrastive        ContrastiveLoss(margin) on the one-output model whose output is the
                     cosine distance d = 1 - cos: 0.5 (y d^2 + (1 - y) max(margin - d, 0)^2)
  cosine_embedding   CosineEmbeddingLoss(margin) on the two embeddings (labels +1 / -1):
                     1 - cos for y = 1, max(0, cos - margin) otherwise
  cosine_similarity  CosineSimilarityLoss on positive pairs plus a margin term on negative ones,
                     a PairLoss written in this file from the library's losses and ops:
                     y (1 - cos) + (1 - y) max(0, cos - margin)^2
)";

struct Options {
  std::string loss = "contrastive";
  std::string head = "lambda";
  int epochs = 10;
  int pairs = 20000;
  int test_pairs = 4000;
  int batch = 128;
  double lr = 1e-3;
  double dropout = 0.0;
  double margin = std::numeric_limits<double>::quiet_NaN();  // per-loss default
  double test_fraction = 0.3;
  std::uint64_t seed = 1;
  std::string data;
  std::string out = "siamese_out";
  double min_pair_accuracy = 0.0;
  bool quiet = false;
};

// The flags, their ranges and --help, by CLI11. Returns the exit status of
// --help or of a bad flag (CLI11 prints its message), or -1 to go on.
int parse_options(int argc, char** argv, Options& o) {
  CLI::App app{"A Siamese network on the UCI handwritten digits: a shared Dense base, a cosine head.", "siamese_digits"};
  app.footer(kLossHelp);
  app.add_option("--loss", o.loss, "the loss (see below)")
      ->check(CLI::IsMember({"contrastive", "cosine_embedding", "cosine_similarity"}))
      ->capture_default_str();
  app.add_option("--head", o.head, "lambda (a Lambda computing 1 - cos) | dot (Dot(axes=1, normalize=true), then 1 - s)")
      ->check(CLI::IsMember({"lambda", "dot"}))
      ->capture_default_str();
  app.add_option("--epochs", o.epochs, "training epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--pairs", o.pairs, "training pairs, half positive")->check(CLI::Range(2, 10000000))->capture_default_str();
  app.add_option("--test-pairs", o.test_pairs, "held-out pairs, half positive")
      ->check(CLI::Range(2, 10000000))
      ->capture_default_str();
  app.add_option("--batch", o.batch, "batch size")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--lr", o.lr, "Adam learning rate")->check(CLI::Range(1e-12, 10.0))->capture_default_str();
  app.add_option("--dropout", o.dropout, "dropout rate after each hidden layer of the base network (0: none)")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  app.add_option("--margin", o.margin,
                 "the loss's margin (defaults: contrastive 1.0, cosine_embedding 0, cosine_similarity 0.3)")
      ->check(CLI::Range(-1.0, 2.0));
  app.add_option("--test-fraction", o.test_fraction, "fraction of the images held out for testing")
      ->check(CLI::Range(0.05, 0.95))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the split, the pairs, the weights and the shuffling")->capture_default_str();
  app.add_option("--data", o.data,
                 "the digits file (default: examples/data/digits.csv.gz, found from the executable's or the working "
                 "directory)");
  app.add_option("--out", o.out, "where the pictures and files go")
      ->check(CLI::Validator([](std::string& dir) { return dir.empty() ? std::string("must not be empty") : std::string(); },
                             "NOT EMPTY"))
      ->capture_default_str();
  app.add_option("--min-pair-accuracy", o.min_pair_accuracy, "exit with status 1 if the held-out pair accuracy is below X")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--quiet", o.quiet, "print only the results");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; a bad flag exits 2, the status of a usage error.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (std::isnan(o.margin)) o.margin = o.loss == "contrastive" ? 1.0 : o.loss == "cosine_embedding" ? 0.0 : 0.3;
  return -1;
}

// ---- the custom loss of --loss cosine_similarity ---------------------------------
// CosineSimilarityLoss (1 - cos) pulls positive pairs together; alone it would
// collapse every embedding onto one direction, so negative pairs pay a squared
// hinge once their cosine exceeds the margin:
//   loss_i = y_i (1 - cos_i) + (1 - y_i) max(0, cos_i - margin)^2,   y = 1 same digit, 0 not.
// A PairLoss, so Model::compile hands it the model's two outputs (the
// embeddings) and the labels; made of the library's losses and ops only, so the
// tape differentiates it.
class CosineSimilarityMarginLoss : public tg::losses::PairLoss {
 public:
  explicit CosineSimilarityMarginLoss(double margin)
      : PairLoss("CosineSimilarityMarginLoss", tg::losses::Reduction::sum_over_batch_size), margin_(margin) {}

  tg::Tensor call(const tg::Tensor& x1, const tg::Tensor& x2, const tg::Tensor& label) const override {
    const std::vector<double> y = label.to(tg::float64).to_vector<double>();
    for (std::size_t i = 0; i < y.size(); ++i)
      if (y[i] != 0.0 && y[i] != 1.0)
        throw std::invalid_argument(name() + ": label must be 1 or 0, received " + siamese::fmt(y[i], "%g") +
                                    " at index " + std::to_string(i));
    const tg::Tensor same = tg::reshape(label, {-1}).to(x1.dtype());
    const tg::Tensor one_minus_cos = tg::losses::cosine_similarity_loss(x1, x2);  // (batch,), 1 - cos
    const tg::Tensor hinge = tg::maximum((1.0 - one_minus_cos) - margin_, 0.0);
    return same * one_minus_cos + (1.0 - same) * tg::square(hinge);
  }

 protected:
  std::string hyperparameters() const override { return "margin=" + siamese::fmt(margin_, "%g"); }

 private:
  double margin_;
};

// A loss written by hand is checked before it is trusted: its gradient for both
// embeddings against central finite differences in float64 (tg::gradcheck), on
// a small random batch of positive and negative pairs, with the reduction the
// model will use (the squared hinge has a continuous first derivative, so
// central differences hold at its corner too).
bool gradcheck_custom_loss(double margin, std::ostream& log) {
  const CosineSimilarityMarginLoss loss(margin);
  const tg::Tensor label = tg::Tensor({1, 0, 1, 0, 0, 1, 0, 0}, tg::float64);
  const tg::Tensor x1 = tg::randn({8, 6}, 11, tg::float64), x2 = tg::randn({8, 6}, 12, tg::float64);
  const tg::GradcheckResult r =
      tg::gradcheck([&](const std::vector<tg::Tensor>& v) { return loss(v[0], v[1], label); }, {x1, x2});
  if (!r) log << "gradcheck of " << loss.name() << " FAILED:\n" << r;
  return r.passed;
}

tg::Tensor rows_tensor(const siamese::Digits& digits, const std::vector<int>& rows) {
  return tg::Tensor::from_vector(siamese::gather_rows(digits, rows),
                                 {static_cast<std::int64_t>(rows.size()), siamese::kPixels});
}

// Labels as the chosen loss wants them: ContrastiveLoss and the custom loss
// take 1 (same digit) / 0; CosineEmbeddingLoss takes +1 / -1.
tg::Tensor labels_tensor(const siamese::Pairs& pairs, const std::string& loss) {
  std::vector<float> y(pairs.size());
  for (std::size_t i = 0; i < y.size(); ++i)
    y[i] = pairs.same[i] ? 1.0f : (loss == "cosine_embedding" ? -1.0f : 0.0f);
  return tg::Tensor::from_vector(y, {static_cast<std::int64_t>(y.size())});
}

// Cosine similarity of each pair, through the model's head: 1 - distance.
std::vector<float> pair_scores(const tg::Ref<tg::Model>& distance_model, const siamese::Digits& digits,
                               const siamese::Pairs& pairs) {
  const tg::Tensor d = distance_model->predict({rows_tensor(digits, pairs.a), rows_tensor(digits, pairs.b)}, 1024);
  std::vector<float> s = d.to_vector<float>();
  for (float& v : s) v = 1.0f - v;
  return s;
}

int run(const Options& o) {
  namespace fs = std::filesystem;
  std::ostream& log = std::cout;

  // ---- data ----
  const std::string data_path = siamese::find_data_file(o.data, TAPEGRAD_EXAMPLES_SOURCE_DIR);
  const siamese::Digits digits = siamese::load_digits(data_path);
  const siamese::Split split = siamese::split_by_image(digits, o.test_fraction, o.seed);
  siamese::Rng pair_rng(o.seed * 7919 + 1);
  const siamese::Pairs train_pairs = siamese::make_pairs(digits, split.train, o.pairs, pair_rng);
  const siamese::Pairs test_pairs = siamese::make_pairs(digits, split.test, o.test_pairs, pair_rng);
  if (!o.quiet)
    log << "data: " << digits.count << " images from " << data_path << "; " << split.train.size() << " train / "
        << split.test.size() << " test images; " << train_pairs.size() << " train / " << test_pairs.size()
        << " test pairs (half of them positive)\n";

  // ---- model: a shared base network, called on both inputs ----
  tg::set_seed(o.seed);
  auto base = tg::Sequential::make({}, "base");
  base->add(tg::layers::Dense::make(128, "relu"));
  if (o.dropout > 0) base->add(tg::layers::Dropout::make(o.dropout));
  base->add(tg::layers::Dense::make(128, "relu"));
  if (o.dropout > 0) base->add(tg::layers::Dropout::make(o.dropout));
  base->add(tg::layers::Dense::make(32));
  auto left = tg::Input({siamese::kPixels}, tg::float32, "left");
  auto right = tg::Input({siamese::kPixels}, tg::float32, "right");
  auto left_embedding = base(left), right_embedding = base(right);
  tg::SymbolicTensor distance;
  if (o.head == "lambda") {
    // 1 - cos(a, b) per pair, kept as (batch, 1) like a Dense(1) output.
    auto cosine_distance = [](const std::vector<tg::Tensor>& v) {
      return tg::expand_dims(tg::cosine_distance(v[0], v[1], /*axis=*/1), 1);
    };
    distance = tg::layers::Lambda::make(cosine_distance, /*output_shape=*/{1}, "cosine_distance")(
        {left_embedding, right_embedding});
  } else {
    auto similarity = tg::layers::Dot::make(1, /*normalize=*/true, "cosine")({left_embedding, right_embedding});
    distance = tg::layers::Lambda::make([](const tg::Tensor& s) { return 1.0 - s; }, {1}, "distance")(similarity);
  }
  // The distance model scores pairs (and is the one trained with ContrastiveLoss);
  // the embeddings model shares every weight and is what pair losses train.
  auto distance_model = tg::Model::make({left, right}, distance, "siamese");
  auto embeddings_model = tg::Model::make({left, right}, {left_embedding, right_embedding}, "siamese_embeddings");
  const tg::Ref<tg::Model>& trained = o.loss == "contrastive" ? distance_model : embeddings_model;
  const tg::optimizers::Adam adam(o.lr);
  if (o.loss == "contrastive") trained->compile(adam, tg::losses::ContrastiveLoss(o.margin));
  else if (o.loss == "cosine_embedding") trained->compile(adam, tg::losses::CosineEmbeddingLoss(o.margin));
  else {
    if (!gradcheck_custom_loss(o.margin, std::cerr)) return 1;
    if (!o.quiet) log << "gradcheck of CosineSimilarityMarginLoss: passed (float64, central differences)\n";
    trained->compile(adam, CosineSimilarityMarginLoss(o.margin));
  }
  if (!o.quiet) {
    distance_model->summary();
    log << "loss: " << o.loss << " (margin " << o.margin << "), head: " << o.head << ", Adam(" << o.lr
        << "), dropout " << o.dropout << ", batch " << o.batch << ", " << o.epochs << " epochs\n";
  }

  // ---- training ----
  const tg::Tensor train_a = rows_tensor(digits, train_pairs.a), train_b = rows_tensor(digits, train_pairs.b);
  const tg::Tensor test_a = rows_tensor(digits, test_pairs.a), test_b = rows_tensor(digits, test_pairs.b);
  auto batch_losses = std::make_shared<siamese::BatchLosses>(static_cast<std::int64_t>(train_pairs.size()), o.batch);
  tg::FitOptions fit;
  fit.epochs = o.epochs;
  fit.batch_size = o.batch;
  fit.validation_x = {test_a, test_b};
  fit.validation_y = labels_tensor(test_pairs, o.loss);
  fit.seed = o.seed;
  fit.verbose = o.quiet ? 0 : 2;
  fit.callbacks = {batch_losses};
  const auto start = std::chrono::steady_clock::now();
  const tg::History history = trained->fit({train_a, train_b}, labels_tensor(train_pairs, o.loss), fit);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // ---- pair accuracy: threshold on the training pairs, accuracy on the held-out ones ----
  const auto [threshold, train_accuracy] =
      siamese::best_threshold(pair_scores(distance_model, digits, train_pairs), train_pairs.same);
  const double test_accuracy =
      siamese::pair_accuracy(pair_scores(distance_model, digits, test_pairs), test_pairs.same, threshold);

  // ---- one-shot: each test image takes the digit of the most similar of ten
  // reference images (one per digit, drawn from the test images), averaged
  // over ten seeded draws of the references ----
  const tg::Tensor test_embeddings = tg::l2_normalize(base(rows_tensor(digits, split.test)), -1);
  const std::vector<float> e = test_embeddings.to_vector<float>();
  const std::size_t n_test = split.test.size(), dim = static_cast<std::size_t>(test_embeddings.dim(1));
  std::vector<int> test_labels(n_test);
  for (std::size_t i = 0; i < n_test; ++i) test_labels[i] = digits.labels[static_cast<std::size_t>(split.test[i])];
  siamese::Rng reference_rng(o.seed * 104729 + 3);
  const siamese::OneShot one_shot = siamese::one_shot_accuracy(e, dim, test_labels, siamese::kClasses, 10, reference_rng);

  // ---- outputs ----
  fs::create_directories(o.out);
  const std::string out = o.out + "/";
  siamese::write_pca(out + "pca.svg", e, dim, test_labels,
                     "Test digits: PCA of the normalized embeddings (" + o.loss + ", " + std::to_string(o.epochs) +
                         " epochs)");
  siamese::write_loss_curves(o.out, *batch_losses, history, "Siamese digits: " + o.loss + " loss");
  distance_model->save_weights(out + "siamese.weights.npz");

  // ---- report ----
  const double steps = static_cast<double>(batch_losses->loss.size());
  std::printf("training: %d epochs, %.0f steps in %.2f s (%.3f s per epoch, %.2f ms per step; with a held-out loss per epoch)\n",
              o.epochs, steps, seconds, o.epochs ? seconds / o.epochs : 0.0, steps ? 1000 * seconds / steps : 0.0);
  std::printf("held-out pair accuracy: %.4f on %zu test pairs (threshold %.3f on the cosine, chosen on the %zu "
              "training pairs: accuracy there %.4f)\n",
              test_accuracy, test_pairs.size(), threshold, train_pairs.size(), train_accuracy);
  std::printf("one-shot accuracy: %.4f (%zu test images against one reference image per digit; mean of %d seeded "
              "draws of the references, min %.4f, max %.4f)\n",
              one_shot.mean, one_shot.queries, 10, one_shot.min, one_shot.max);
  std::printf("outputs in %s: pca.svg (the test embeddings, coloured by digit), loss_curves.svg, loss_batches.csv, "
              "loss_epochs.csv, loss_curves.gp (gnuplot loss_curves.gp), siamese.weights.npz\n",
              fs::absolute(o.out).lexically_normal().c_str());
  if (test_accuracy < o.min_pair_accuracy) {
    std::fprintf(stderr, "siamese_digits: held-out pair accuracy %.4f is below --min-pair-accuracy %.4f\n",
                 test_accuracy, o.min_pair_accuracy);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const int status = parse_options(argc, argv, options); status >= 0) return status;
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "siamese_digits: error: " << e.what() << "\n";
    return 1;
  }
}
