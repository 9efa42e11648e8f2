// Model weights in .npz files (tg::io::save_npz / load_npz): one array per
// weight, keyed by its unique name (Model::named_weights).
//
//   model.save_weights("w.npz");        >>> np.load("w.npz")["dense/kernel"]
//   model.load_weights("w.npz");
//
// Loading is all-or-nothing: the whole file is read and checked against every
// weight (name, shape, dtype; no array missing, none extra) before the first
// value is written, so any error leaves the model as it was.
#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/io/npz.hpp"
#include "tapegrad/models/model.hpp"

namespace tg {

namespace {

using detail::describe;

void check_built(const Model& model, const char* who) {
  if (const auto* s = dynamic_cast<const Sequential*>(&model); s && !s->has_input_shape())
    throw std::logic_error(std::string(who) + ": the model '" + model.name() +
                           "' is not built yet, so it has no weights: call it on data (or fit it) first");
}

// The weights file is an .npz (a zip of .npy arrays). Keras's ".weights.h5"
// is HDF5, which this library does not write: a zip under that name would
// fool every HDF5 reader, so any other extension is refused.
void check_extension(const std::string& function, const std::string& path) {
  const std::string npz = ".npz";
  if (path.size() < npz.size() || path.compare(path.size() - npz.size(), npz.size(), npz) != 0)
    throw std::invalid_argument(function + ": the weights file must end in \".npz\" (numpy's format, a zip of "
                                ".npy arrays; HDF5 \".weights.h5\" files are not supported), received '" +
                                path + "'");
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> Model::named_weights() const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<std::string> taken;
  const std::vector<Tensor> all = weights();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::string base = all[i].name().empty() ? "weight_" + std::to_string(i) : all[i].name();
    std::string name = base;
    for (int k = 1; taken.count(name); ++k) name = base + "_" + std::to_string(k);
    taken.insert(name);
    out.emplace_back(name, all[i]);
  }
  return out;
}

void Model::save_weights(const std::string& path) const {
  check_built(*this, "save_weights");
  check_extension("save_weights", path);
  try {
    io::save_npz(path, named_weights());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("save_weights: ") + e.what());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("save_weights: ") + e.what());
  }
}

void Model::load_weights(const std::string& path) {
  check_built(*this, "load_weights");
  check_extension("load_weights", path);
  io::NamedArrays arrays;
  try {
    arrays = io::load_npz(path);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("load_weights: ") + e.what() + " (the model is unchanged)");
  }
  const auto named = named_weights();
  std::map<std::string, Tensor> file;
  std::vector<std::string> problems;
  for (const auto& [name, value] : arrays)
    if (!file.emplace(name, value).second) problems.push_back("the file holds '" + name + "' twice");
  std::set<std::string> model_names;
  std::vector<std::pair<Tensor, Tensor>> assignments;  // (weight, value)
  for (const auto& [name, weight] : named) {
    model_names.insert(name);
    auto it = file.find(name);
    if (it == file.end()) {
      problems.push_back("weight '" + name + "' of shape " + describe(weight) + " is missing from the file");
      continue;
    }
    const Tensor& value = it->second;
    if (value.shape() != weight.shape() || value.dtype() != weight.dtype()) {
      problems.push_back("weight '" + name + "' is " + describe(weight) + " in the model but " + describe(value) +
                         " in the file");
      continue;
    }
    assignments.emplace_back(weight, value);
  }
  for (const auto& [name, value] : arrays)
    if (!model_names.count(name))
      problems.push_back("the file's array '" + name + "' of shape " + describe(value) + " is not a weight of the model");
  if (!problems.empty()) {
    std::string message = "load_weights: '" + path + "' does not match the model '" + this->name() +
                          "' (the model is unchanged): ";
    const std::size_t shown = std::min<std::size_t>(problems.size(), 8);
    for (std::size_t i = 0; i < shown; ++i) message += (i ? "; " : "") + problems[i];
    if (problems.size() > shown) message += "; and " + std::to_string(problems.size() - shown) + " more";
    message += " (the model has " + std::to_string(named.size()) + " weights, the file " +
               std::to_string(arrays.size()) + " arrays)";
    if (!named.empty() && assignments.empty() && problems.size() == named.size() + arrays.size())
      message += ". No name matches: names are the keys, and automatic layer names (\"dense_3\") depend on how "
                 "many layers were created before in this process; give the layers explicit names to load "
                 "weights saved from another instance of the model";
    throw std::invalid_argument(message);
  }
  NoGradGuard no_grad;
  for (auto& [weight, value] : assignments) weight.assign(value);
}

}  // namespace tg
