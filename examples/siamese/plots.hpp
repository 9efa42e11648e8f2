// The pictures of the Siamese example, written by hand (no plotting library):
//   - an SVG scatter plot of 2-D points coloured by class (the PCA of the test embeddings);
//   - the loss curves as CSV, a gnuplot script that renders them, and the
//     same curves as an SVG line chart for machines without gnuplot.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace siamese {

// Ten colours told apart easily (the "tab10" palette of matplotlib).
inline const char* class_colour(int c) {
  static const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return palette[((c % 10) + 10) % 10];
}

inline std::ofstream open_for_writing(const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write '" + path + "'");
  return out;
}

inline std::string fmt(double v, const char* format = "%.2f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Maps [lo, hi] to [out_lo, out_hi] (a degenerate range maps to the middle).
struct Axis {
  double lo, hi, out_lo, out_hi;
  double operator()(double v) const {
    if (hi <= lo) return 0.5 * (out_lo + out_hi);
    return out_lo + (v - lo) / (hi - lo) * (out_hi - out_lo);
  }
};

// Each point drawn as its class digit in the class colour (a digit is easier
// to read than a legend), with a title and a legend of colours.
inline void write_scatter_svg(const std::string& path, const std::vector<double>& x, const std::vector<double>& y,
                              const std::vector<int>& labels, const std::string& title,
                              const std::string& x_label, const std::string& y_label) {
  const double width = 720, height = 620, left = 60, right = 110, top = 50, bottom = 60;
  const auto [x_min, x_max] = std::minmax_element(x.begin(), x.end());
  const auto [y_min, y_max] = std::minmax_element(y.begin(), y.end());
  const double x_pad = 0.03 * (*x_max - *x_min), y_pad = 0.03 * (*y_max - *y_min);
  const Axis sx{*x_min - x_pad, *x_max + x_pad, left, width - right};
  const Axis sy{*y_min - y_pad, *y_max + y_pad, height - bottom, top};  // SVG's y grows downwards
  auto out = open_for_writing(path);
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\" font-family=\"sans-serif\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << width / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"17\">" << title << "</text>\n"
      << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << width - left - right << "\" height=\""
      << height - top - bottom << "\" fill=\"none\" stroke=\"#444\"/>\n"
      << "<text x=\"" << (left + width - right) / 2 << "\" y=\"" << height - 20
      << "\" text-anchor=\"middle\" font-size=\"13\">" << x_label << "</text>\n"
      << "<text x=\"20\" y=\"" << (top + height - bottom) / 2 << "\" text-anchor=\"middle\" font-size=\"13\" "
      << "transform=\"rotate(-90 20 " << (top + height - bottom) / 2 << ")\">" << y_label << "</text>\n";
  out << "<g font-size=\"11\" font-weight=\"bold\" text-anchor=\"middle\" dominant-baseline=\"central\">\n";
  for (std::size_t i = 0; i < x.size(); ++i)
    out << "<text x=\"" << fmt(sx(x[i])) << "\" y=\"" << fmt(sy(y[i])) << "\" fill=\"" << class_colour(labels[i])
        << "\">" << labels[i] << "</text>\n";
  out << "</g>\n";
  for (int c = 0; c < 10; ++c) {
    const double ly = top + 10 + 22 * c;
    out << "<circle cx=\"" << width - right + 25 << "\" cy=\"" << ly << "\" r=\"6\" fill=\"" << class_colour(c)
        << "\"/><text x=\"" << width - right + 38 << "\" y=\"" << ly + 4 << "\" font-size=\"13\">digit " << c
        << "</text>\n";
  }
  out << "</svg>\n";
  if (!out) throw std::runtime_error("error writing '" + path + "'");
}

// One named curve of (x, y) points.
struct Curve {
  std::string name;
  std::vector<double> x, y;
  std::string colour;
  bool points = false;  // markers at the points, besides the line
};

// The curves as an SVG line chart (linear axes, 5 ticks each).
inline void write_curves_svg(const std::string& path, const std::vector<Curve>& curves, const std::string& title,
                             const std::string& x_label, const std::string& y_label) {
  const double width = 760, height = 480, left = 70, right = 30, top = 50, bottom = 60;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& c : curves)
    for (std::size_t i = 0; i < c.x.size(); ++i) {
      if (!std::isfinite(c.y[i])) continue;
      x_lo = std::min(x_lo, c.x[i]), x_hi = std::max(x_hi, c.x[i]);
      y_lo = std::min(y_lo, c.y[i]), y_hi = std::max(y_hi, c.y[i]);
    }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  y_lo = std::min(0.0, y_lo);
  const Axis sx{x_lo, x_hi, left, width - right};
  const Axis sy{y_lo, y_hi * 1.05, height - bottom, top};
  auto out = open_for_writing(path);
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << width / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"17\">" << title << "</text>\n";
  for (int t = 0; t <= 4; ++t) {
    const double xv = x_lo + (x_hi - x_lo) * t / 4, yv = y_lo + (y_hi * 1.05 - y_lo) * t / 4;
    out << "<line x1=\"" << fmt(sx(xv)) << "\" y1=\"" << top << "\" x2=\"" << fmt(sx(xv)) << "\" y2=\""
        << height - bottom << "\" stroke=\"#ddd\"/><text x=\"" << fmt(sx(xv)) << "\" y=\"" << height - bottom + 16
        << "\" text-anchor=\"middle\">" << fmt(xv, "%.3g") << "</text>\n"
        << "<line x1=\"" << left << "\" y1=\"" << fmt(sy(yv)) << "\" x2=\"" << width - right << "\" y2=\""
        << fmt(sy(yv)) << "\" stroke=\"#ddd\"/><text x=\"" << left - 6 << "\" y=\"" << fmt(sy(yv) + 4)
        << "\" text-anchor=\"end\">" << fmt(yv, "%.3g") << "</text>\n";
  }
  out << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << width - left - right << "\" height=\""
      << height - top - bottom << "\" fill=\"none\" stroke=\"#444\"/>\n"
      << "<text x=\"" << (left + width - right) / 2 << "\" y=\"" << height - 18 << "\" text-anchor=\"middle\">"
      << x_label << "</text>\n"
      << "<text x=\"18\" y=\"" << (top + height - bottom) / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 18 "
      << (top + height - bottom) / 2 << ")\">" << y_label << "</text>\n";
  for (std::size_t k = 0; k < curves.size(); ++k) {
    const auto& c = curves[k];
    out << "<polyline fill=\"none\" stroke=\"" << c.colour << "\" stroke-width=\"1.5\" points=\"";
    for (std::size_t i = 0; i < c.x.size(); ++i)
      if (std::isfinite(c.y[i])) out << fmt(sx(c.x[i])) << "," << fmt(sy(c.y[i])) << " ";
    out << "\"/>\n";
    if (c.points)
      for (std::size_t i = 0; i < c.x.size(); ++i)
        if (std::isfinite(c.y[i]))
          out << "<circle cx=\"" << fmt(sx(c.x[i])) << "\" cy=\"" << fmt(sy(c.y[i])) << "\" r=\"3.5\" fill=\""
              << c.colour << "\"/>\n";
    const double ly = top + 16 + 18 * static_cast<double>(k);
    out << "<line x1=\"" << width - right - 150 << "\" y1=\"" << ly << "\" x2=\"" << width - right - 125 << "\" y2=\""
        << ly << "\" stroke=\"" << c.colour << "\" stroke-width=\"2\"/><text x=\"" << width - right - 118
        << "\" y=\"" << ly + 4 << "\">" << c.name << "</text>\n";
  }
  out << "</svg>\n";
  if (!out) throw std::runtime_error("error writing '" + path + "'");
}

}  // namespace siamese
