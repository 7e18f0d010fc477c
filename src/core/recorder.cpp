// The recorder's lanes: made under a lock once per worker, appended to without one (recorder.hpp).
#include "tandem/recorder.hpp"

#include <algorithm>
#include <tuple>

namespace tandem {

namespace {
constinit thread_local const Recorder::Lane* current_lane_ = nullptr;
}  // namespace

Recorder::Lane& Recorder::lane(std::uint32_t index) {
  std::lock_guard lock(mu_);
  for (Lane& l : lanes_)
    if (l.index() == index) return l;
  return lanes_.emplace_back(index);
}

std::vector<TaskRecord> Recorder::records() const {
  std::lock_guard lock(mu_);
  std::vector<TaskRecord> all;
  for (const Lane& l : lanes_) all.insert(all.end(), l.records_.begin(), l.records_.end());
  std::sort(all.begin(), all.end(), [](const TaskRecord& a, const TaskRecord& b) {
    return std::tie(a.start, a.worker, a.task) < std::tie(b.start, b.worker, b.task);
  });
  return all;
}

std::size_t Recorder::size() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const Lane& l : lanes_) n += l.records_.size();
  return n;
}

void Recorder::clear() {
  std::lock_guard lock(mu_);
  for (Lane& l : lanes_) l.records_.clear();
  origin_ = Clock::now();
}

const Recorder::Lane* Recorder::current_lane() noexcept { return current_lane_; }
void Recorder::set_current_lane(const Lane* lane) noexcept { current_lane_ = lane; }

}  // namespace tandem
