// Loader for the PyTorch reference fixtures (tests/fixtures/*.txt), written by
// scripts/make_fixtures.py, whose docstring describes the line-based format:
//
//   case <name> / op <op> / param <key> <numbers...> / input <tensor> /
//   upstream <tensor> / output <tensor> / grad <i> <tensor> / end
//   <tensor> := <dtype> <rank> <dims...> <values...>
//
// Header-only, so the tests need nothing but the committed text file.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tgtest {

struct FixtureCase {
  std::string name;
  std::string op;
  int line = 0;  // of the "case" line, for messages
  std::map<std::string, std::vector<double>> params;
  std::vector<tg::Tensor> inputs;
  tg::Tensor upstream;
  tg::Tensor output;
  std::map<std::size_t, tg::Tensor> grads;  // by input position; only float inputs

  bool has(const std::string& key) const { return params.count(key) != 0; }
  const std::vector<double>& values(const std::string& key) const {
    auto it = params.find(key);
    if (it == params.end()) throw std::runtime_error("fixture " + name + ": missing param '" + key + "'");
    return it->second;
  }
  double number(const std::string& key) const {
    const auto& v = values(key);
    if (v.size() != 1) throw std::runtime_error("fixture " + name + ": param '" + key + "' is not one number");
    return v[0];
  }
  int integer(const std::string& key) const { return static_cast<int>(number(key)); }
  bool flag(const std::string& key) const { return has(key) && number(key) != 0; }
  std::vector<int> ints(const std::string& key) const {
    std::vector<int> out;
    for (double v : values(key)) out.push_back(static_cast<int>(v));
    return out;
  }
  std::vector<std::int64_t> int64s(const std::string& key) const {
    std::vector<std::int64_t> out;
    for (double v : values(key)) out.push_back(static_cast<std::int64_t>(v));
    return out;
  }
};

namespace fixture_detail {

inline double parse_number(const std::string& token, const std::string& where) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(token.c_str(), &end);
  if (end == token.c_str() || *end != '\0') throw std::runtime_error(where + ": not a number: '" + token + "'");
  return v;
}

inline std::int64_t parse_int(const std::string& token, const std::string& where) {
  char* end = nullptr;
  long long v = std::strtoll(token.c_str(), &end, 10);
  if (end == token.c_str() || *end != '\0') throw std::runtime_error(where + ": not an integer: '" + token + "'");
  return static_cast<std::int64_t>(v);
}

// Reads "<dtype> <rank> <dims...> <values...>" from the rest of the line.
inline tg::Tensor parse_tensor(std::istringstream& in, const std::string& where) {
  std::string dtype, token;
  if (!(in >> dtype >> token)) throw std::runtime_error(where + ": expected '<dtype> <rank> ...'");
  const std::int64_t rank = parse_int(token, where);
  std::vector<std::int64_t> dims;
  for (std::int64_t d = 0; d < rank; ++d) {
    if (!(in >> token)) throw std::runtime_error(where + ": missing dimension");
    dims.push_back(parse_int(token, where));
  }
  tg::Shape shape(dims);
  std::vector<std::string> tokens;
  while (in >> token) tokens.push_back(token);
  if (static_cast<std::int64_t>(tokens.size()) != shape.numel())
    throw std::runtime_error(where + ": shape " + shape.str() + " needs " + std::to_string(shape.numel()) +
                             " values, found " + std::to_string(tokens.size()));
  if (dtype == "float64") {
    std::vector<double> v;
    for (const auto& s : tokens) v.push_back(parse_number(s, where));
    return tg::Tensor::from_vector(v, shape);
  }
  if (dtype == "int64") {
    std::vector<std::int64_t> v;
    for (const auto& s : tokens) v.push_back(parse_int(s, where));
    return tg::Tensor::from_vector(v, shape);
  }
  throw std::runtime_error(where + ": unknown dtype '" + dtype + "'");
}

}  // namespace fixture_detail

// The path of a committed fixture file.
inline std::string fixture_path(const std::string& file) { return std::string(TAPEGRAD_FIXTURE_DIR) + "/" + file; }

// Every case of a fixture file; throws on any malformed line.
inline std::vector<FixtureCase> load_fixtures(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open fixture file " + path);
  std::vector<FixtureCase> cases;
  FixtureCase current;
  bool open = false;
  std::string line;
  int number = 0;
  while (std::getline(file, line)) {
    ++number;
    const std::string where = path + ":" + std::to_string(number);
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string key;
    in >> key;
    if (key == "case") {
      if (open) throw std::runtime_error(where + ": 'case' before the previous case's 'end'");
      current = FixtureCase{};
      in >> current.name;
      current.line = number;
      open = true;
      continue;
    }
    if (!open) throw std::runtime_error(where + ": '" + key + "' outside a case");
    if (key == "op") {
      in >> current.op;
    } else if (key == "param") {
      std::string name, token;
      in >> name;
      std::vector<double> values;
      while (in >> token) values.push_back(fixture_detail::parse_number(token, where));
      current.params[name] = values;
    } else if (key == "input") {
      current.inputs.push_back(fixture_detail::parse_tensor(in, where));
    } else if (key == "upstream") {
      current.upstream = fixture_detail::parse_tensor(in, where);
    } else if (key == "output") {
      current.output = fixture_detail::parse_tensor(in, where);
    } else if (key == "grad") {
      std::string token;
      in >> token;
      const auto i = static_cast<std::size_t>(fixture_detail::parse_int(token, where));
      current.grads[i] = fixture_detail::parse_tensor(in, where);
    } else if (key == "end") {
      if (current.op.empty() || !current.output.defined() || !current.upstream.defined())
        throw std::runtime_error(where + ": case " + current.name + " lacks an op, an output or an upstream");
      cases.push_back(current);
      open = false;
    } else {
      throw std::runtime_error(where + ": unknown key '" + key + "'");
    }
  }
  if (open) throw std::runtime_error(path + ": the last case has no 'end'");
  return cases;
}

}  // namespace tgtest
