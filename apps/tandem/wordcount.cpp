// tandem wordcount — map-reduce word count (MIT 6.824 lab 1) under each model: the counts on stdout,
// byte-identical for every model, the timing on stderr.
#include <fmt/core.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "lab/wordcount.hpp"
#include "lab/model.hpp"
#include "lab_options.hpp"

namespace tandem::cli {

namespace {

constexpr std::array<lab::Model, 4> kWordcountModels = {lab::Model::sequential, lab::Model::threads,
                                                        lab::Model::processes, lab::Model::mpi};

// The word count as a lab workload: one map-reduce job, run by lab::run_model under each model.
struct WordcountWorkload {
  const lab::WordcountJob& job;
  lab::WordCounts sequential() const { return lab::wordcount_sequential(job); }
  template <Executor E>
  lab::WordCounts parallel(E& executor, unsigned /*workers*/) const {
    return lab::wordcount_parallel(executor, job);
  }
};

struct WordcountOptions {
  std::string model = "threads";
  std::string workers;
  std::string map_tasks = "16";
  std::string reduce_tasks = "8";
  std::string generate_mb = "16";
  std::vector<std::string> files;
};

int run_wordcount(const WordcountOptions& o) {
  const auto m = static_cast<std::size_t>(parse_whole_number("--map-tasks", o.map_tasks, 1, 100000));
  const auto r = static_cast<std::uint32_t>(parse_whole_number("--reduce-tasks", o.reduce_tasks, 1, 10000));
  lab::ModelOptions model;
  model.model = lab::parse_model(o.model, kWordcountModels);
  if (!o.workers.empty() && !lab::has_workers(model.model))
    throw UsageError(fmt::format("--workers sizes a pool; --model {} has none", lab::name(model.model)));
  model.workers = !o.workers.empty()                 ? parse_workers(o.workers)
                  : model.model == lab::Model::mpi ? lab::mpi_default_workers()
                                                   : default_workers();
  model.thread_name_prefix = "wordcount";
  model.process_ring_bytes = std::size_t{256} << 20;  // a map task's partitions, for a large vocabulary
  const unsigned workers = lab::has_workers(model.model) ? model.workers : 1u;
  lab::WordcountJob job;
  job.reduce_tasks = r;
  if (o.files.empty()) {
    const auto mb = parse_whole_number("--generate-mb", o.generate_mb, 1, 1 << 16);
    job.inputs = lab::split_generated(mb << 20, m);
  } else {
    try {
      job.inputs = lab::split_files(o.files, m);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const lab::WordCounts counts = lab::run_model(model, WordcountWorkload{job});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string text = lab::format_counts(counts);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::uint64_t words = 0;
  for (auto& [w, n] : counts) words += n;
  fmt::print(stderr, "wordcount: {} words, {} distinct; {} map and {} reduce tasks on {} {} ({}): {:.3f}s\n", words,
             counts.size(), job.inputs.size(), r, workers, workers == 1 ? "worker" : "workers", lab::name(model.model),
             seconds);
  return 0;
}

}  // namespace

void add_wordcount(CLI::App& app, Runner& run) {
  auto o = std::make_shared<WordcountOptions>();
  auto* sub = app.add_subcommand("wordcount", "Map-reduce word count (MIT 6.824 lab 1): `word count` lines, sorted");
  add_model_option(*sub, o->model, kWordcountModels);
  sub->add_option("--workers", o->workers, "Workers (default: the cores; mpi: every rank mpirun started)");
  sub->add_option("--map-tasks", o->map_tasks, "Map tasks M (input splits)")->capture_default_str();
  sub->add_option("--reduce-tasks", o->reduce_tasks, "Reduce tasks R (partitions)")->capture_default_str();
  sub->add_option("--generate-mb", o->generate_mb, "Without FILEs: MiB of generated text (deterministic)")
      ->capture_default_str();
  sub->add_option("FILE", o->files, "Text files (default: a generated corpus)");
  sub->callback([o, &run] { run = [o] { return run_wordcount(*o); }; });
}

}  // namespace tandem::cli
