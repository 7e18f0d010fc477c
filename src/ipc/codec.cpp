// The wire codec's non-template half: demangling, bounded parsing, exception description.
#include "tandem/ipc/codec.hpp"

#include <cxxabi.h>
#include <msgpack/unpack.hpp>

#include <cstdlib>
#include <exception>
#include <memory>

namespace tandem::ipc {

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

namespace detail {

void throw_encode_error(const std::type_info& type, const std::exception& cause) {
  throw CodecError("tandem codec: cannot encode a value of type " + type_name(type) + ": " + cause.what());
}

void throw_decode_error(const std::type_info& type, const char* cause) {
  throw CodecError("tandem codec: message rejected while decoding " + type_name(type) + ": " + cause +
                   " (corrupt message, or sender and receiver disagree on the type)");
}

msgpack::object_handle parse(std::span<const char> bytes, const std::type_info& expected) {
  if (bytes.empty()) throw_decode_error(expected, "empty message");
  // Every array element, map pair, string byte... takes at least one byte of input, so no honest message
  // exceeds these limits; a corrupt length prefix is refused before anything is allocated for it.
  const auto n = static_cast<std::size_t>(bytes.size());
  msgpack::unpack_limit limit(n, n / 2 + 1, n, n, n, 64);
  std::size_t offset = 0;
  msgpack::object_handle handle;
  try {
    handle = msgpack::unpack(bytes.data(), n, offset, nullptr, nullptr, limit);
  } catch (const msgpack::insufficient_bytes&) {
    throw_decode_error(expected, "truncated message");
  } catch (const std::bad_alloc&) {
    throw_decode_error(expected, "message too large to decode");
  } catch (const std::exception& e) {
    throw_decode_error(expected, e.what());
  }
  if (offset != n) throw_decode_error(expected, "trailing bytes after the message");
  return handle;
}

FdTable*& current_fd_table() noexcept {
  static thread_local FdTable* table = nullptr;
  return table;
}

}  // namespace detail

ErrorInfo describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return {type_name(typeid(e)), e.what()};
  } catch (...) {
    auto* t = abi::__cxa_current_exception_type();
    return {t ? type_name(*t) : std::string("unknown exception"), "(not derived from std::exception)"};
  }
}

}  // namespace tandem::ipc
