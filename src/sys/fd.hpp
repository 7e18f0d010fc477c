// Private (sys layer): the one owner of a file descriptor.
//
// Every descriptor tandem opens is held by a UniqueFd from the call that creates it until it is closed
// or handed on with release(): an exception between the two closes it instead of leaking it. A
// descriptor shared by copies of a public object (a Pipe end) is a std::shared_ptr<UniqueFd>.
#pragma once

#include <utility>

namespace tandem::sys {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  /// Takes ownership of `fd` (a negative value: empty).
  explicit UniqueFd(int fd) noexcept : fd_(fd < 0 ? -1 : fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives the descriptor up without closing it.
  int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the descriptor held (if any) and takes `fd`.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// The two ends of a pipe2(O_CLOEXEC). Throws std::system_error ("<what>: ...").
struct PipeEnds {
  UniqueFd read, write;
};
PipeEnds make_pipe(const char* what);

}  // namespace tandem::sys
