#include "tandem/executor.hpp"

#include <climits>
#include <stdexcept>
#include <string>

namespace tandem::detail {

std::size_t checked_worker_count(std::size_t n, const char* executor) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw std::invalid_argument(std::string(executor) + ": max_workers is " + std::to_string(n) +
                                ", which is no count of workers (a negative number converted to std::size_t?)");
  return n;
}

}  // namespace tandem::detail
