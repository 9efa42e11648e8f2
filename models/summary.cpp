// Model::summary: Keras's table of layers, output shapes, parameter counts and
// connections, and the totals.
//
//   Model: "functional"
//   _____________________________________________________________________________
//    Layer (type)                Output Shape   Param #   Connected to
//   =============================================================================
//    input_layer (InputLayer)    (None, 64)     0         -
//   _____________________________________________________________________________
//    sequential (Sequential)     (None, 32)     12448     input_layer[0][0]
//   ...
//   =============================================================================
//   Total params: 12448 (48.62 KB)
//   Trainable params: 12448 (48.62 KB)
//   Non-trainable params: 0 (0.00 B)
//
// Functional models list their inputs as InputLayer rows (as Keras 3), then one
// row per layer call (node): a layer called twice (shared weights) has two rows,
// "Connected to" names the tensors read as "<layer>[<node>][<output>]", where
// <node> counts that layer's calls in this model and <output> is which of its
// outputs; a chain (one input, each call reading the previous one's output,
// no layer shared) has no "Connected to" column, as Keras. A nested model is one row. Sequential models list their layers, with
// output shapes found by running one zero sample through them in inference
// mode (nothing recorded) when the model is built; before that, "?".
#include <cstdio>
#include <iostream>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/models/model.hpp"

