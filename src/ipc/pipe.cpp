#include "tandem/ipc/pipe.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "../sys/errors.hpp"
#include "../sys/fd.hpp"

namespace tandem::ipc::detail {

Fd::Fd(int fd) {
  if (fd < 0) return;
  owner_ = std::make_shared<const sys::UniqueFd>(fd);
  fd_ = fd;
}

std::uint32_t fd_to_wire(const Fd& fd) {
  auto* table = current_fd_table();
  if (!fd) throw CodecError("tandem codec: cannot send a closed connection or descriptor");
  if (!table || table->child)
    throw CodecError(
        "tandem codec: a Pipe end (or other descriptor) can only reach another process by inheritance: pass it as "
        "an argument of Process");
  table->fds.push_back(fd.get());
  return static_cast<std::uint32_t>(table->fds.size() - 1);
}

Fd fd_from_wire(std::uint32_t index) {
  auto* table = current_fd_table();
  if (!table || !table->child || index >= table->fds.size() || table->fds[index] < 0)
    throw CodecError("tandem codec: message names a descriptor that this process did not inherit");
  int fd = table->fds[index];
  table->fds[index] = -1;
  return Fd(fd);
}

namespace {

using sys::throw_errno;

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) throw BrokenPipeError("Connection.send: the other end is closed");
      throw_errno("Connection.send failed", errno);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

// false: clean end of stream before the first byte.
bool read_all(int fd, char* p, std::size_t n, bool at_boundary) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, p + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) r = 0;
      else throw_errno("Connection.recv failed", errno);
    }
    if (r == 0) {
      if (got == 0 && at_boundary) return false;
      throw EOFError("Connection.recv: the other end closed in the middle of a message (its process died?)");
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

void ByteConnection::send_bytes(std::span<const char> message) {
  if (!fd_) throw InvalidStateError("Connection.send on a closed connection");
  if (message.size() > 0xffffffffu) throw CodecError("Connection.send: message larger than 4 GiB");
  std::uint32_t len = static_cast<std::uint32_t>(message.size());
  write_all(fd_.get(), reinterpret_cast<const char*>(&len), sizeof len);
  write_all(fd_.get(), message.data(), message.size());
}

std::vector<char> ByteConnection::recv_bytes() {
  if (!fd_) throw InvalidStateError("Connection.recv on a closed connection");
  std::uint32_t len = 0;
  if (!read_all(fd_.get(), reinterpret_cast<char*>(&len), sizeof len, true))
    throw EOFError("Connection.recv: the other end is closed");
  std::vector<char> out(len);
  read_all(fd_.get(), out.data(), len, false);
  return out;
}

bool ByteConnection::poll(std::optional<std::chrono::milliseconds> timeout) {
  if (!fd_) throw InvalidStateError("Connection.poll on a closed connection");
  pollfd p{fd_.get(), POLLIN, 0};
  int ms = timeout ? static_cast<int>(std::min<long long>(timeout->count(), 1 << 30)) : -1;
  for (;;) {
    int r = ::poll(&p, 1, ms);
    if (r >= 0) return r > 0;
    if (errno != EINTR) throw_errno("Connection.poll failed", errno);
  }
}

std::pair<ByteConnection, ByteConnection> make_byte_pipe(bool duplex) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("Pipe: socketpair failed", errno);
  if (!duplex) {
    shutdown(sv[0], SHUT_WR);
    shutdown(sv[1], SHUT_RD);
  }
  return {ByteConnection(Fd(sv[0])), ByteConnection(Fd(sv[1]))};
}

}  // namespace tandem::ipc::detail
