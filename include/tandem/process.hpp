// tandem/process.hpp — a function running in a child process (Python: multiprocessing.Process).
//
// ```cpp body
//   void spin(std::string msg, tandem::ipc::Event done);          // a plain function
//   tandem::ipc::Event done;
//   tandem::Process spinner(&spin, std::string("thinking!"), done);
//   std::cout << spinner.repr();   // <Process name='Process-1' parent=13216 initial>
//   spinner.start();
//   /* ... */
//   done.set();
//   spinner.join();
//   spinner.exitcode();            // 0; -9 had it been killed by SIGKILL, as Python reports it
// ```
//
// What crosses: code never does. The child runs the same executable; the target is named by its offset
// from the executable's load address and checked on arrival (the offset must fall in the executable's
// code and the function's type signature must match), so a mismatched binary fails loudly instead of
// jumping into the void. Arguments are converted to the target's parameter types and, with the spawn
// method, encoded with the wire codec (codec.hpp): values, strings, containers, msgpack-enabled structs,
// and the ipc objects (Event, Lock, Semaphore, Barrier, Value, Array, Queue, Pipe ends), which the child
// inherits. The target must be a plain function or a lambda without captures (compile-time error
// otherwise): a closure's captured state has no meaning in another address space.
//
// Start methods — the trade-off:
//  * spawn (default, safe): posix_spawn of the same executable (/proc/self/exe) with a marker in the
//    environment. A static initializer in tandem sees the marker before main, runs the target and exits,
//    so main() never runs in the child. Safe when the parent already runs threads (nothing of the
//    parent's state is copied), costs an exec (a few milliseconds). Caveat: the target runs during static
//    initialisation, after the dynamic initialisation of the program's own translation units (tandem is
//    linked after them) but before main: anything main() sets up at run time is not there. Keep what
//    targets need in constants, function-local statics, or arguments.
//  * fork: the child is a copy of the parent and calls the target directly, arguments are not encoded
//    (anything copyable crosses), start is fast (~100 µs). Unsafe if the parent runs other threads: a
//    lock held by another thread at the fork (malloc's, a logger's) stays locked forever in the child.
//    Python 3.14 moved its default away from fork for this reason. Use it from single-threaded programs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "tandem/ipc/codec.hpp"
#include "tandem/errors.hpp"

