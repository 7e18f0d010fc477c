// aio's error classes (see tandem/aio/exceptions.hpp).
#include "tandem/aio/exceptions.hpp"

namespace tandem::aio {

namespace {
std::string summarize(const std::string& message, const std::vector<std::exception_ptr>& errors) {
  std::string out = message + " (" + std::to_string(errors.size()) + " sub-exception" +
                    (errors.size() == 1 ? "" : "s") + ")";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    out += i == 0 ? ": " : "; ";
    try {
      std::rethrow_exception(errors[i]);
    } catch (const std::exception& e) {
      out += e.what();
    } catch (...) {
      out += "<not a std::exception>";
    }
  }
  return out;
}
}  // namespace

ExceptionGroup::ExceptionGroup(const std::string& message, std::vector<std::exception_ptr> exceptions)
    : Error(summarize(message, exceptions)), exceptions_(std::move(exceptions)) {}

IncompleteReadError::IncompleteReadError(std::string partial, std::size_t expected)
    : Error(std::to_string(partial.size()) + " bytes read on a total of " + std::to_string(expected) +
            " expected bytes: the stream ended early"),
      partial_(std::move(partial)),
      expected_(expected) {}

}  // namespace tandem::aio
