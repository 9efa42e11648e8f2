// What both Siamese examples report after training: the per-batch losses
// (a fit() callback), the one-shot accuracy of the embeddings, and the files
// (the PCA picture and the loss curves as CSV, gnuplot script and SVG).
#pragma once

#include <tapegrad/tapegrad.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "pairs.hpp"
#include "pca.hpp"
#include "plots.hpp"

namespace siamese {

// fit()'s batch logs hold the epoch's running mean of the loss (each batch
// weighted by its size); this callback turns them back into each batch's loss.
class BatchLosses : public tg::callbacks::Callback {
 public:
  BatchLosses(std::int64_t samples, int batch_size) : samples_(samples), batch_size_(batch_size) {}
  void on_epoch_begin(int epoch, const tg::Logs&) override {
    epoch_ = epoch;
    seen_ = 0;
    running_sum_ = 0;
  }
  void on_train_batch_end(int batch, const tg::Logs& logs) override {
    const std::int64_t size = std::min<std::int64_t>(batch_size_, samples_ - seen_);
    const double sum = logs.at("loss") * static_cast<double>(seen_ + size);
    step.push_back(static_cast<double>(steps_++));
    epoch.push_back(epoch_ + static_cast<double>(batch + 1) * batch_size_ / static_cast<double>(samples_));
    loss.push_back((sum - running_sum_) / static_cast<double>(size));
    running_sum_ = sum;
    seen_ += size;
  }
  std::vector<double> step, epoch, loss;

 private:
  std::int64_t samples_;
  int batch_size_;
  int epoch_ = 0;
  std::int64_t seen_ = 0, steps_ = 0;
  double running_sum_ = 0;
};

// How one_shot_accuracy compares two embeddings.
enum class Similarity {
  dot,                 // the dot product (the cosine, for normalized rows)
  negative_euclidean,  // minus the squared Euclidean distance
};

struct OneShot {
  double mean = 0, min = 1, max = 0;
  std::size_t queries = 0;  // per trial
};

// One-shot accuracy: each image takes the class of the most similar of
// `classes` reference images, one per class drawn from the same images; the
// mean, min and max over `trials` seeded draws of the references. `e` is
// n x dim (rows L2-normalized for Similarity::dot to be the cosine).
inline OneShot one_shot_accuracy(const std::vector<float>& e, std::size_t dim, const std::vector<int>& labels,
                                 int classes, int trials, Rng& rng, Similarity similarity = Similarity::dot) {
  const std::size_t n = labels.size();
  std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < n; ++i) by_class[static_cast<std::size_t>(labels[i])].push_back(i);
  OneShot result;
  double sum = 0;
  for (int t = 0; t < trials; ++t) {
    std::vector<std::size_t> references;
    for (const auto& members : by_class)
      references.push_back(members[static_cast<std::size_t>(rng.below(static_cast<int>(members.size())))]);
    std::size_t right = 0, total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::find(references.begin(), references.end(), i) != references.end()) continue;
      int best_class = 0;
      float best = -std::numeric_limits<float>::infinity();
      for (int c = 0; c < classes; ++c) {
        const float* r = e.data() + references[static_cast<std::size_t>(c)] * dim;
        float score = 0;
        if (similarity == Similarity::dot)
          for (std::size_t k = 0; k < dim; ++k) score += e[i * dim + k] * r[k];
        else
          for (std::size_t k = 0; k < dim; ++k) score -= (e[i * dim + k] - r[k]) * (e[i * dim + k] - r[k]);
        if (score > best) best = score, best_class = c;
      }
      right += best_class == labels[i];
      ++total;
    }
    const double accuracy = static_cast<double>(right) / static_cast<double>(total);
    sum += accuracy;
    result.min = std::min(result.min, accuracy);
    result.max = std::max(result.max, accuracy);
    result.queries = total;
  }
  result.mean = sum / trials;
  return result;
}

inline void write_text(const std::string& path, const std::string& text) {
  auto out = open_for_writing(path);
  out << text;
  if (!out) throw std::runtime_error("error writing '" + path + "'");
}

// pca.svg: the 2-D PCA of the (normalized) embeddings `e` (n x dim), coloured by label.
inline void write_pca(const std::string& path, const std::vector<float>& e, std::size_t dim,
                      const std::vector<int>& labels, const std::string& title) {
  const Projection pca = pca_2d(e, labels.size(), dim);
  write_scatter_svg(path, pca.x, pca.y, labels, title,
                    "PC 1 (" + fmt(100 * pca.variance[0] / pca.total_variance, "%.0f") + "% of the variance)",
                    "PC 2 (" + fmt(100 * pca.variance[1] / pca.total_variance, "%.0f") + "%)");
}

// loss_batches.csv, loss_epochs.csv, loss_curves.gp (gnuplot) and loss_curves.svg in directory `out`.
inline void write_loss_curves(const std::string& out, const BatchLosses& batches, const tg::History& history,
                              const std::string& title) {
  std::ostringstream per_batch, per_epoch;
  per_batch << "step,epoch,loss\n";
  for (std::size_t i = 0; i < batches.loss.size(); ++i)
    per_batch << batches.step[i] << "," << batches.epoch[i] << "," << batches.loss[i] << "\n";
  write_text(out + "/loss_batches.csv", per_batch.str());
  const auto& epoch_loss = history["loss"];
  const auto& epoch_val_loss = history["val_loss"];
  per_epoch << "epoch,loss,val_loss\n";
  for (std::size_t i = 0; i < epoch_loss.size(); ++i)
    per_epoch << i + 1 << "," << epoch_loss[i] << "," << epoch_val_loss[i] << "\n";
  write_text(out + "/loss_epochs.csv", per_epoch.str());
  write_text(out + "/loss_curves.gp",
             "# Renders the loss curves: gnuplot loss_curves.gp (in this directory) -> loss_curves_gnuplot.svg\n"
             "set terminal svg size 800,500 dynamic background rgb 'white'\n"
             "set output 'loss_curves_gnuplot.svg'\n"
             "set datafile separator ','\n"
             "set key autotitle columnhead top right\n"
             "set title '" + title + "'\n"
             "set xlabel 'epoch'\nset ylabel 'loss'\nset grid\n"
             "plot 'loss_batches.csv' using 2:3 with lines lc rgb '#9ecae1' title 'training loss (each batch)', \\\n"
             "     'loss_epochs.csv' using 1:2 with linespoints lc rgb '#1f77b4' pt 7 title 'training loss (epoch mean)', \\\n"
             "     'loss_epochs.csv' using 1:3 with linespoints lc rgb '#d62728' pt 7 title 'held-out loss'\n");
  std::vector<double> epoch_axis(epoch_loss.size());
  for (std::size_t i = 0; i < epoch_axis.size(); ++i) epoch_axis[i] = static_cast<double>(i + 1);
  write_curves_svg(out + "/loss_curves.svg",
                   {{"training loss (each batch)", batches.epoch, batches.loss, "#9ecae1", false},
                    {"training loss (epoch mean)", epoch_axis, epoch_loss, "#1f77b4", true},
                    {"held-out loss", epoch_axis, epoch_val_loss, "#d62728", true}},
                   title, "epoch", "loss");
}

}  // namespace siamese
