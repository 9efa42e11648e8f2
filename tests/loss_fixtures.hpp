// Reads tests/fixtures/losses.txt, written by scripts/make_loss_fixtures.py from
// PyTorch (the script's docstring describes the format). Tests need no Python.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/autodiff/tensor.hpp>

#ifndef TAPEGRAD_FIXTURE_DIR
#error "TAPEGRAD_FIXTURE_DIR must name tests/fixtures"
#endif

namespace loss_fixtures {

struct Case {
  std::string name;
  std::string loss;  // the class name, e.g. "CosineSimilarityLoss"
  std::map<std::string, std::string> params;
  std::map<std::string, tg::Tensor> tensors;
  std::vector<std::string> order;  // tensor labels in file order: the inputs come first

  const tg::Tensor& tensor(const std::string& label) const {
    auto it = tensors.find(label);
    if (it == tensors.end()) throw std::out_of_range("loss fixture " + name + ": no tensor '" + label + "'");
    return it->second;
  }
  bool has(const std::string& label) const { return tensors.count(label) != 0; }
  double param(const std::string& key) const {
    auto it = params.find(key);
    if (it == params.end()) throw std::out_of_range("loss fixture " + name + ": no parameter '" + key + "'");
    return std::stod(it->second);
  }
  const std::string& text_param(const std::string& key) const {
    auto it = params.find(key);
    if (it == params.end()) throw std::out_of_range("loss fixture " + name + ": no parameter '" + key + "'");
    return it->second;
  }
  // The input tensors, in argument order (every tensor before "w").
  std::vector<tg::Tensor> inputs() const {
    std::vector<tg::Tensor> xs;
    for (const auto& label : order) {
      if (label == "w") break;
      xs.push_back(tensors.at(label));
    }
    return xs;
  }
  std::vector<std::string> input_names() const {
    std::vector<std::string> names;
    for (const auto& label : order) {
      if (label == "w") break;
      names.push_back(label);
    }
    return names;
  }
};

inline tg::Tensor parse_tensor(std::istringstream& line, const std::string& where) {
  std::string dtype;
  int rank = 0;
  line >> dtype >> rank;
  std::vector<std::int64_t> dims(static_cast<std::size_t>(rank));
  std::int64_t count = 1;
  for (auto& d : dims) {
    line >> d;
    count *= d;
  }
  tg::Shape shape(dims);
  if (dtype == "int64") {
    std::vector<std::int64_t> values(static_cast<std::size_t>(count));
    for (auto& v : values) line >> v;
    if (!line) throw std::runtime_error("loss fixtures: malformed int64 tensor in " + where);
    return tg::Tensor::from_vector(values, shape);
  }
  std::vector<double> values(static_cast<std::size_t>(count));
  for (auto& v : values) {
    std::string token;
    line >> token;
    v = std::stod(token);  // handles "inf" and "nan" too
  }
  if (!line && count > 0) throw std::runtime_error("loss fixtures: malformed float64 tensor in " + where);
  return tg::Tensor::from_vector(values, shape);
}

inline std::map<std::string, Case> load(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("loss fixtures: cannot open " + path);
  std::map<std::string, Case> cases;
  Case current;
  bool open = false;
  std::string text;
  while (std::getline(file, text)) {
    std::istringstream line(text);
    std::string kind;
    line >> kind;
    if (kind == "case") {
      current = Case();
      open = true;
      line >> current.name >> current.loss;
      std::string kv;
      while (line >> kv) {
        auto eq = kv.find('=');
        current.params[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
    } else if (kind == "tensor" && open) {
      std::string label;
      line >> label;
      current.tensors[label] = parse_tensor(line, current.name + "/" + label);
      current.order.push_back(label);
    } else if (kind == "end" && open) {
      cases[current.name] = current;
      open = false;
    }
  }
  if (cases.empty()) throw std::runtime_error("loss fixtures: no case in " + path);
  return cases;
}

inline const std::map<std::string, Case>& all() {
  static const std::map<std::string, Case> cases = load(std::string(TAPEGRAD_FIXTURE_DIR) + "/losses.txt");
  return cases;
}

inline const Case& get(const std::string& name) {
  auto it = all().find(name);
  if (it == all().end()) throw std::out_of_range("loss fixtures: no case " + name);
  return it->second;
}

}  // namespace loss_fixtures
