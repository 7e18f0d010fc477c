// tandem/ipc/sharedctypes.hpp — typed values and arrays in shared memory (Python: multiprocessing.Value,
// multiprocessing.Array).
//
// Each object carries its own robust lock: get()/set() (and Array's load/store) are atomic with respect
// to each other across processes; for a read-modify-write, hold the lock yourself:
//
// ```cpp body
//   tandem::ipc::Value<long> counter(0);
//   // in each process (pass counter as a Process argument):
//   { std::lock_guard guard(counter.get_lock()); counter.unsafe_ref() += 1; }
// ```
//
// T must be trivially copyable: the bytes are the value, with no pointers into one process's heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "tandem/ipc/shared_memory.hpp"

namespace tandem::ipc {

namespace detail {
inline constexpr std::size_t kCtypesHeader = 128;  // magic, element count, robust mutex; keeps data aligned
void ctypes_init(void* base, std::uint32_t magic, std::size_t count);
std::size_t ctypes_count(const void* base) noexcept;
void ctypes_lock(void* base);
void ctypes_unlock(void* base);
std::uint32_t ctypes_magic(const std::type_info& t, bool array) noexcept;
}  // namespace detail

/// The lock of a Value or Array (BasicLockable: use it with std::lock_guard).
class SharedLockRef {
 public:
  explicit SharedLockRef(void* base) noexcept : base_(base) {}
  void lock() { detail::ctypes_lock(base_); }
  void unlock() { detail::ctypes_unlock(base_); }

 private:
  void* base_;
};

/// One T in shared memory, with a lock (Python: multiprocessing.Value).
template <class T>
class Value : public detail::SharedObject {
  static_assert(std::is_trivially_copyable_v<T>, "ipc::Value<T> needs a trivially copyable T");
  static_assert(alignof(T) <= detail::kCtypesHeader, "ipc::Value<T>: T is over-aligned");

 public:
  explicit Value(const T& initial = T{}) : SharedObject(detail::kCtypesHeader + sizeof(T)), lock_(raw()) {
    std::memcpy(slot(), &initial, sizeof(T));
    detail::ctypes_init(raw(), detail::ctypes_magic(typeid(T), false), 1);
  }
  Value(detail::adopt_segment_t, std::shared_ptr<SharedMemory> seg)
      : SharedObject(std::move(seg), detail::ctypes_magic(typeid(T), false), detail::kCtypesHeader + sizeof(T),
                     "Value of this type"),
        lock_(raw()) {}

  T get() const {
    std::lock_guard g(lock_ref());
    T out;
    std::memcpy(&out, slot(), sizeof(T));
    return out;
  }
  void set(const T& v) {
    std::lock_guard g(lock_ref());
    std::memcpy(slot(), &v, sizeof(T));
  }
  /// The lock that get()/set() take; hold it around unsafe_ref() for read-modify-write.
  SharedLockRef& get_lock() const noexcept { return lock_; }
  /// The value itself, unsynchronised: only while holding get_lock().
  T& unsafe_ref() const noexcept { return *static_cast<T*>(slot()); }

 private:
  SharedLockRef& lock_ref() const noexcept { return lock_; }
  void* slot() const noexcept { return static_cast<char*>(raw()) + detail::kCtypesHeader; }
  mutable SharedLockRef lock_{raw()};
};

/// A fixed-size array of T in shared memory, with a lock (Python: multiprocessing.Array).
template <class T>
class Array : public detail::SharedObject {
  static_assert(std::is_trivially_copyable_v<T>, "ipc::Array<T> needs a trivially copyable T");
  static_assert(alignof(T) <= detail::kCtypesHeader, "ipc::Array<T>: T is over-aligned");

 public:
  /// `size` value-initialised elements.
  explicit Array(std::size_t size)
      : SharedObject(detail::kCtypesHeader + (size ? size : 1) * sizeof(T)), lock_(raw()) {
    std::vector<T> init(size);
    if (size) std::memcpy(data(), init.data(), size * sizeof(T));
    detail::ctypes_init(raw(), detail::ctypes_magic(typeid(T), true), size);
  }
  Array(std::initializer_list<T> values) : Array(values.size()) {
    std::size_t i = 0;
    for (const T& v : values) data()[i++] = v;
  }
  Array(detail::adopt_segment_t, std::shared_ptr<SharedMemory> seg)
      : SharedObject(std::move(seg), detail::ctypes_magic(typeid(T), true), detail::kCtypesHeader, "Array of this type"),
        lock_(raw()) {
    if (segment()->size() < detail::kCtypesHeader + size() * sizeof(T))
      throw CodecError("tandem codec: the received Array segment is smaller than its element count");
  }

  std::size_t size() const noexcept { return detail::ctypes_count(raw()); }
  /// Element access, unsynchronised (like Python's Array indexing without get_lock()).
  T& operator[](std::size_t i) const noexcept { return data()[i]; }
  T at(std::size_t i) const {
    if (i >= size()) throw std::out_of_range("ipc::Array index " + std::to_string(i) + " >= size " + std::to_string(size()));
    std::lock_guard g(get_lock_ref());
    return data()[i];
  }
  /// A consistent copy of every element, taken under the lock.
  std::vector<T> snapshot() const {
    std::lock_guard g(get_lock_ref());
    return std::vector<T>(data(), data() + size());
  }
  std::span<T> unsafe_span() const noexcept { return {data(), size()}; }
  SharedLockRef& get_lock() const noexcept { return lock_; }

 private:
  SharedLockRef& get_lock_ref() const noexcept { return lock_; }
  mutable SharedLockRef lock_;
  T* data() const noexcept { return reinterpret_cast<T*>(static_cast<char*>(raw()) + detail::kCtypesHeader); }
};

}  // namespace tandem::ipc
