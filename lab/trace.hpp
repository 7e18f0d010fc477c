// lab/trace.hpp — the recorder's records as a Chrome trace (trace event format, object form), the
// file Perfetto and chrome://tracing open and the lab's report draws its timelines from.
//
// ```cpp
//   tandem::lab::Trace trace;
//   tandem::Recorder recorder;
//   // ... run a pool with Options::recorder = &recorder ...
//   int pid = trace.add_case("primes · threads (2 workers)", "worker", recorder, recorder.origin());
//   nlohmann::json doc = trace.json();   // {"traceEvents": [...], "displayTimeUnit": "ms", ...}
// ```
//
// Shape (the contract with the report, docs/architecture.md "lab and CLI"): one pid per case, numbered from 1 in the order
// added, with a process_name metadata event; one tid per lane (lane + 1: tid 0 is unused) with a
// thread_name event; one complete event ("ph": "X", cat "task", name "task <id>") per record and, for
// threads-gil, one (cat "gil", name "GIL") per GIL hold. ts and dur are microseconds (floats), ts
// relative to the case's origin. Task ids go in args.id as strings (64-bit integers are strings in
// the lab's JSON).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab/gil.hpp"
#include "tandem/recorder.hpp"

namespace tandem::lab {

class Trace {
 public:
  /// Adds one case's timeline and returns its pid. `lane_name` names the lanes as their tids,
  /// "<lane_name> <lane + 1>" ("worker 1" for the pool's worker 0, on tid 1); a case whose records use
  /// one lane is named `single_lane_name` instead when given ("event loop", "main thread").
  int add_case(const std::string& name, const std::string& lane_name, const std::vector<TaskRecord>& records,
               Recorder::Clock::time_point origin, const std::vector<Gil::Hold>& gil_holds = {},
               const std::string& single_lane_name = {});
  /// Recorder overload: its records, from its origin.
  int add_case(const std::string& name, const std::string& lane_name, const Recorder& recorder,
               const std::vector<Gil::Hold>& gil_holds = {}, const std::string& single_lane_name = {}) {
    return add_case(name, lane_name, recorder.records(), recorder.origin(), gil_holds, single_lane_name);
  }

  int cases() const noexcept { return next_pid_ - 1; }
  /// The document: {"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {"schema": "tandem-trace/1"}}.
  nlohmann::json json() const;

 private:
  int next_pid_ = 1;
  nlohmann::json events_ = nlohmann::json::array();
};

}  // namespace tandem::lab
