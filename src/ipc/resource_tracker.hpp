// Private: the shared-memory resource tracker (Python: multiprocessing.resource_tracker), which removes
// the names a process created when it dies without removing them itself. See resource_tracker.cpp for
// the protocol and tandem/ipc/shared_memory.hpp for the guarantees.
#pragma once

#include <string>

namespace tandem::ipc::detail {

/// `name` (without the leading '/') was just created by this process: remove it if the process dies
/// before untrack_segment(name). Starts this process's tracker on first use.
void track_segment(const std::string& name) noexcept;
/// This process unlinked `name`, or wants it kept: forget it. Starts nothing.
void untrack_segment(const std::string& name) noexcept;

}  // namespace tandem::ipc::detail
