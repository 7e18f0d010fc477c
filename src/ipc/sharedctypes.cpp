#include "tandem/ipc/sharedctypes.hpp"

#include <atomic>
#include <new>

#include "robust_mutex.hpp"

namespace tandem::ipc::detail {

namespace {
struct CtypesHeader {
  std::atomic<std::uint32_t> magic;
  std::uint64_t count;
  RobustMutex mutex;
};
static_assert(sizeof(CtypesHeader) <= kCtypesHeader);
}  // namespace

void ctypes_init(void* base, std::uint32_t magic, std::size_t count) {
  auto* h = new (base) CtypesHeader{};
  h->count = count;
  h->mutex.init();
  h->magic.store(magic);
}

std::size_t ctypes_count(const void* base) noexcept {
  return static_cast<std::size_t>(static_cast<const CtypesHeader*>(base)->count);
}

void ctypes_lock(void* base) { static_cast<CtypesHeader*>(base)->mutex.lock(); }
void ctypes_unlock(void* base) { static_cast<CtypesHeader*>(base)->mutex.unlock(); }

std::uint32_t ctypes_magic(const std::type_info& t, bool array) noexcept {
  std::uint32_t h = array ? 0x41525259u : 0x56414c55u;  // "ARRY" / "VALU"
  for (const char* p = t.name(); *p; ++p) h = (h ^ static_cast<unsigned char>(*p)) * 16777619u;
  return h | 1u;  // never 0, the value of a fresh segment
}

}  // namespace tandem::ipc::detail
