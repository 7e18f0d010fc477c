// tandem/errors.hpp — the exceptions every executor reports with (Python: concurrent.futures._base).
//
// Each class has one precise meaning, so callers can catch exactly what they can handle:
//
// ```cpp body
//   try { fut.result(1s); }
//   catch (const tandem::TimeoutError&) { /* still running: try again later */ }
//   catch (const tandem::CancelledError&) { /* nobody will ever produce a value */ }
// ```
#pragma once

#include <stdexcept>
#include <string>

namespace tandem {

/// Base of every error tandem itself raises (a task's own exceptions pass through unchanged).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The future (or coroutine task) was cancelled before it produced a result.
class CancelledError : public Error {
 public:
  CancelledError() : Error("the future was cancelled") {}
  using Error::Error;
};

/// A wait with a timeout ran out before the result was ready. The operation itself goes on.
class TimeoutError : public Error {
 public:
  TimeoutError() : Error("timed out waiting for the result") {}
  using Error::Error;
};

/// An operation was called in a state that does not allow it, e.g. setting a result twice.
class InvalidStateError : public Error {
 public:
  using Error::Error;
};

/// The executor cannot run tasks any more (e.g. a worker initializer failed).
class BrokenExecutor : public Error {
 public:
  using Error::Error;
};

/// `submit` was called after `shutdown()` (Python raises RuntimeError with the same message).
class ShutdownError : public Error {
 public:
  ShutdownError() : Error("cannot schedule new futures after shutdown") {}
  using Error::Error;
};

}  // namespace tandem
