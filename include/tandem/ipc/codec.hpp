// tandem/ipc/codec.hpp — the wire codec: how values cross a process boundary (Python: pickle, minus code).
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
// A type the codec does not know fails to compile with one line that names the fix (static_assert in
// encode_into/convert, and first of all in Process and ProcessPoolExecutor::submit/map):
//   "tandem codec: this type has no wire form: add MSGPACK_DEFINE(its members...) inside the struct, or
//    write msgpack adaptors for it and declare them with tandem::ipc::codec_hook<T> = true"
// The type itself is named by the compiler's note below it ("[with Bad = Point]").
//
// decode() never trusts its input: truncated, corrupt, oversized or mistyped bytes, and trailing garbage,
// all throw CodecError naming the expected type — never undefined behaviour, never a huge allocation.
#pragma once

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST 1
#endif
// What the templates below need from msgpack-cxx: objects, the packer, the buffer and the adaptors
// (users' MSGPACK_DEFINE needs them too). Not its parsers (unpack, parse, x3): only codec.cpp parses.
#include <msgpack/object.hpp>
#include <msgpack/pack.hpp>
#include <msgpack/sbuffer.hpp>
#include <msgpack/type.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
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

/// The codec hook: a type crosses once it has MSGPACK_DEFINE, or msgpack adaptors
/// (msgpack::adaptor::pack<T> and convert<T>, written inside
/// `MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)` as msgpack documents). For adaptors written
/// elsewhere, say so here so that the compile-time check below lets the type through:
/// `template <> inline constexpr bool tandem::ipc::codec_hook<MyType> = true;`
template <class T>
inline constexpr bool codec_hook = false;

namespace detail {

template <class T>
constexpr bool always_false_v = false;

template <class... T>
struct first_non_void {
  using type = void;
};
template <class T, class... Rest>
struct first_non_void<T, Rest...> {
  using type = std::conditional_t<std::is_void_v<T>, typename first_non_void<Rest...>::type, T>;
};

// The first type inside T (T itself, an element of a container or optional, a member of a tuple or
// pair) that is a plain struct with no wire form: an aggregate without MSGPACK_DEFINE or codec_hook.
// void: none. Other types are left to msgpack-cxx (it knows the standard library's).
template <class T>
constexpr auto find_unencodable();
template <class U, std::size_t... I>
constexpr auto find_unencodable_in_tuple(std::index_sequence<I...>) {
  return std::type_identity<
      typename first_non_void<typename decltype(find_unencodable<std::tuple_element_t<I, U>>())::type...>::type>{};
}
// Adaptors written for U in msgpack's default API namespace (as its documentation shows them), i.e. a
// specialization of v3's pack: the unspecialized one derives from v2's (which leads to v1's, where
// msgpack's own adaptors for the standard library live).
template <class U>
constexpr bool has_own_adaptor() {
#if MSGPACK_DEFAULT_API_VERSION == 3
  return !std::is_base_of_v<msgpack::v2::adaptor::pack<U>, msgpack::v3::adaptor::pack<U>>;
#else
  return false;
#endif
}

template <class T>
constexpr auto find_unencodable() {
  using U = std::remove_cvref_t<T>;
  if constexpr (codec_hook<U> || has_own_adaptor<U>() || std::is_same_v<U, msgpack::type::nil_t> ||
                requires(const U& v, msgpack::packer<msgpack::sbuffer>& pk) { v.msgpack_pack(pk); }) {
    return std::type_identity<void>{};
  } else if constexpr (requires { typename U::value_type; }) {
    if constexpr (std::is_same_v<std::remove_cv_t<typename U::value_type>, U>)
      return std::type_identity<void>{};
    else
      return find_unencodable<typename U::value_type>();
  } else if constexpr (requires { std::tuple_size<U>::value; }) {
    return find_unencodable_in_tuple<U>(std::make_index_sequence<std::tuple_size_v<U>>{});
  } else if constexpr (std::is_class_v<U> && std::is_aggregate_v<U>) {
    return std::type_identity<U>{};
  } else {
    return std::type_identity<void>{};
  }
}
template <class T>
using unencodable_t = typename decltype(find_unencodable<T>())::type;

template <class Bad>
constexpr bool not_encodable() {
  static_assert(always_false_v<Bad>,
                "tandem codec: this type has no wire form: add MSGPACK_DEFINE(its members...) inside the struct, or "
                "write msgpack adaptors for it and declare them with tandem::ipc::codec_hook<T> = true");
  return false;
}

}  // namespace detail

/// Whether values of T can cross a process boundary (as far as a compile-time check can tell: plain
/// structs need MSGPACK_DEFINE or the codec hook).
template <class T>
concept Encodable = std::is_void_v<detail::unencodable_t<T>>;

namespace detail {
/// true; or, for a type with no wire form, false and one static_assert that names the fix.
template <class T>
constexpr bool require_encodable() {
  if constexpr (Encodable<T>)
    return true;
  else
    return not_encodable<unencodable_t<T>>();
}
}  // namespace detail

/// Appends `value` to `out` (a Buffer, or any msgpack stream) as one msgpack object. A stream that
/// refuses to grow throws std::length_error, which passes through unchanged.
template <class T, class Stream>
void encode_into(Stream& out, const T& value) {
  if constexpr (detail::require_encodable<T>()) {
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
  if constexpr (!detail::require_encodable<T>()) {
    std::terminate();  // unreachable: the static_assert already failed
  } else {
    try {
      return obj.as<T>();
    } catch (const CodecError&) {
      throw;
    } catch (const std::exception& e) {
      detail::throw_decode_error(typeid(T), e.what());
    }
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
