#include "lab/model.hpp"

#include <algorithm>
#include <thread>

namespace tandem::lab {

std::string_view name(Model model) noexcept {
  switch (model) {
    case Model::sequential: return "sequential";
    case Model::threads: return "threads";
    case Model::threads_gil: return "threads-gil";
    case Model::processes: return "processes";
    case Model::coroutines: return "coroutines";
    case Model::mpi: return "mpi";
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
    case Model::mpi: return "mpi";
  }
  return "?";
}

std::string choices(std::span<const Model> models) {
  std::string out = "{";
  for (Model m : models) out += (out.size() > 1 ? "," : "") + std::string(name(m));
  return out + "}";
}

Model parse_model(std::string_view text, std::span<const Model> allowed) {
  // "sync": the seed's name of its sequential downloader (download_all_sites in sync.py).
  if (text == "sync" && std::ranges::find(allowed, Model::sequential) != allowed.end()) return Model::sequential;
  for (Model m : allowed)
    if (text == name(m) || text == singular_name(m)) return m;
  std::string message = "'" + std::string(text) + "' is not one of " + choices(allowed) + " (singular or plural)";
  for (Model m : kAllModels)
    if ((text == name(m) || text == singular_name(m)) && std::ranges::find(allowed, m) == allowed.end())
      message = "'" + std::string(text) + "' is not a model of this program; it runs under " + choices(allowed);
  throw std::invalid_argument(message);
}

bool has_workers(Model model) noexcept {
  return model == Model::threads || model == Model::threads_gil || model == Model::processes || model == Model::mpi;
}

std::string_view worker_unit(Model model) noexcept {
  return model == Model::processes ? "processes" : model == Model::mpi ? "MPI ranks" : "threads";
}

#ifdef TANDEM_WITH_MPI
bool mpi_available() noexcept { return true; }
unsigned mpi_default_workers() {
  const int size = mpi::world_size();
  if (size > 1) return static_cast<unsigned>(size - 1);
  const unsigned cores = std::thread::hardware_concurrency();
  return cores ? cores : 1;
}
#else
bool mpi_available() noexcept { return false; }
unsigned mpi_default_workers() { return 1; }
#endif

}  // namespace tandem::lab
