// tandem/ipc/shared_memory.hpp — memory that several processes map at once
// (Python: multiprocessing.shared_memory.SharedMemory).
//
// Two kinds of segment:
//  * named (`create` / `attach`): a POSIX shared-memory object in /dev/shm, mode 0600, that any process
//    of the same user can attach to by name. The creating handle owns the name and removes it when it is
//    destroyed (RAII: no segment outlives its creator by accident); `keep_name()` opts out.
//  * anonymous (`anonymous`): a memfd with no name at all, so nothing can leak even when every process
//    is killed. It reaches a child by inheritance: copied by fork, or passed as a Process argument with
//    the spawn method (its descriptor is inherited by the child). This is what the ipc primitives use.
//
// A creator that dies without running destructors (SIGKILL, abort, _exit, exec) still removes its names
// (Python: multiprocessing.resource_tracker). The first create() in a process starts a small tracker
// process: a copy of this program (like the spawn start method, see process.hpp: it runs the program's
// static initialisers, then the tracker instead of main) in its own session, so that a signal to the
// creator's process group does not reach it. The creator tells it each name it creates and each name it
// unlinks or keeps; when the creator is gone (the tracker reads end-of-file: every copy of the creator's
// end is closed; fork children close theirs, and one that creates segments starts its own tracker), the
// tracker removes every name still registered and exits. Processes that never create a name pay nothing.
// What stays in /dev/shm after every process is gone: names given keep_name(), and only those — except
// in these corners, where a name can still stay:
//  - the creator is killed in the microseconds between creating a name and registering it;
//  - the tracker could not be started (no /proc/self/exe, process limit reached, tandem linked into a
//    shared library: create() then works untracked, silently), or was itself killed (later names go
//    untracked);
//  - the tracker fell more than ~1 MiB of messages behind (it is starved of CPU): a message that does
//    not fit waits in the creator until its next create/unlink, and is lost if the creator dies first.
// The tracker never blocks the creator and never makes a destructor throw.
//
// ```cpp body
//   auto shm = tandem::ipc::SharedMemory::create(4096);            // fresh unique name
//   std::memcpy(shm.data(), "hi", 3);
//   auto peer = tandem::ipc::SharedMemory::attach(shm.name());     // e.g. in another process
//   // shm's destructor unmaps and unlinks; peer's destructor only unmaps.
// ```
//
// The handle is move-only; share one segment between objects of one process with a shared_ptr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "tandem/ipc/codec.hpp"
#include "tandem/errors.hpp"

namespace tandem::ipc {

/// A named segment already exists (Python: FileExistsError). Pick another name or attach to it.
class FileExistsError : public Error {
 public:
  using Error::Error;
};

/// No segment has that name (Python: FileNotFoundError): it was never created, or already unlinked.
class FileNotFoundError : public Error {
 public:
  using Error::Error;
};

class SharedMemory;
namespace detail {
struct SegmentRef;
SharedMemory segment_from_ref(const SegmentRef& ref);
}  // namespace detail

class SharedMemory {
 public:
  /// Creates a new named segment of `size` bytes (zero-filled, mode 0600). With an empty name a unique
  /// one ("tandem_<pid>_<random>") is chosen. Names may be given with or without the leading '/'.
  /// Throws FileExistsError if the name is taken, std::invalid_argument for size 0 or a bad name.
  static SharedMemory create(std::size_t size, std::string_view name = {});
  /// Maps an existing named segment (its whole size). Throws FileNotFoundError if there is none.
  /// (Received in a message, a segment maps as much as the sender's handle does.)
  static SharedMemory attach(std::string_view name);
  /// A zero-filled segment with no name (memfd); see the header comment for how it reaches a child.
  static SharedMemory anonymous(std::size_t size);
  /// Adopts a descriptor of a memfd/shm object (an inherited one, in a child). Takes ownership of fd.
  static SharedMemory from_fd(int fd);

  SharedMemory() = default;  // no segment: valid() is false
  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  /// Unmaps; also unlinks the name if this handle created it and keep_name() was not called.
  ~SharedMemory();

  bool valid() const noexcept { return data_ != nullptr; }
  void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::span<std::byte> buf() const noexcept { return {static_cast<std::byte*>(data_), size_}; }
  /// The name without the leading '/', as Python prints it; empty for an anonymous segment.
  const std::string& name() const noexcept { return name_; }
  /// The descriptor backing the mapping (kept open so that the segment can be passed to a child).
  int fd() const noexcept { return fd_; }

  /// Unmaps and closes this handle (Python: close()). The name, if any, stays until unlink().
  void close() noexcept;
  /// Removes the name so that nobody can attach any more; mappings stay valid until closed.
  /// Throws FileNotFoundError if it is already gone.
  void unlink();
  /// This handle will not unlink the name when destroyed, and the resource tracker forgets it: the
  /// segment outlives every process, as in Python, until someone unlinks it.
  void keep_name() noexcept;

 private:
  friend SharedMemory detail::segment_from_ref(const detail::SegmentRef& ref);
  // Maps the first `size` bytes of an open segment (all of it if 0); closes fd and throws on failure.
  static SharedMemory map_open(int fd, std::string name, std::size_t size);
  void release_name() noexcept;

