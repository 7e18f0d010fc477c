#include "tandem/ipc/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <utility>

#include "../sys/errors.hpp"
#include "resource_tracker.hpp"

namespace tandem::ipc {

namespace {

std::string strip_slash(std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  return std::string(name);
}

void check_name(const std::string& name) {
  if (name.empty() || name.size() > 250 || name.find('/') != std::string::npos)
    throw std::invalid_argument("SharedMemory: invalid name '" + name +
                                "' (1-250 characters, no '/' except an optional leading one)");
}

std::string unique_name() {
  static std::atomic<std::uint32_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}() ^ (static_cast<std::uint64_t>(getpid()) << 32)};
  char buf[64];
  std::snprintf(buf, sizeof buf, "tandem_%d_%u_%08x", static_cast<int>(getpid()), counter.fetch_add(1),
                static_cast<unsigned>(rng()));
  return buf;
}

using sys::throw_errno;

std::string describe(const std::string& name) { return name.empty() ? "an inherited segment" : "'" + name + "'"; }

void* map_fd(int fd, std::size_t size, const std::string& what) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    ::close(fd);
    throw_errno("SharedMemory: cannot map " + what, err);
  }
  return p;
}

int open_named(const std::string& name) {
  check_name(name);
  int fd = shm_open(("/" + name).c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      throw FileNotFoundError("SharedMemory: no segment named '" + name + "' (never created, or already unlinked)");
    throw_errno("SharedMemory: cannot attach to '" + name + "'", err);
  }
  return fd;
}

}  // namespace

SharedMemory SharedMemory::create(std::size_t size, std::string_view requested) {
  if (size == 0) throw std::invalid_argument("SharedMemory::create: size must be > 0");
  const bool generated = requested.empty();
  for (int attempt = 0;; ++attempt) {
    std::string name = generated ? unique_name() : strip_slash(requested);
    check_name(name);
    int fd = shm_open(("/" + name).c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      int err = errno;
      if (err == EEXIST && generated && attempt < 16) continue;
      if (err == EEXIST)
        throw FileExistsError("SharedMemory: a segment named '" + name +
                              "' already exists (attach to it, or choose another name)");
      throw_errno("SharedMemory: cannot create '" + name + "'", err);
    }
    detail::track_segment(name);  // from here on, the name goes when this process does
    SharedMemory shm;
    shm.fd_ = fd;
    shm.name_ = name;
    shm.owns_name_ = true;  // a failure below unlinks and untracks it again (destructor)
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      int err = errno;
      throw_errno("SharedMemory: cannot size '" + name + "' to " + std::to_string(size) + " bytes", err);
    }
    shm.data_ = map_fd(std::exchange(shm.fd_, -1), size, "'" + name + "'");
    shm.fd_ = fd;
    shm.size_ = size;
    return shm;
  }
}

SharedMemory SharedMemory::attach(std::string_view requested) {
  std::string name = strip_slash(requested);
  return map_open(open_named(name), name, 0);
}

SharedMemory SharedMemory::map_open(int fd, std::string name, std::size_t size) {
  struct stat st{};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    ::close(fd);
    if (!name.empty())
      throw FileNotFoundError("SharedMemory: segment '" + name + "' is empty (its creator has not sized it yet)");
    throw CodecError("SharedMemory: inherited descriptor " + std::to_string(fd) + " is not a shared segment");
  }
  if (size == 0) size = static_cast<std::size_t>(st.st_size);
  if (size > static_cast<std::size_t>(st.st_size)) {
    ::close(fd);
    throw CodecError("SharedMemory: " + describe(name) + " is smaller than the " + std::to_string(size) +
                     " bytes its sender maps");
  }
  SharedMemory shm;
  shm.data_ = map_fd(fd, size, describe(name));
  shm.fd_ = fd;
  shm.size_ = size;
  shm.name_ = std::move(name);
  return shm;
}

