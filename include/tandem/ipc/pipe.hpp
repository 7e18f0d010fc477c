// tandem/ipc/pipe.hpp — a two-ended message channel between processes (Python: multiprocessing.Pipe).
//
// ```cpp body
//   void echo(tandem::ipc::Connection<std::string> c);   // a plain function: c.send(c.recv())
//   auto [parent_end, child_end] = tandem::ipc::Pipe<std::string>();
//   tandem::Process p(&echo, child_end);
//   p.start();
//   parent_end.send("ping");
//   std::string reply = parent_end.recv();
// ```
//
// Built on a Unix socket pair; each message is a length-prefixed msgpack value of any size. When every
// copy of the other end is closed (its process exited or died), recv() throws EOFError instead of
// blocking forever, and send() throws BrokenPipeError instead of raising SIGPIPE.
//
// Copies of a Connection share one descriptor. A Connection reaches a child as a Process argument
// (inherited descriptor). One reader and one writer per end at a time: a message is written with one
// call per part, so two processes writing the same end concurrently could interleave.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "tandem/ipc/codec.hpp"
#include "tandem/errors.hpp"

namespace tandem::ipc {

/// The other end is closed: nothing more will arrive (Python: EOFError).
class EOFError : public Error {
 public:
  using Error::Error;
};

/// The other end is closed: nobody will read what is sent (Python: BrokenPipeError).
class BrokenPipeError : public Error {
 public:
  using Error::Error;
};

namespace detail {

/// A shared, owned file descriptor that crosses to a spawned child by inheritance. Copies share it; the
/// last one closes it (the owner is the library's one descriptor owner, sys::UniqueFd, out of sight).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd);  // takes ownership; negative: empty
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return owner_ != nullptr; }
  void reset() noexcept {
    owner_.reset();
    fd_ = -1;
  }

 private:
  std::shared_ptr<const void> owner_;
  int fd_ = -1;
};

// Encodes the index of the descriptor in the current FdTable (Process start), decodes an inherited one.
std::uint32_t fd_to_wire(const Fd& fd);
Fd fd_from_wire(std::uint32_t index);

/// Untyped connection: framed byte messages over a socket.
class ByteConnection {
 public:
  ByteConnection() = default;
  explicit ByteConnection(Fd fd) : fd_(std::move(fd)) {}

  void send_bytes(std::span<const char> message);
  std::vector<char> recv_bytes();
  bool poll(std::optional<std::chrono::milliseconds> timeout);
  void close() noexcept { fd_.reset(); }
  bool closed() const noexcept { return !fd_; }
  int fileno() const noexcept { return fd_.get(); }
  const Fd& fd() const noexcept { return fd_; }

 private:
  Fd fd_;
};

std::pair<ByteConnection, ByteConnection> make_byte_pipe(bool duplex);

}  // namespace detail

/// One end of a Pipe carrying values of type T.
template <class T>
class Connection {
 public:
  Connection() = default;
  explicit Connection(detail::ByteConnection c) : c_(std::move(c)) {}

  /// Sends one value. Throws BrokenPipeError if the other end is closed.
  void send(const T& value) {
    Buffer buf;
    encode_into(buf, value);
    c_.send_bytes({buf.data(), buf.size()});
  }
  /// Receives one value, blocking. Throws EOFError once the other end is closed and drained.
  T recv() {
    auto bytes = c_.recv_bytes();
    return decode<T>(bytes);
  }
  /// Whether a value (or the end of the stream) is ready; waits up to `timeout` (forever if empty).
  bool poll(std::optional<std::chrono::milliseconds> timeout = std::chrono::milliseconds(0)) { return c_.poll(timeout); }
  void close() noexcept { c_.close(); }
  bool closed() const noexcept { return c_.closed(); }
  int fileno() const noexcept { return c_.fileno(); }
  const detail::ByteConnection& bytes() const noexcept { return c_; }

 private:
  detail::ByteConnection c_;
};

/// A connected pair of ends (Python: multiprocessing.Pipe(duplex)). With duplex=false the first end
/// only receives and the second only sends.
template <class T>
std::pair<Connection<T>, Connection<T>> Pipe(bool duplex = true) {
  auto [a, b] = detail::make_byte_pipe(duplex);
  return {Connection<T>(std::move(a)), Connection<T>(std::move(b))};
}

}  // namespace tandem::ipc

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <>
  struct pack<tandem::ipc::detail::Fd> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const tandem::ipc::detail::Fd& v) const {
      o.pack(tandem::ipc::detail::fd_to_wire(v));
      return o;
    }
  };
  template <>
  struct convert<tandem::ipc::detail::Fd> {
    const msgpack::object& operator()(const msgpack::object& o, tandem::ipc::detail::Fd& v) const {
      v = tandem::ipc::detail::fd_from_wire(o.as<std::uint32_t>());
      return o;
    }
  };
  template <typename T>
  struct pack<tandem::ipc::Connection<T>> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const tandem::ipc::Connection<T>& v) const {
      o.pack(v.bytes().fd());
      return o;
    }
  };
  template <typename T>
  struct convert<tandem::ipc::Connection<T>> {
    const msgpack::object& operator()(const msgpack::object& o, tandem::ipc::Connection<T>& v) const {
      v = tandem::ipc::Connection<T>(tandem::ipc::detail::ByteConnection(o.as<tandem::ipc::detail::Fd>()));
      return o;
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack
