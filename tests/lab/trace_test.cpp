// lab::Trace: the Chrome trace document the report and Perfetto read (shape per the lab's contract).
#include "lab/trace.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>

#include "lab/model.hpp"
#include "lab/primes.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Recorder;
using tandem::TaskRecord;
using tandem::lab::Gil;
using tandem::lab::Trace;
using json = nlohmann::json;

std::vector<json> events_of(const json& doc, const std::string& ph, int pid) {
  std::vector<json> out;
  for (const auto& e : doc["traceEvents"])
    if (e["ph"] == ph && e["pid"] == pid) out.push_back(e);
  return out;
}

TEST(Trace, OneProcessPerCaseOneThreadPerLaneOneSlicePerRecord) {
  const auto origin = Recorder::Clock::now();
  std::vector<TaskRecord> records{{1, 0, origin + 10us, origin + 30us},
                                  {2, 1, origin + 12us, origin + 40us},
                                  {3, 0, origin + 31us, origin + 35us}};
  std::vector<Gil::Hold> holds{{0, origin + 10us, origin + 20us},
                               {1, origin + 20us, origin + 25us},
                               {Gil::Hold::kNoLane, origin, origin + 1us}};
  Trace trace;
  EXPECT_EQ(trace.add_case("primes · threads-gil (2 workers)", "worker", records, origin, holds), 1);
  EXPECT_EQ(trace.add_case("primes · coroutines", "worker", {{9, 0, origin, origin + 5us}}, origin, {}, "event loop"),
            2);
  EXPECT_EQ(trace.cases(), 2);

  // Valid JSON in the object form, through text and back.
  const json doc = json::parse(trace.json().dump());
  ASSERT_TRUE(doc["traceEvents"].is_array());
  EXPECT_EQ(doc["displayTimeUnit"], "ms");
  EXPECT_EQ(doc["otherData"]["schema"], "tandem-trace/1");

  auto meta = events_of(doc, "M", 1);
  std::map<int, std::string> thread_names;
  std::string process_name;
  for (const auto& e : meta) {
    if (e["name"] == "process_name") process_name = e["args"]["name"];
    if (e["name"] == "thread_name") thread_names[e["tid"].get<int>()] = e["args"]["name"];
  }
  EXPECT_EQ(process_name, "primes · threads-gil (2 workers)");
  EXPECT_EQ(thread_names, (std::map<int, std::string>{{1, "worker 1"}, {2, "worker 2"}}));  // tid 0 unused

  auto slices = events_of(doc, "X", 1);
  int tasks = 0, gil = 0;
  for (const auto& e : slices) {
    ASSERT_TRUE(e["ts"].is_number_float() || e["ts"].is_number());
    EXPECT_GE(e["dur"].get<double>(), 0.0);
    EXPECT_GE(e["tid"].get<int>(), 1);
    if (e["cat"] == "task") {
      ++tasks;
      EXPECT_TRUE(e["args"]["id"].is_string());
      EXPECT_EQ(e["name"], "task " + e["args"]["id"].get<std::string>());
    } else {
      EXPECT_EQ(e["cat"], "gil");
      EXPECT_EQ(e["name"], "GIL");
      ++gil;
    }
  }
  EXPECT_EQ(tasks, 3);
  EXPECT_EQ(gil, 2);  // the hold of a thread with no lane is left out
  // ts is microseconds from the case's origin.
  for (const auto& e : slices)
    if (e["cat"] == "task" && e["args"]["id"] == "2") {
      EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 12.0);
      EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 28.0);
      EXPECT_EQ(e["tid"], 2);
    }

  auto loop_meta = events_of(doc, "M", 2);
  bool loop_named = false;
  for (const auto& e : loop_meta)
    if (e["name"] == "thread_name") loop_named = e["args"]["name"] == "event loop" && e["tid"] == 1;
  EXPECT_TRUE(loop_named);
}

TEST(Trace, ThreadsGilRunsRecordTasksAndGilHoldsOnTheWorkersLanes) {
  // Two numbers that take a few switch intervals each: the GIL changes hands between the two workers.
  const std::array<std::uint64_t, 2> numbers{142702110479723, 142702110479723};
  Recorder recorder;
  std::vector<Gil::Hold> holds;
  tandem::lab::ModelOptions mo;
  mo.model = tandem::lab::Model::threads_gil;
  mo.workers = 2;
  mo.switch_interval = 1ms;
  mo.recorder = &recorder;
  mo.gil_holds = &holds;
  (void)tandem::lab::run_model(mo, tandem::lab::PrimesWorkload{numbers});
  const auto records = recorder.records();
  ASSERT_FALSE(records.empty());
  ASSERT_FALSE(holds.empty());
  std::set<std::uint32_t> hold_lanes;
  for (const auto& h : holds) {
    EXPECT_LT(h.lane, 2u);
    EXPECT_LE(h.start, h.end);
    hold_lanes.insert(h.lane);
  }
  for (std::size_t i = 1; i < holds.size(); ++i) EXPECT_LE(holds[i - 1].end, holds[i].start);  // one holder at a time
  EXPECT_EQ(hold_lanes.size(), 2u);  // the GIL went back and forth between the two workers
  Trace trace;
  const int pid = trace.add_case("primes · threads-gil (2 workers)", "worker", recorder, holds);
  const json doc = trace.json();
  std::size_t gil_slices = 0;
  for (const auto& e : events_of(doc, "X", pid)) gil_slices += e["cat"] == "gil";
  EXPECT_EQ(gil_slices, holds.size());
}

}  // namespace
