// tandem/executor.hpp — what every executor offers (Python: concurrent.futures.Executor).
//
// A workload is written once against the Executor concept and runs under threads, processes or MPI:
//
// ```cpp
//   template <tandem::Executor E>
//   std::uint64_t count_primes(E& ex, std::span<const std::uint64_t> numbers) {
//     std::uint64_t n = 0;
//     for (bool p : ex.map(&is_prime, numbers, 4)) n += p;
//     return n;
//   }
// ```
//
// `submit(fn, args...)` returns a Future; `map(fn, items, chunksize)` returns a MapResult, a lazy
// single-pass range of results in input order; `shutdown(wait, cancel_futures)` stops the executor.
// Function pointers are the common ground: the process and MPI executors accept nothing else, since
// code does not cross a process boundary, only its address in the shared executable does.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "tandem/errors.hpp"
#include "tandem/futures.hpp"

namespace tandem {

namespace detail {
inline int executor_probe(int x) { return x; }

/// A worker count as the user gave it: a negative count (a literal, an int variable) is an error, not
/// 2^64-1 workers on its way to a std::size_t. What zero means is each executor's own rule.
template <std::integral I>
std::size_t worker_count(I n, const char* executor) {
  if constexpr (std::is_signed_v<I>) {
    if (n < 0)
      throw std::invalid_argument(std::string(executor) + ": max_workers must not be negative (got " +
                                  std::to_string(n) + ")");
  }
  return static_cast<std::size_t>(n);
}
/// Checks a count that arrived as a std::size_t (Options::max_workers): one past INT_MAX is a negative
/// number that was converted, or no count a machine can run.
std::size_t checked_worker_count(std::size_t n, const char* executor);
}  // namespace detail

template <class E>
concept Executor = requires(E& ex, int (*fn)(int), const std::vector<int>& items) {
  { ex.submit(fn, 1) } -> std::same_as<Future<int>>;
  ex.map(fn, items, std::size_t{1});
  ex.shutdown(true, false);
};

/// The element type map() yields for a function returning R: R itself, or std::monostate for void.
template <class R>
using map_value_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

/// Results of Executor::map in input order, computed eagerly in chunks and read lazily. Reading an item
/// whose chunk failed rethrows that exception (the first failing item's), as Python's map does.
/// With map(..., timeout), reading an item not ready by `timeout` after the map() call throws
/// TimeoutError (Python's map timeout); the range can be read again once it is ready.
/// Destroying the range cancels the chunks that have not started. Single pass: iterate it once.
template <class T>
class MapResult {
 public:
  MapResult() = default;
  explicit MapResult(std::vector<Future<std::vector<T>>> chunks, Deadline deadline = {})
      : chunks_(std::move(chunks)), deadline_(deadline) {}
  MapResult(MapResult&&) noexcept = default;
  MapResult& operator=(MapResult&&) noexcept = default;
  ~MapResult() {
    for (auto& c : chunks_)
      if (c.valid()) c.cancel();
  }

  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    // std::vector<T>::reference, not T&: map() over a function returning bool yields vector<bool>'s proxy.
    typename std::vector<T>::reference operator*() const { return (*owner_->current_)[owner_->pos_]; }
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    void operator++(int) { owner_->advance(); }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class MapResult;
    explicit iterator(MapResult* owner) : owner_(owner) {}
    bool at_end() const { return owner_->at_end(); }
    MapResult* owner_ = nullptr;
  };

  /// Blocks for the first chunk; rethrows its exception.
  iterator begin() {
    if (!started_) {
      started_ = true;
      load_chunk();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() const { return {}; }

  /// All results as a vector (Python: list(executor.map(...))).
  std::vector<T> to_vector() {
    std::vector<T> out;
    for (auto&& v : *this) out.push_back(std::move(v));
    return out;
  }

 private:
  friend class iterator;
  bool at_end() const { return next_chunk_ >= chunks_.size() && (!current_ || pos_ >= current_->size()); }
  void advance() {
    if (++pos_ >= current_->size()) load_chunk();
  }
  void load_chunk() {
    current_ = nullptr;
    pos_ = 0;
    while (next_chunk_ < chunks_.size()) {
      auto& f = chunks_[next_chunk_];
      if (deadline_ && !f.wait_for(*deadline_ - std::chrono::steady_clock::now()))
        throw TimeoutError("map: result " + std::to_string(items_before_) + " was not ready within the timeout");
      ++next_chunk_;
      current_ = &f.result();
      items_before_ += current_->size();
      if (!current_->empty()) return;
    }
  }

  std::vector<Future<std::vector<T>>> chunks_;
  Deadline deadline_;
  std::size_t items_before_ = 0;  // items in the chunks loaded so far (for the timeout's message)
  std::vector<T>* current_ = nullptr;
  std::size_t next_chunk_ = 0;
  std::size_t pos_ = 0;
  bool started_ = false;
};

}  // namespace tandem