SharedMemory SharedMemory::anonymous(std::size_t size) {
  if (size == 0) throw std::invalid_argument("SharedMemory::anonymous: size must be > 0");
  int fd = memfd_create("tandem", MFD_CLOEXEC);
  if (fd < 0) throw_errno("SharedMemory: memfd_create failed", errno);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int err = errno;
    ::close(fd);
    throw_errno("SharedMemory: cannot size an anonymous segment to " + std::to_string(size) + " bytes", err);
  }
  SharedMemory shm;
  shm.data_ = map_fd(fd, size, "an anonymous segment");
  shm.fd_ = fd;
  shm.size_ = size;
  return shm;
}

SharedMemory SharedMemory::from_fd(int fd) { return map_open(fd, {}, 0); }

SharedMemory::SharedMemory(SharedMemory&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      fd_(std::exchange(o.fd_, -1)),
      name_(std::move(o.name_)),
      owns_name_(std::exchange(o.owns_name_, false)) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& o) noexcept {
  if (this != &o) {
    this->~SharedMemory();
    new (this) SharedMemory(std::move(o));
  }
  return *this;
}

SharedMemory::~SharedMemory() {
  release_name();
  close();
}

void SharedMemory::release_name() noexcept {
  if (!std::exchange(owns_name_, false) || name_.empty()) return;
  shm_unlink(("/" + name_).c_str());
  detail::untrack_segment(name_);  // after the unlink: dying in between leaves nothing behind
}

void SharedMemory::keep_name() noexcept {
  if (std::exchange(owns_name_, false)) detail::untrack_segment(name_);
}

void SharedMemory::close() noexcept {
  if (data_) munmap(data_, size_);
  if (fd_ >= 0) ::close(fd_);
  data_ = nullptr;
  size_ = 0;
  fd_ = -1;
}

void SharedMemory::unlink() {
  const bool owned = std::exchange(owns_name_, false);
  if (name_.empty()) return;  // anonymous: nothing to remove
  const int rc = shm_unlink(("/" + name_).c_str());
  const int err = errno;
  if (owned) detail::untrack_segment(name_);
  if (rc != 0) {
    if (err == ENOENT) throw FileNotFoundError("SharedMemory: segment '" + name_ + "' was already unlinked");
    throw_errno("SharedMemory: cannot unlink '" + name_ + "'", err);
  }
}

namespace detail {

SegmentRef segment_ref(const SharedMemory& shm) {
  if (!shm.valid()) throw CodecError("tandem codec: cannot send a closed SharedMemory");
  if (!shm.name().empty()) return {0, shm.name(), 0, shm.size()};
  auto* table = current_fd_table();
  if (!table || table->child)
    throw CodecError(
        "tandem codec: an anonymous shared segment (and the Event, Lock, Queue... built on it) can only reach "
        "another process by inheritance: pass it as an argument of Process or ProcessPoolExecutor's "
        "initializer; or create the object with tandem::ipc::named (e.g. ipc::Event(ipc::named)) so it travels by name");
  table->fds.push_back(shm.fd());
  return {1, {}, static_cast<std::uint32_t>(table->fds.size() - 1), shm.size()};
}

SharedMemory segment_from_ref(const SegmentRef& ref) {
  if (ref.kind == 0) {
    std::string name = strip_slash(ref.name);
    return SharedMemory::map_open(open_named(name), name, ref.size);
  }
  auto* table = current_fd_table();
  if (ref.kind != 1 || !table || !table->child || ref.fd_index >= table->fds.size() || table->fds[ref.fd_index] < 0)
    throw CodecError("tandem codec: message names an inherited segment that this process did not inherit");
  int fd = std::exchange(table->fds[ref.fd_index], -1);
  return SharedMemory::map_open(fd, {}, ref.size);
}

}  // namespace detail
}  // namespace tandem::ipc

namespace tandem::ipc::detail {

SharedObject::SharedObject(std::shared_ptr<SharedMemory> seg, std::uint32_t magic, std::size_t size, const char* what)
    : seg_(std::move(seg)) {
  if (!seg_ || !seg_->valid() || seg_->size() < size ||
      static_cast<const std::atomic<std::uint32_t>*>(seg_->data())->load() != magic)
    throw CodecError(std::string("tandem codec: the received segment does not hold an ipc::") + what);
}

}  // namespace tandem::ipc::detail
