// A Siamese convolutional network on Fashion-MNIST (28 x 28 grey images of
// clothes, 60,000 for training and 10,000 for testing, 10 classes): one shared
// conv base embeds both images of a pair, and the head says whether they show
// the same kind of garment.
//
//   siamese_fashion                       # the conv base, 5 epochs of 20,000 pairs
//   siamese_fashion --small               # a short run (the demo's)
//   siamese_fashion --base keras          # Keras's MNIST Siamese example, 5,318 parameters
//   siamese_fashion --help
//
// What it does:
//   1. reads the IDX files of Debian's dataset-fashion-mnist
//      (/usr/share/datasets/fashion-mnist, gzip, with tg::io::read_idx_images);
//   2. draws balanced positive / negative pairs from the 60,000 training images
//      for training and from the 10,000 test images for testing;
//   3. builds the model (--base):
//      conv   Conv2D(32, 3x3, relu) -> MaxPooling2D -> Conv2D(64, 3x3, relu) ->
//             MaxPooling2D -> BatchNormalization -> Flatten -> Dense(64), called on
//             both images (shared weights); head: the cosine distance 1 - cos
//             (a Lambda); ContrastiveLoss on the distance;
//      keras  "Image similarity estimation using a Siamese Network with a
//             contrastive loss" (keras.io): BatchNormalization -> Conv2D(4, 5x5,
//             tanh) -> AveragePooling2D -> Conv2D(16, 5x5, tanh) ->
//             AveragePooling2D -> Flatten -> BatchNormalization -> Dense(10, tanh);
//             head: the Euclidean distance -> BatchNormalization -> Dense(1,
//             sigmoid), ContrastiveLoss on that output as the distance;
//   4. trains with Adam, batch 128 (conv) or, as Keras's example, RMSprop with
//      batches of 16 (keras);
//   5. reports held-out pair accuracy (threshold chosen on the training pairs),
//      10-way one-shot accuracy (reference images drawn from the test set), the
//      training time;
//   6. writes to --out: a PCA of the test embeddings (pca.svg), the loss curves
//      (loss_curves.svg, .csv, .gp) and the weights (siamese.weights.npz).
#include <CLI/CLI.hpp>
#include <tapegrad/tapegrad.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "siamese/fashion.hpp"
#include "siamese/pairs.hpp"
#include "siamese/report.hpp"

namespace {

namespace L = tg::layers;

using fashion::Images;
using fashion::kClasses;
using fashion::take;
const char* kClassNames[kClasses] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

struct Options {
  std::string base = "conv";
  int epochs = 5;
  int pairs = 20000;
  int test_pairs = 10000;
  int batch = 0;  // 0: the base's (fashion::default_batch)
  double lr = 1e-3;
  double margin = 1.0;
  std::uint64_t seed = 1;
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string out = "siamese_fashion_out";
  double min_pair_accuracy = 0.0;
  bool small = false;
  bool quiet = false;
};

int parse_options(int argc, char** argv, Options& o) {
  CLI::App app{"A Siamese conv network on Fashion-MNIST: a shared conv base, a distance head, ContrastiveLoss.",
               "siamese_fashion"};
  app.add_option("--base", o.base, "conv (Conv2D 32, 64, BatchNormalization, Dense 64; cosine head) | keras "
                                   "(Keras's MNIST Siamese example, 5,318 parameters; Euclidean head)")
      ->check(CLI::IsMember({"conv", "keras"}))
      ->capture_default_str();
  app.add_option("--epochs", o.epochs, "training epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--pairs", o.pairs, "training pairs (from the training images), half positive")
      ->check(CLI::Range(2, 10000000))
      ->capture_default_str();
  app.add_option("--test-pairs", o.test_pairs, "held-out pairs (from the test images), half positive")
      ->check(CLI::Range(2, 10000000))
      ->capture_default_str();
  app.add_option("--batch", o.batch, "batch size (default: 128 for conv, 16 for keras, as Keras's example)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--lr", o.lr, "learning rate (Adam for conv, RMSprop for keras)")->check(CLI::Range(1e-12, 10.0))->capture_default_str();
  app.add_option("--margin", o.margin, "ContrastiveLoss's margin")->check(CLI::Range(0.0, 2.0))->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the pairs, the weights and the shuffling")->capture_default_str();
  app.add_option("--data", o.data, "the directory of the four IDX files (Debian's dataset-fashion-mnist)")
      ->capture_default_str();
  app.add_option("--out", o.out, "where the pictures and files go")->capture_default_str();
  app.add_option("--min-pair-accuracy", o.min_pair_accuracy, "exit with status 1 if the held-out pair accuracy is below X")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--small", o.small, "a short run: 1 epoch of 4,000 pairs, 2,000 test pairs");
  app.add_flag("--quiet", o.quiet, "print only the results");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.batch == 0) o.batch = fashion::default_batch(o.base);
  if (o.small) {
    o.epochs = 1;
    o.pairs = 4000;
    o.test_pairs = 2000;
  }
  return -1;
}

// The distance of each pair, through the model's head, as a similarity: 1 - distance.
std::vector<float> pair_scores(const tg::Ref<tg::Model>& model, const Images& images, const siamese::Pairs& pairs) {
  std::vector<float> s = model->predict({take(images, pairs.a), take(images, pairs.b)}, 1024).to_vector<float>();
  for (float& v : s) v = 1.0f - v;
  return s;
}

