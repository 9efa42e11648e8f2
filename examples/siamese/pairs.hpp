// Seeded, balanced pairs of images for Siamese training, and the pair
// accuracy of a similarity score: shared by the Siamese examples and their
// LibTorch peers (plain C++17, no tapegrad), so that both libraries train and
// test on the same pairs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

namespace siamese {

// A small seeded generator (splitmix64): the same sequence on every platform
// and in both libraries' programs.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (multiply-shift; the bias is below 2^-32 for our n).
  int below(int n) { return static_cast<int>((static_cast<unsigned __int128>(next()) * static_cast<unsigned>(n)) >> 64); }
  template <class T>
  void shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (int i = static_cast<int>(v.size()) - 1; i > 0; --i) std::swap(v[static_cast<std::size_t>(i)], v[static_cast<std::size_t>(below(i + 1))]);
  }

 private:
  std::uint64_t state_;
};

// Pairs of images (indices into a data set) with same = 1 when both show the
// same class, 0 otherwise. Balanced: even positions are positive pairs (an image and
// another image of its class), odd positions negative ones (an image and an
// image of another class); the first image is drawn uniformly from `images`.
struct Pairs {
  std::vector<int> a, b, same;
  std::size_t size() const { return same.size(); }
};

inline Pairs make_pairs(const std::vector<int>& labels, int classes, const std::vector<int>& images, int count,
                        Rng& rng) {
  std::vector<std::vector<int>> by_class(static_cast<std::size_t>(classes));
  for (int i : images) by_class[static_cast<std::size_t>(labels[static_cast<std::size_t>(i)])].push_back(i);
  for (const auto& c : by_class)
    if (c.size() < 2) throw std::runtime_error("make_pairs: every class needs at least two images on each side of the split");
  const int n = static_cast<int>(images.size());
  Pairs pairs;
  for (int k = 0; k < count; ++k) {
    const int i = images[static_cast<std::size_t>(rng.below(n))];
    const int label = labels[static_cast<std::size_t>(i)];
    int j = i;
    if (k % 2 == 0) {
      const auto& same = by_class[static_cast<std::size_t>(label)];
      while (j == i) j = same[static_cast<std::size_t>(rng.below(static_cast<int>(same.size())))];
    } else {
      while (labels[static_cast<std::size_t>(j)] == label) j = images[static_cast<std::size_t>(rng.below(n))];
    }
    pairs.a.push_back(i);
    pairs.b.push_back(j);
    pairs.same.push_back(k % 2 == 0 ? 1 : 0);
  }
  return pairs;
}

// The threshold that classifies the most pairs right when "same" is predicted
// for scores above it: the midpoint of the gap between two consecutive sorted
// scores at the best cut (among equally good cuts, the widest gap). A perfectly
// separated training set gives the middle of the margin, not one of its edges.
// Returns {threshold, accuracy at that threshold}.
inline std::pair<double, double> best_threshold(const std::vector<float>& scores, const std::vector<int>& same) {
  const std::size_t n = scores.size();
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return scores[x] < scores[y]; });
  std::size_t positives = 0;
  for (int s : same) positives += s != 0;
  // The cut at k predicts "different" for order[0..k), "same" for the rest;
  // it lies between sorted scores k-1 and k (cuts between equal scores are skipped).
  auto value = [&](std::size_t k) { return static_cast<double>(scores[order[k]]); };
  auto gap = [&](std::size_t k) {
    const double low = k == 0 ? value(0) - 1.0 : value(k - 1);
    const double high = k == n ? value(n - 1) + 1.0 : value(k);
    return std::pair<double, double>{low, high};
  };
  std::size_t positives_below = 0, negatives_below = 0, best_correct = 0, best_cut = 0;
  double best_width = -1.0;
  for (std::size_t k = 0; k <= n; ++k) {
    if (k == 0 || k == n || value(k) != value(k - 1)) {
      const std::size_t correct = negatives_below + (positives - positives_below);
      const auto [low, high] = gap(k);
      if (correct > best_correct || (correct == best_correct && high - low > best_width)) {
        best_correct = correct;
        best_cut = k;
        best_width = high - low;
      }
    }
    if (k < n) (same[order[k]] ? positives_below : negatives_below) += 1;
  }
  const auto [low, high] = gap(best_cut);
  return {0.5 * (low + high), static_cast<double>(best_correct) / static_cast<double>(n)};
}

// Fraction of pairs classified right by "same when score > threshold".
inline double pair_accuracy(const std::vector<float>& scores, const std::vector<int>& same, double threshold) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) right += (scores[i] > threshold) == (same[i] != 0);
  return static_cast<double>(right) / static_cast<double>(scores.size());
}

}  // namespace siamese
