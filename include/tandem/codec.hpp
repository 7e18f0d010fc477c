// tandem/codec.hpp — the wire codec: how values cross a process boundary (Python: pickle, minus code).
//
// Arguments, results and exceptions travel between processes as MessagePack (msgpack-cxx, header-only,
// used through the system include path so that the installed tandem package depends on nothing).
// Code never travels: a function is named by its offset in the shared executable (see process.hpp).
//
// Any type msgpack-cxx knows crosses: integers, floats, bool, std::string, std::vector, std::map,
// std::tuple, std::pair, std::optional... Your own struct crosses once it says how:
//
// ```cpp
//   struct Point { double x, y; MSGPACK_DEFINE(x, y); };   // at namespace scope
//   Point round_trip(Point in) {
//     auto bytes = tandem::ipc::encode(in);
//     return tandem::ipc::decode<Point>(bytes);
//   }
// ```
//
// decode() never trusts its input: truncated, corrupt, oversized or mistyped bytes, and trailing garbage,
// all throw CodecError naming the expected type — never undefined behaviour, never a huge allocation.
#pragma once

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST 1
#endif
#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "tandem/errors.hpp"

namespace tandem::ipc {

/// A message could not be encoded or decoded: corrupt or truncated bytes, a type mismatch, an unknown
/// message kind, or a value that cannot cross (e.g. an anonymous segment outside a Process start).
class CodecError : public Error {
 public:
  using Error::Error;
};

/// Demangled name of a type, for error messages ("std::vector<int, std::allocator<int> >").
std::string type_name(const std::type_info& type);
template <class T>
std::string type_name() {
  return type_name(typeid(T));
}

/// Growable byte buffer that messages are encoded into. Reuse one on hot paths: clear() keeps capacity.
using Buffer = msgpack::sbuffer;

namespace detail {
[[noreturn]] void throw_encode_error(const std::type_info& type, const std::exception& cause);
[[noreturn]] void throw_decode_error(const std::type_info& type, const char* cause);
/// Parses exactly one msgpack object spanning all of `bytes`, with limits derived from its size (so a
/// corrupt length cannot ask for gigabytes). Throws CodecError naming `expected`.
msgpack::object_handle parse(std::span<const char> bytes, const std::type_info& expected);

/// fd inheritance while a Process starts with the spawn method: values that are backed by a file
/// descriptor (anonymous shared memory, pipe ends) record it here on encode and find it here on decode.
/// Outside a Process start there is no table and such values refuse to encode (CodecError).
struct FdTable {
  std::vector<int> fds;
  bool child = false;  // decoding side: fds[i] is an inherited descriptor the child now owns
};
FdTable*& current_fd_table() noexcept;
}  // namespace detail

/// Appends `value` to `out` (a Buffer, or any msgpack stream) as one msgpack object. A stream that
/// refuses to grow throws std::length_error, which passes through unchanged.
template <class T, class Stream>
void encode_into(Stream& out, const T& value) {
  try {
    msgpack::pack(out, value);
  } catch (const CodecError&) {
    throw;
  } catch (const std::length_error&) {
    throw;
  } catch (const std::exception& e) {
    detail::throw_encode_error(typeid(T), e);
  }
}

/// `value` as one msgpack message.
template <class T>
std::vector<char> encode(const T& value) {
  Buffer buf;
  encode_into(buf, value);
  return std::vector<char>(buf.data(), buf.data() + buf.size());
}

/// Converts a parsed object to T; a shape mismatch throws CodecError naming T.
template <class T>
T convert(const msgpack::object& obj) {
  try {
    return obj.as<T>();
  } catch (const CodecError&) {
    throw;
  } catch (const std::exception& e) {
    detail::throw_decode_error(typeid(T), e.what());
  }
}

/// Decodes one message of type T that must span exactly `bytes`.
template <class T>
T decode(std::span<const char> bytes) {
  auto handle = detail::parse(bytes, typeid(T));
  return convert<T>(handle.get());
}

/// An exception as it crosses a process boundary: its dynamic type's name and its what().
struct ErrorInfo {
  std::string type;
  std::string message;
  MSGPACK_DEFINE(type, message);
};

/// Describes the exception in flight (call inside a catch block).
ErrorInfo describe_current_exception();

}  // namespace tandem::ipc
