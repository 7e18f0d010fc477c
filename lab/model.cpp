#include "lab/model.hpp"

#include <algorithm>

namespace tandem::lab {

std::string_view name(Model model) noexcept {
  switch (model) {
    case Model::sequential: return "sequential";
    case Model::threads: return "threads";
    case Model::threads_gil: return "threads-gil";
    case Model::processes: return "processes";
    case Model::coroutines: return "coroutines";
  }
  return "?";
}

std::string_view singular_name(Model model) noexcept {
  switch (model) {
    case Model::sequential: return "sequential";
    case Model::threads: return "thread";
    case Model::threads_gil: return "thread-gil";
    case Model::processes: return "process";
    case Model::coroutines: return "coroutine";
  }
  return "?";
}

std::string choices(std::span<const Model> models) {
  std::string out = "{";
  for (Model m : models) out += (out.size() > 1 ? "," : "") + std::string(name(m));
  return out + "}";
}

Model parse_model(std::string_view text, std::span<const Model> allowed) {
  for (Model m : allowed)
    if (text == name(m) || text == singular_name(m)) return m;
  std::string message = "'" + std::string(text) + "' is not one of " + choices(allowed) + " (singular or plural)";
  for (Model m : kAllModels)
    if ((text == name(m) || text == singular_name(m)) && std::ranges::find(allowed, m) == allowed.end())
      message = "'" + std::string(text) + "' is not a model of this program; it runs under " + choices(allowed);
  throw std::invalid_argument(message);
}

bool has_workers(Model model) noexcept {
  return model == Model::threads || model == Model::threads_gil || model == Model::processes;
}

std::string_view worker_unit(Model model) noexcept { return model == Model::processes ? "processes" : "threads"; }

}  // namespace tandem::lab
