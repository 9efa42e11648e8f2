// Reads tests/fixtures/cosine.txt (written by scripts/make_cosine_fixtures.py
// from PyTorch 1.13; the format is described at the top of that script).
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

struct CosineFixture {
  std::string function, name;
  std::map<std::string, std::string> params;
  std::map<std::string, tg::Tensor> tensors;
};

inline std::vector<CosineFixture> load_cosine_fixtures(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture file " + path);
  std::vector<CosineFixture> cases;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream is(line);
    std::string kind;
    is >> kind;
    if (kind == "case") {
      CosineFixture c;
      is >> c.function >> c.name;
      std::string kv;
      while (is >> kv) {
        auto eq = kv.find('=');
        c.params[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      cases.push_back(c);
    } else if (kind == "tensor") {
      std::string label;
      int rank;
      is >> label >> rank;
      std::vector<std::int64_t> dims(static_cast<std::size_t>(rank));
      for (auto& d : dims) is >> d;
      std::vector<double> values;
      std::string v;
      while (is >> v) values.push_back(std::stod(v));
      cases.back().tensors[label] = tg::Tensor::from_vector(values, tg::Shape(dims));
    }
  }
  return cases;
}

inline std::vector<int> parse_axes(const std::string& s) {
  std::vector<int> axes;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) axes.push_back(std::stoi(item));
  return axes;
}

// "2,1" -> {2, 1} as sizes (strides, pool sizes, dilations).
inline std::vector<std::int64_t> parse_ints(const std::string& s) {
  std::vector<std::int64_t> v;
  for (int a : parse_axes(s)) v.push_back(a);
  return v;
}