namespace tg {

namespace {

using Cell = std::vector<std::string>;  // one line per entry
using Row = std::vector<Cell>;

std::int64_t numel_of(const std::vector<Tensor>& weights) {
  std::int64_t n = 0;
  for (const Tensor& w : weights) n += w.numel();
  return n;
}

std::int64_t bytes_of(const std::vector<Tensor>& weights) {
  std::int64_t n = 0;
  for (const Tensor& w : weights) n += w.numel() * static_cast<std::int64_t>(dtype_size(w.dtype()));
  return n;
}

// "32.50 KB", as Keras (powers of 1024).
std::string format_bytes(std::int64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f %s", v, units[u]);
  return buffer;
}

std::string param_cell(const Layer& layer) {
  if (!layer.built()) return "0 (unbuilt)";
  return std::to_string(numel_of(layer.weights()));
}

void print_table(std::ostream& os, const std::string& title, const std::vector<std::string>& headers,
                 const std::vector<Row>& rows, const Model& model, const std::string& note) {
  std::vector<std::size_t> widths(headers.size());
  for (std::size_t c = 0; c < headers.size(); ++c) widths[c] = headers[c].size();
  for (const Row& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c)
      for (const std::string& line : row[c]) widths[c] = std::max(widths[c], line.size());
  std::size_t total = 1;
  for (std::size_t w : widths) total += w + 3;
  auto print_line = [&](const std::vector<std::string>& cells) {
    std::string text = " ";
    for (std::size_t c = 0; c < cells.size(); ++c) {
      text += cells[c];
      if (c + 1 < cells.size()) text += std::string(widths[c] - cells[c].size() + 3, ' ');
    }
    os << text << "\n";
  };
  os << "Model: \"" << title << "\"\n";
  os << std::string(total, '_') << "\n";
  print_line(headers);
  os << std::string(total, '=') << "\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::size_t height = 1;
    for (const Cell& cell : rows[r]) height = std::max(height, cell.size());
    for (std::size_t l = 0; l < height; ++l) {
      std::vector<std::string> cells;
      for (const Cell& cell : rows[r]) cells.push_back(l < cell.size() ? cell[l] : "");
      print_line(cells);
    }
    os << std::string(total, r + 1 < rows.size() ? '_' : '=') << "\n";
  }
  if (rows.empty()) os << std::string(total, '=') << "\n";
  const std::vector<Tensor> all = model.weights();
  const std::vector<Tensor> trainable = model.trainable_weights();
  const std::vector<Tensor> frozen = model.non_trainable_weights();
  os << "Total params: " << numel_of(all) << " (" << format_bytes(bytes_of(all)) << ")\n";
  os << "Trainable params: " << numel_of(trainable) << " (" << format_bytes(bytes_of(trainable)) << ")\n";
  os << "Non-trainable params: " << numel_of(frozen) << " (" << format_bytes(bytes_of(frozen)) << ")\n";
  if (!note.empty()) os << note << "\n";
}

void summarize_functional(std::ostream& os, const Model& f) {
  std::vector<Row> rows;
  for (const SymbolicTensor& input : f.inputs())
    rows.push_back({{input.name() + " (InputLayer)"}, {input.shape_str()}, {"0"}, {"-"}});
  // Which call of its layer each node is, in this model.
  std::map<const LayerNode*, int> node_index;
  std::map<const Layer*, int> calls;
  for (const auto& node : f.nodes()) node_index[node.get()] = calls[node->layer.get()]++;
  for (const auto& node : f.nodes()) {
    Cell shapes;
    for (const auto& [shape, dtype] : node->output_specs) shapes.push_back(detail::batch_shape_str(shape));
    Cell connected;
    for (const SymbolicTensor& in : node->inputs) {
      if (!in.node()) connected.push_back(in.name() + "[0][0]");
      else
        connected.push_back(in.node()->layer->name() + "[" + std::to_string(node_index[in.node().get()]) + "][" +
                            std::to_string(in.output_index()) + "]");
    }
    rows.push_back({{node->layer->name() + " (" + node->layer->class_name() + ")"},
                    shapes,
                    {param_cell(*node->layer)},
                    connected});
  }
  // Keras 3 drops "Connected to" when the model is a chain (print_summary's
  // sequential_like): one input, each call reading the previous call's output
  // (the first call the input), no layer called twice.
  bool chain = f.inputs().size() == 1;
  for (std::size_t k = 0; chain && k < f.nodes().size(); ++k) {
    const LayerNode& node = *f.nodes()[k];
    const LayerNode* previous = k == 0 ? nullptr : f.nodes()[k - 1].get();
    chain = node.inputs.size() == 1 && node.inputs[0].node().get() == previous && calls[node.layer.get()] == 1;
  }
  if (chain) {
    for (Row& row : rows) row.pop_back();
    print_table(os, f.name(), {"Layer (type)", "Output Shape", "Param #"}, rows, f, "");
  } else {
    print_table(os, f.name(), {"Layer (type)", "Output Shape", "Param #", "Connected to"}, rows, f, "");
  }
}

void summarize_sequential(std::ostream& os, const Sequential& s) {
  const std::vector<Ref<Layer>> layers = s.layers();
  std::vector<Row> rows;
  std::vector<std::string> shapes(layers.size(), "?");
  if (s.has_input_shape()) {
    try {
      NoGradGuard no_grad;
      Shape shape = s.input_shape();
      shape.insert(0, 1);
      Tensor x = zeros(shape, s.last_input_dtype());
      for (std::size_t i = 0; i < layers.size(); ++i) {
        x = layers[i]->run({x}, /*training=*/false).at(0);
        Shape per_sample = x.shape();
        per_sample.erase(0);
        shapes[i] = detail::batch_shape_str(per_sample);
      }
    } catch (const std::exception&) {
      // Shapes not found stay "?": a summary never throws for them.
    }
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer& layer = *layers[i];
    rows.push_back({{layer.name() + " (" + layer.class_name() + ")"}, {shapes[i]}, {param_cell(layer)}});
  }
  const std::string note =
      s.has_input_shape() ? ""
                          : "The model is not built yet: its output shapes and parameters are known once it is "
                            "called on data (or fit).";
  print_table(os, s.name(), {"Layer (type)", "Output Shape", "Param #"}, rows, s, note);
}

}  // namespace

void Model::summary(std::ostream& os) const {
  if (functional()) return summarize_functional(os, *this);
  if (const auto* s = dynamic_cast<const Sequential*>(this)) return summarize_sequential(os, *s);
  // A model type of its own: one row per sublayer.
  std::vector<Row> rows;
  for (const Ref<Layer>& l : layers()) rows.push_back({{l->name() + " (" + l->class_name() + ")"}, {param_cell(*l)}});
  print_table(os, name(), {"Layer (type)", "Param #"}, rows, *this, "");
}

void Model::summary() const { summary(std::cout); }

std::string Model::summary_string() const {
  std::ostringstream os;
  summary(os);
  return os.str();
}

std::int64_t Model::count_params() const { return numel_of(weights()); }

}  // namespace tg
