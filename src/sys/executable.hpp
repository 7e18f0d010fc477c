// Private (sys layer): where the main executable's code is. A process names code to a copy of itself
// by its offset from the executable's load address, and only code of the executable itself can run
// before main in a re-executed copy (a shared library loaded later is not there yet).
#pragma once

#include <cstdint>

namespace tandem::sys {

/// The main executable's load address (its PIE base).
std::uintptr_t executable_base() noexcept;
/// Whether `address` lies in the main executable's code (not a shared library's, not JIT code).
bool in_executable_code(std::uintptr_t address) noexcept;

}  // namespace tandem::sys