int run(const Options& o) {
  namespace fs = std::filesystem;
  std::ostream& log = std::cout;

  // ---- data: training pairs from the training images, test pairs from the test images ----
  const Images train = fashion::load_images(o.data, "train"), test = fashion::load_images(o.data, "t10k");
  std::vector<int> train_rows(train.labels.size()), test_rows(test.labels.size());
  for (std::size_t i = 0; i < train_rows.size(); ++i) train_rows[i] = static_cast<int>(i);
  for (std::size_t i = 0; i < test_rows.size(); ++i) test_rows[i] = static_cast<int>(i);
  siamese::Rng pair_rng(o.seed * 7919 + 1);
  const siamese::Pairs train_pairs = siamese::make_pairs(train.labels, kClasses, train_rows, o.pairs, pair_rng);
  const siamese::Pairs test_pairs = siamese::make_pairs(test.labels, kClasses, test_rows, o.test_pairs, pair_rng);
  if (!o.quiet)
    log << "data: " << train.labels.size() << " training and " << test.labels.size() << " test images from "
        << o.data << "; " << train_pairs.size() << " training / " << test_pairs.size()
        << " test pairs (half of them positive)\n";

  // ---- model: the shared base, called on both images, and the head ----
  tg::set_seed(o.seed);
  const fashion::Siamese siamese_net = fashion::make_siamese(o.base, o.margin, o.lr);
  const auto& base = siamese_net.base;
  const auto& model = siamese_net.model;
  if (!o.quiet) {
    base->summary();
    model->summary();
    log << "ContrastiveLoss(margin " << o.margin << "), " << (o.base == "conv" ? "Adam(" : "RMSprop(") << o.lr
        << "), batch " << o.batch << ", " << o.epochs << " epochs\n";
  }

  // ---- training ----
  const tg::Tensor train_a = take(train, train_pairs.a), train_b = take(train, train_pairs.b);
  auto batch_losses = std::make_shared<siamese::BatchLosses>(static_cast<std::int64_t>(train_pairs.size()), o.batch);
  tg::FitOptions fit;
  fit.epochs = o.epochs;
  fit.batch_size = o.batch;
  fit.validation_x = {take(test, test_pairs.a), take(test, test_pairs.b)};
  fit.validation_y = fashion::labels_tensor(test_pairs);
  fit.seed = o.seed;
  fit.verbose = o.quiet ? 0 : 2;
  fit.callbacks = {batch_losses};
  const auto start = std::chrono::steady_clock::now();
  const tg::History history = model->fit({train_a, train_b}, fashion::labels_tensor(train_pairs), fit);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // ---- pair accuracy: threshold on the training pairs, accuracy on the held-out ones ----
  const auto [threshold, train_accuracy] =
      siamese::best_threshold(pair_scores(model, train, train_pairs), train_pairs.same);
  const double test_accuracy = siamese::pair_accuracy(pair_scores(model, test, test_pairs), test_pairs.same, threshold);

  // ---- one-shot, 10-way: each test image takes the class of the nearest of ten
  // reference test images, one per class (cosine for the conv base; for the
  // Keras base, whose head grows with the Euclidean distance, the embeddings are
  // compared unnormalized) ----
  tg::Tensor embeddings = base->predict(test.pixels, 1024);
  if (o.base == "conv") embeddings = tg::l2_normalize(embeddings, -1);
  const std::vector<float> e = embeddings.to_vector<float>();
  const auto dim = static_cast<std::size_t>(embeddings.dim(1));
  siamese::Rng reference_rng(o.seed * 104729 + 3);
  const siamese::OneShot one_shot = siamese::one_shot_accuracy(
      e, dim, test.labels, kClasses, 10, reference_rng,
      o.base == "conv" ? siamese::Similarity::dot : siamese::Similarity::negative_euclidean);

  // ---- outputs ----
  fs::create_directories(o.out);
  std::string legend;
  for (int c = 0; c < kClasses; ++c) legend += std::string(c ? ", " : "") + std::to_string(c) + " " + kClassNames[c];
  siamese::write_pca(o.out + "/pca.svg", e, dim, test.labels,
                     "Fashion-MNIST test images: PCA of the embeddings (" + o.base + " base)");
  siamese::write_loss_curves(o.out, *batch_losses, history, "Siamese Fashion-MNIST (" + o.base + "): contrastive loss");
  model->save_weights(o.out + "/siamese.weights.npz");

  // ---- report ----
  const double steps = static_cast<double>(batch_losses->loss.size());
  std::printf("%s base, %lld parameters: %d epochs, %.0f steps in %.2f s (%.2f s per epoch, %.1f ms per step; "
              "with a held-out loss per epoch)\n",
              o.base.c_str(), static_cast<long long>(base->count_params()), o.epochs, steps, seconds,
              seconds / o.epochs, steps ? 1000 * seconds / steps : 0.0);
  std::printf("held-out pair accuracy: %.4f on %zu test pairs (threshold %.3f, chosen on the %zu training pairs: "
              "accuracy there %.4f)\n",
              test_accuracy, test_pairs.size(), threshold, train_pairs.size(), train_accuracy);
  std::printf("one-shot accuracy (10-way): %.4f (%zu test images against one reference test image per class; mean "
              "of 10 seeded draws of the references, min %.4f, max %.4f)\n",
              one_shot.mean, one_shot.queries, one_shot.min, one_shot.max);
  if (!o.quiet) std::printf("classes: %s\n", legend.c_str());
  std::printf("outputs in %s: pca.svg, loss_curves.svg, loss_batches.csv, loss_epochs.csv, loss_curves.gp, "
              "siamese.weights.npz\n",
              fs::absolute(o.out).lexically_normal().c_str());
  if (test_accuracy < o.min_pair_accuracy) {
    std::fprintf(stderr, "siamese_fashion: held-out pair accuracy %.4f is below --min-pair-accuracy %.4f\n",
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
    std::cerr << "siamese_fashion: error: " << e.what() << "\n";
    return 1;
  }
}
