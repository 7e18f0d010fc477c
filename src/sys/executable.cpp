#include "executable.hpp"

#include <link.h>

#include <vector>

namespace tandem::sys {

namespace {

struct CodeRange {
  std::uintptr_t lo, hi;
};
struct Image {
  std::uintptr_t base = 0;
  std::vector<CodeRange> code;
};

const Image& main_image() {
  static const Image image = [] {
    Image img;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) -> int {
          auto* im = static_cast<Image*>(data);
          im->base = info->dlpi_addr;
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const auto& ph = info->dlpi_phdr[i];
            if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
              im->code.push_back({info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz});
          }
          return 1;  // the first object is the main program
        },
        &img);
    return img;
  }();
  return image;
}

}  // namespace

std::uintptr_t executable_base() noexcept { return main_image().base; }

bool in_executable_code(std::uintptr_t address) noexcept {
  for (const auto& r : main_image().code)
    if (address >= r.lo && address < r.hi) return true;
  return false;
}

}  // namespace tandem::sys