namespace tandem {

enum class StartMethod { spawn, fork };

/// "spawn" or "fork".
const char* to_string(StartMethod m) noexcept;
/// The start method Process and ProcessPoolExecutor use when none is given: spawn, unless the
/// TANDEM_START_METHOD environment variable says "fork".
StartMethod default_start_method() noexcept;

/// This process's name: "MainProcess", or the name of the Process (or pool worker) it runs.
const std::string& current_process_name() noexcept;

namespace detail {

// ---- naming code by its place in the executable ----

/// Offset of `address` from the executable's load base. Throws std::invalid_argument if the address is
/// not in the main executable's code (e.g. a function in a shared library).
std::uint64_t code_offset(std::uintptr_t address);
/// The address for an offset received from a peer; throws ipc::CodecError if it is outside our code.
std::uintptr_t code_address(std::uint64_t offset);
/// Identity of a function type, compared on arrival (FNV-1a of the mangled type name).
std::uint64_t signature_of(const std::type_info& t) noexcept;
[[noreturn]] void throw_signature_mismatch(const std::type_info& expected);
[[noreturn]] void throw_arity_mismatch(std::size_t expected, std::size_t got);

template <class Ptr>
std::uint64_t signature() noexcept {
  static const std::uint64_t s = signature_of(typeid(Ptr));
  return s;
}

// ---- what counts as a plain function ----

template <class M>
struct call_operator;
template <class C, class R, class... P>
struct call_operator<R (C::*)(P...) const> {
  using ptr = R (*)(P...);
};
template <class C, class R, class... P>
struct call_operator<R (C::*)(P...) const noexcept> {
  using ptr = R (*)(P...);
};
template <class C, class R, class... P>
struct call_operator<R (C::*)(P...)> {
  using ptr = R (*)(P...);
};
template <class C, class R, class... P>
struct call_operator<R (C::*)(P...) noexcept> {
  using ptr = R (*)(P...);
};

template <class F, class = void>
struct fn_traits {
  static constexpr bool known = false;
  static constexpr bool plain = false;
};
template <class R, class... P>
struct fn_traits<R (*)(P...)> {
  static constexpr bool known = true;
  static constexpr bool plain = true;
  using ptr = R (*)(P...);
  using result = R;
  using args = std::tuple<std::decay_t<P>...>;
  static constexpr std::size_t arity = sizeof...(P);
};
template <class R, class... P>
struct fn_traits<R (*)(P...) noexcept> : fn_traits<R (*)(P...)> {};
template <class R, class... P>
struct fn_traits<R(P...)> : fn_traits<R (*)(P...)> {};
template <class R, class... P>
struct fn_traits<R(P...) noexcept> : fn_traits<R (*)(P...)> {};
template <class F>
struct fn_traits<F, std::void_t<decltype(&F::operator())>>
    : fn_traits<typename call_operator<decltype(&F::operator())>::ptr> {
  // A lambda is plain when it converts to a function pointer, i.e. when it captures nothing.
  static constexpr bool plain = std::is_convertible_v<F, typename call_operator<decltype(&F::operator())>::ptr>;
};

/// Compile-time check with a message that says what to do instead.
template <class F>
constexpr void require_plain_function() {
  using T = fn_traits<std::remove_cvref_t<F>>;
  static_assert(T::known,
                "tandem: a process needs a plain function (or a lambda without captures, not a generic one): code "
                "cannot cross a process boundary, only its address in the shared executable can");
  if constexpr (T::known)
    static_assert(T::plain,
                  "tandem: this lambda captures variables; a worker process cannot see a closure's captured state. "
                  "Make it capture nothing and pass the values as arguments: submit([](int x) {...}, x)");
}

template <class F>
inline constexpr bool is_plain_function_v =
    fn_traits<std::remove_cvref_t<F>>::known && fn_traits<std::remove_cvref_t<F>>::plain;

/// Whether the arguments and the result of a plain function cross the codec; for a plain struct without
/// MSGPACK_DEFINE, one static_assert naming the fix instead of pages of msgpack internals.
template <class Ptr>
constexpr bool crosses_codec() {
  using T = fn_traits<Ptr>;
  const bool args = ipc::detail::require_encodable<typename T::args>();
  if constexpr (std::is_void_v<typename T::result>)
    return args;
  else
    return ipc::detail::require_encodable<std::decay_t<typename T::result>>() && args;
}

template <class F>
auto to_function_pointer(F&& f) {
  require_plain_function<F>();
  using T = fn_traits<std::remove_cvref_t<F>>;
  if constexpr (T::known && T::plain)
    return static_cast<typename T::ptr>(f);
  else
    return static_cast<void (*)()>(nullptr);  // unreachable: the static_assert above already failed
}

/// A tuple of arguments decoded from a msgpack array of exactly the right length.
template <class Tuple>
Tuple convert_args(const msgpack::object& obj) {
  constexpr std::size_t n = std::tuple_size_v<Tuple>;
  if (obj.type != msgpack::type::ARRAY) throw_arity_mismatch(n, static_cast<std::size_t>(-1));
  if (obj.via.array.size != n) throw_arity_mismatch(n, obj.via.array.size);
  return ipc::convert<Tuple>(obj);
}

/// A function pointer as a codec value: its offset and signature, checked on arrival. A null pointer
/// crosses as null.
template <class Ptr>
struct CodeRef {
  Ptr fn = nullptr;
};

// The child side of Process with the spawn method: decode the arguments, call the target.
using ProcessEntry = void (*)(std::uint64_t signature, std::uintptr_t fn, const msgpack::object& args);
template <class Ptr>
void process_entry(std::uint64_t sig, std::uintptr_t fn, const msgpack::object& args) {
  if (sig != signature<Ptr>()) throw_signature_mismatch(typeid(Ptr));
  auto tuple = convert_args<typename fn_traits<Ptr>::args>(args);
  std::apply(reinterpret_cast<Ptr>(fn), std::move(tuple));
}

/// Runs `fn` on the process's daemon-starting thread, which lives as long as the process (the parent-
/// death signal follows the thread that created a child), and waits for it; rethrows what fn throws.
void run_on_daemon_starter(const std::function<void()>& fn);

/// How to start a child running one call, type-erased.
struct Launch {
  std::uintptr_t entry = 0;      // process_entry<Ptr>
  std::uintptr_t function = 0;   // the target
  std::uint64_t signature = 0;
  std::function<void(ipc::Buffer&)> encode_args;  // spawn: the arguments as a msgpack array
  std::function<void()> call;                     // fork: the call itself, in the child
};

template <class Ptr, class... Args>
Launch make_launch(Ptr fn, Args&&... args) {
  if constexpr (!is_plain_function_v<Ptr>) {
    return Launch{};  // require_plain_function already failed
  } else if constexpr (!ipc::detail::require_encodable<typename fn_traits<Ptr>::args>()) {
    return Launch{};  // its static_assert said which type cannot cross
  } else {
    using Tuple = typename fn_traits<Ptr>::args;
    static_assert(std::is_constructible_v<Tuple, Args&&...>,
                  "tandem::Process: the arguments do not convert to the target's parameter types");
    auto tuple = std::make_shared<Tuple>(std::forward<Args>(args)...);
    Launch l;
    l.entry = reinterpret_cast<std::uintptr_t>(&process_entry<Ptr>);
    l.function = reinterpret_cast<std::uintptr_t>(fn);
    l.signature = signature<Ptr>();
    l.encode_args = [tuple](ipc::Buffer& out) { ipc::encode_into(out, *tuple); };
    l.call = [fn, tuple] { std::apply(fn, std::move(*tuple)); };
    return l;
  }
}

}  // namespace detail

/// A child process running `target(args...)` once (Python: multiprocessing.Process).
///
/// Thread safety: every member may be called from any thread. The destructor of a started process that
/// was not joined stops it (SIGTERM, then SIGKILL after a second) and reaps it: no zombies. Join first to
/// let it finish. No orphans even when this process is SIGKILLed (no destructor runs then) needs
/// Options::daemon; pool workers are daemons.
///
/// ```cpp body
///   void watch(int port);   // a plain function
///   tandem::Process::Options o;
///   o.daemon = true;
///   tandem::Process watchdog(o, &watch, 8080);
///   watchdog.start();   // killed with us, whatever happens to us
/// ```
class Process {
 public:
  struct Options {
    std::string name;  // empty: "Process-<n>", numbered per parent as in Python
    std::optional<StartMethod> start_method;  // empty: default_start_method()
    /// Python's `daemon` flag. true: the child dies with this process, however it ends — even by
    /// SIGKILL (the kernel's parent-death signal, armed before the target runs and race-free against a
    /// parent that died first). false (the default, as in Python): a child outlives a parent that is
    /// killed without running destructors; a parent that ends normally still stops it (see ~Process).
    bool daemon = false;
  };

