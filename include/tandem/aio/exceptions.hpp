// tandem/aio/exceptions.hpp — the errors aio adds to tandem's (Python: asyncio.exceptions).
//
// Cancellation and timeouts use the core classes: tandem::CancelledError and tandem::TimeoutError
// (asyncio 3.11 also made its TimeoutError the builtin one).
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "tandem/errors.hpp"

namespace tandem::aio {

/// Several tasks of a TaskGroup failed (Python: ExceptionGroup). exceptions() holds every failure in
/// the order they happened; what() summarises them. A single failure is rethrown as itself instead.
class ExceptionGroup : public Error {
 public:
  ExceptionGroup(const std::string& message, std::vector<std::exception_ptr> exceptions);
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

 private:
  std::vector<std::exception_ptr> exceptions_;
};

/// get_nowait() on an empty queue (Python: asyncio.QueueEmpty).
class QueueEmpty : public Error {
 public:
  QueueEmpty() : Error("the queue is empty: use co_await get() to wait for an item") {}
};

/// put_nowait() on a full queue (Python: asyncio.QueueFull).
class QueueFull : public Error {
 public:
  QueueFull() : Error("the queue is full: use co_await put() to wait for room") {}
};

/// A Barrier was aborted or reset while tasks waited on it (Python: asyncio.BrokenBarrierError).
class BrokenBarrierError : public Error {
 public:
  BrokenBarrierError() : Error("the barrier is broken (aborted or reset while waiting)") {}
};

/// The stream ended before the expected bytes arrived (Python: asyncio.IncompleteReadError).
/// partial() holds what was read.
class IncompleteReadError : public Error {
 public:
  IncompleteReadError(std::string partial, std::size_t expected);
  const std::string& partial() const noexcept { return partial_; }
  std::size_t expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::size_t expected_;
};

/// readuntil()/readline() found no separator within the buffer limit (Python: LimitOverrunError).
class LimitOverrunError : public Error {
 public:
  LimitOverrunError(const std::string& message, std::size_t consumed) : Error(message), consumed_(consumed) {}
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

/// A connection-level OS error (Python: ConnectionError); code() is the errno.
class ConnectionError : public Error {
 public:
  ConnectionError(const std::string& message, int code) : Error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};
/// Nobody listens at the address (ECONNREFUSED).
class ConnectionRefusedError : public ConnectionError {
 public:
  using ConnectionError::ConnectionError;
};
/// The peer reset the connection or it broke while writing (ECONNRESET, EPIPE).
class ConnectionResetError : public ConnectionError {
 public:
  using ConnectionError::ConnectionError;
};

}  // namespace tandem::aio
