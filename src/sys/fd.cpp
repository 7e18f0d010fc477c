#include "fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "errors.hpp"

namespace tandem::sys {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd < 0 ? -1 : fd;
}

PipeEnds make_pipe(const char* what) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno(std::string(what) + ": pipe2 failed", errno);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace tandem::sys