  template <class F, class... Args>
    requires(!std::same_as<std::remove_cvref_t<F>, Process>)
  explicit Process(F&& target, Args&&... args)
      : Process(Options{}, std::forward<F>(target), std::forward<Args>(args)...) {}
  template <class F, class... Args>
  Process(Options options, F&& target, Args&&... args)
      : Process(std::move(options), detail::make_launch(detail::to_function_pointer(std::forward<F>(target)),
                                                        std::forward<Args>(args)...)) {}
  Process(Options options, detail::Launch launch);

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  /// Movable, so that processes can live in a std::vector (Python: [Process(...) for _ in range(n)]).
  /// A moved-from Process is like one never started. Assigning over a started Process stops and reaps
  /// its child first, as its destructor would.
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();

  /// Starts the child. Throws InvalidStateError if already started, std::system_error if the OS
  /// refuses, ipc::CodecError if an argument cannot be encoded (spawn).
  void start();
  /// Waits for the child to end. Returns true if it has ended (always, without a timeout).
  bool join();
  template <class Rep, class Period>
  bool join(std::chrono::duration<Rep, Period> timeout) {
    return join_ms(std::chrono::ceil<std::chrono::milliseconds>(timeout).count());
  }
  /// Sends SIGTERM / SIGKILL (no-op once the child has ended).
  void terminate();
  void kill();
  bool is_alive();
  /// Exit status once ended: the exit code, or minus the signal number that killed it. Empty before.
  std::optional<int> exitcode();
  /// The child's pid (0 before start).
  pid_t pid() const noexcept;
  /// A descriptor that becomes readable when the child ends (a pidfd; Python: Process.sentinel), -1
  /// before start. Owned by the Process.
  int sentinel() const noexcept;
  const std::string& name() const noexcept { return name_; }
  StartMethod start_method() const noexcept { return method_; }
  /// Python's `p.daemon` (see Options::daemon). Setting it after start() throws InvalidStateError
  /// (Python: "process has already started").
  bool daemon() const noexcept { return daemon_; }
  void set_daemon(bool daemon);
  /// Python's repr: <Process name='Process-1' parent=13216 initial>, ... pid=13217 ... started>,
  /// ... stopped exitcode=0> or exitcode=-SIGKILL>.
  std::string repr();

 private:
  bool join_ms(long long timeout_ms);  // < 0: forever
  void reap_if_ended(bool block);      // caller holds mu_
  void start_locked();                 // caller holds mu_

  std::string name_;
  StartMethod method_;
  bool daemon_;
  detail::Launch launch_;
  pid_t parent_pid_;
  mutable std::mutex mu_;
  pid_t pid_ = 0;
  int pidfd_ = -1;
  std::optional<int> exitcode_;
};

/// Human name of a signal ("SIGKILL"), or "signal <n>".
std::string signal_name(int sig);

}  // namespace tandem

// A function pointer crosses as {offset, signature}; null as nil.

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <typename Ptr>
  struct pack<tandem::detail::CodeRef<Ptr>> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const tandem::detail::CodeRef<Ptr>& v) const {
      if (!v.fn) {
        o.pack_nil();
      } else {
        o.pack_array(2);
        o.pack(tandem::detail::code_offset(reinterpret_cast<std::uintptr_t>(v.fn)));
        o.pack(tandem::detail::signature<Ptr>());
      }
      return o;
    }
  };
  template <typename Ptr>
  struct convert<tandem::detail::CodeRef<Ptr>> {
    const msgpack::object& operator()(const msgpack::object& o, tandem::detail::CodeRef<Ptr>& v) const {
      if (o.is_nil()) {
        v.fn = nullptr;
        return o;
      }
      auto [offset, sig] = o.as<std::pair<std::uint64_t, std::uint64_t>>();
      if (sig != tandem::detail::signature<Ptr>()) tandem::detail::throw_signature_mismatch(typeid(Ptr));
      v.fn = reinterpret_cast<Ptr>(tandem::detail::code_address(offset));
      return o;
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack
