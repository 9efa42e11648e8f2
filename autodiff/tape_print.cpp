// GradientTape's printing: the list of records (print) and the Graphviz graph
// (to_dot), teaching aids kept apart from the tape's recording and walk.
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "tape_storage.hpp"
#include "tapegrad/autodiff/tape.hpp"

namespace tg {

namespace {

// A label for each tensor on the tape: its name; else "t<k>" for the output of
// op #k, the value for an unnamed scalar constant (an eps, a 2.0), and "x<i>"
// for other unnamed leaves (numbered past the labels already taken, so a user's
// tensor named "x1" is not confused with a generated one).
std::unordered_map<const void*, std::string> label_tensors(const std::vector<detail::TapeRecord>& records) {
  std::unordered_map<const void*, std::string> labels;
  std::unordered_set<std::string> taken;
  auto give = [&](const Tensor& t, std::string label) {
    taken.insert(label);
    labels[t.id()] = std::move(label);
  };
  for (const auto& r : records)
    for (const Tensor& in : std::span(r.inputs, r.input_count))
      if (in.defined() && !in.name().empty()) taken.insert(in.name());
  for (std::size_t k = 0; k < records.size(); ++k) {
    const Tensor& out = records[k].output;
    give(out, out.name().empty() ? "t" + std::to_string(k) : out.name());
  }
  int leaves = 0;
  for (const auto& r : records)
    for (const Tensor& in : std::span(r.inputs, r.input_count)) {
      if (!in.defined() || labels.count(in.id())) continue;
      if (!in.name().empty()) {
        give(in, in.name());
      } else if (in.rank() == 0 && in.dtype() != DType::int64) {
        std::ostringstream value;
        value << in.item();
        give(in, value.str());
      } else {
        std::string label;
        do label = "x" + std::to_string(leaves++);
        while (taken.count(label));
        give(in, label);
      }
    }
  return labels;
}

}  // namespace

void GradientTape::print(std::ostream& os) const {
  const std::vector<detail::TapeRecord>& records = storage_->records;
  auto labels = label_tensors(records);
  os << "GradientTape with " << records.size() << " recorded op" << (records.size() == 1 ? "" : "s")
     << (persistent_ ? " (persistent)" : "") << '\n';
  for (std::size_t k = 0; k < records.size(); ++k) {
    const detail::TapeRecord& r = records[k];
    os << "  #" << k << ' ' << labels[r.output.id()] << " = " << r.op << '(';
    for (std::size_t i = 0; i < r.input_count; ++i) {
      const Tensor& in = r.inputs[i];
      if (i) os << ", ";
      if (!in.defined()) {
        os << "undefined";
        continue;
      }
      os << labels[in.id()] << ':' << in.shape();
    }
    os << ") -> " << r.output.shape() << ' ' << r.output.dtype() << '\n';
  }
}

namespace {

// `text` inside a DOT double-quoted label. DOT itself only escapes the quote
// (\"); Graphviz then reads a label's backslash sequences (\n a line break,
// \l, \N, ...), so a backslash becomes \\ and stays a backslash, and a
// newline becomes \n (a raw one would be folded into the string).
std::string dot_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

}  // namespace

std::string GradientTape::to_dot() const {
  const std::vector<detail::TapeRecord>& records = storage_->records;
  auto labels = label_tensors(records);
  std::ostringstream os;
  os << "digraph tape {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n";
  // Node ids are numbers: two tensors may share a label (two constants 2.0).
  std::unordered_map<const void*, std::string> node_ids;
  auto tensor_node = [&](const Tensor& t) -> const std::string& {
    auto [it, fresh] = node_ids.emplace(t.id(), "v" + std::to_string(node_ids.size()));
    if (fresh)
      os << "  " << it->second << " [shape=ellipse, label=\"" << dot_escape(labels[t.id()]) << "\\n"
         << t.shape().str() << ' ' << dtype_name(t.dtype()) << "\"];\n";
    return it->second;
  };
  for (std::size_t k = 0; k < records.size(); ++k) {
    const detail::TapeRecord& r = records[k];
    std::string op = "op" + std::to_string(k);
    os << "  " << op << " [shape=box, style=filled, fillcolor=\"#e8eef7\", label=\"#" << k << ' ' << dot_escape(r.op)
       << "\"];\n";
    for (const Tensor& in : std::span(r.inputs, r.input_count)) {
      if (!in.defined()) continue;
      const std::string& id = tensor_node(in);  // emits the node first, on its own line
      os << "  " << id << " -> " << op << ";\n";
    }
    const std::string& id = tensor_node(r.output);
    os << "  " << op << " -> " << id << ";\n";
  }
  os << "}\n";
  return os.str();
}

}  // namespace tg
