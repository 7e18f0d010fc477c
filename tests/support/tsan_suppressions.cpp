// Linked into every test binary. libstdc++ is not built with TSan, so the reference count of an
// exception_ptr is invisible to it: an exception object that one thread reads and another frees after
// both have let go of it looks like a race. That is every future failed on one thread and read on
// another, so the suppression is shared by all tests rather than repeated per file.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race:std::__exception_ptr::exception_ptr::_M_release\n";
}
#endif
