// Chrome trace events from the recorder's records (lab/trace.hpp).
#include "lab/trace.hpp"

#include <set>

namespace tandem::lab {

namespace {
double micros_since(Recorder::Clock::time_point origin, Recorder::Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(t - origin).count();
}
}  // namespace

int Trace::add_case(const std::string& name, const std::string& lane_name, const std::vector<TaskRecord>& records,
                    Recorder::Clock::time_point origin, const std::vector<Gil::Hold>& gil_holds,
                    const std::string& single_lane_name) {
  const int pid = next_pid_++;
  events_.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", pid}, {"tid", 0}, {"args", {{"name", name}}}});
  std::set<std::uint32_t> lanes;
  for (const auto& r : records) lanes.insert(r.worker);
  for (const auto& h : gil_holds)
    if (h.lane != Gil::Hold::kNoLane) lanes.insert(h.lane);
  for (std::uint32_t lane : lanes) {
    const std::string lane_label =
        lanes.size() == 1 && !single_lane_name.empty() ? single_lane_name : lane_name + " " + std::to_string(lane + 1);
    events_.push_back({{"ph", "M"},
                       {"name", "thread_name"},
                       {"pid", pid},
                       {"tid", lane + 1},
                       {"args", {{"name", lane_label}}}});
    // Lanes in index order in the viewers (they sort by this, then by tid).
    events_.push_back({{"ph", "M"},
                       {"name", "thread_sort_index"},
                       {"pid", pid},
                       {"tid", lane + 1},
                       {"args", {{"sort_index", lane + 1}}}});
  }
  for (const auto& r : records) {
    events_.push_back({{"ph", "X"},
                       {"name", "task " + std::to_string(r.task)},
                       {"cat", "task"},
                       {"pid", pid},
                       {"tid", r.worker + 1},
                       {"ts", micros_since(origin, r.start)},
                       {"dur", micros_since(r.start, r.end)},
                       {"args", {{"id", std::to_string(r.task)}}}});
  }
  for (const auto& h : gil_holds) {
    if (h.lane == Gil::Hold::kNoLane) continue;  // a thread outside the pool: no lane to draw it on
    events_.push_back({{"ph", "X"},
                       {"name", "GIL"},
                       {"cat", "gil"},
                       {"pid", pid},
                       {"tid", h.lane + 1},
                       {"ts", micros_since(origin, h.start)},
                       {"dur", micros_since(h.start, h.end)}});
  }
  return pid;
}

nlohmann::json Trace::json() const {
  return {{"traceEvents", events_}, {"displayTimeUnit", "ms"}, {"otherData", {{"schema", "tandem-trace/1"}}}};
}

}  // namespace tandem::lab