  void* data_ = nullptr;
  std::size_t size_ = 0;
  int fd_ = -1;
  std::string name_;
  bool owns_name_ = false;
};

}  // namespace tandem::ipc

// A segment crosses the wire as its name (named) or as an inherited descriptor (anonymous, only while a
// Process starts with the spawn method; anywhere else it is a CodecError).
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <>
  struct pack<tandem::ipc::SharedMemory> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const tandem::ipc::SharedMemory& v) const;
  };
  template <>
  struct convert<tandem::ipc::SharedMemory> {
    const msgpack::object& operator()(const msgpack::object& o, tandem::ipc::SharedMemory& v) const;
  };
  }  // namespace adaptor
}
}  // namespace msgpack

namespace tandem::ipc::detail {
/// The wire form of a segment: {0, name} or {1, index into the current FdTable}, and how many bytes the
/// sender maps (the receiver maps as many: a Queue's file is larger than the part anyone maps).
struct SegmentRef {
  int kind = 0;
  std::string name;
  std::uint32_t fd_index = 0;
  std::uint64_t size = 0;
  MSGPACK_DEFINE(kind, name, fd_index, size);
};
SegmentRef segment_ref(const SharedMemory& shm);
SharedMemory segment_from_ref(const SegmentRef& ref);

/// Test hook: the pid of this process's resource tracker, 0 if none runs (no create() yet, or it could
/// not be started).
int resource_tracker_pid() noexcept;
}  // namespace tandem::ipc::detail

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <typename Stream>
  packer<Stream>& pack<tandem::ipc::SharedMemory>::operator()(packer<Stream>& o,
                                                              const tandem::ipc::SharedMemory& v) const {
    o.pack(tandem::ipc::detail::segment_ref(v));
    return o;
  }
  inline const msgpack::object& convert<tandem::ipc::SharedMemory>::operator()(const msgpack::object& o,
                                                                              tandem::ipc::SharedMemory& v) const {
    v = tandem::ipc::detail::segment_from_ref(o.as<tandem::ipc::detail::SegmentRef>());
    return o;
  }
  }  // namespace adaptor
}
}  // namespace msgpack

// ---- handles to objects that live in their own segment ------------------------------------------------

namespace tandem::ipc::detail {

struct adopt_segment_t {
  explicit adopt_segment_t() = default;
};
}  // namespace tandem::ipc::detail

namespace tandem::ipc {
/// Tag: build an ipc object (Event, Lock, Semaphore, Barrier, Queue) in a *named* segment, so that it can
/// also travel inside messages (pool task arguments, queues): the receiver attaches by name. The creating
/// handle's last copy unlinks the name, or the resource tracker does if the creating process dies first
/// (see SharedMemory): a receiver must attach while the creator lives. Without the tag, objects are
/// anonymous and travel only by inheritance (Process arguments, fork), which nothing can leak.
struct named_t {
  explicit named_t() = default;
};
inline constexpr named_t named{};
}  // namespace tandem::ipc

namespace tandem::ipc::detail {

/// Base of Event, Lock, Semaphore, Barrier, Value, Array, Queue...: a copyable handle to an object placed
/// at the start of a shared segment. Copies share the object; it crosses to a child as its segment.
class SharedObject {
 public:
  const std::shared_ptr<SharedMemory>& segment() const noexcept { return seg_; }

 protected:
  SharedObject() = default;
  /// A fresh anonymous segment of `size` bytes (at least a page is mapped anyway).
  explicit SharedObject(std::size_t size) : seg_(std::make_shared<SharedMemory>(SharedMemory::anonymous(size))) {}
  SharedObject(named_t, std::size_t size) : seg_(std::make_shared<SharedMemory>(SharedMemory::create(size))) {}
  /// Adopts a received segment after checking it starts with `magic` and holds `size` bytes.
  SharedObject(std::shared_ptr<SharedMemory> seg, std::uint32_t magic, std::size_t size, const char* what);
  void* raw() const noexcept { return seg_->data(); }

  std::shared_ptr<SharedMemory> seg_;
};

template <class T>
inline constexpr bool is_shared_object_v = std::is_base_of_v<SharedObject, T>;

}  // namespace tandem::ipc::detail

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <typename T>
  struct pack<T, std::enable_if_t<tandem::ipc::detail::is_shared_object_v<T>>> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const T& v) const {
      o.pack(*v.segment());
      return o;
    }
  };
  template <typename T>
  struct as<T, std::enable_if_t<tandem::ipc::detail::is_shared_object_v<T>>> {
    T operator()(const msgpack::object& o) const {
      return T(tandem::ipc::detail::adopt_segment_t{},
               std::make_shared<tandem::ipc::SharedMemory>(o.as<tandem::ipc::SharedMemory>()));
    }
  };
  template <typename T>
  struct convert<T, std::enable_if_t<tandem::ipc::detail::is_shared_object_v<T>>> {
    const msgpack::object& operator()(const msgpack::object& o, T& v) const {
      v = as<T>()(o);
      return o;
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack
