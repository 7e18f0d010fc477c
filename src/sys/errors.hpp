// Private (sys layer, below every other): errno → exception, written once.
#pragma once

#include <string>
#include <system_error>

namespace tandem::sys {

/// Throws std::system_error for `err` (an errno value) with `what` as its message prefix.
[[noreturn]] inline void throw_errno(const std::string& what, int err) {
  throw std::system_error(err, std::generic_category(), what);
}

}  // namespace tandem::sys
