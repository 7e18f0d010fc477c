// Private: the process layer's wire protocol — every record that crosses between a parent and a child
// it started, each encoder beside its decoder. Both sides run the same executable (code is named by its
// offset in it, see process.hpp), so a record never has to survive a version change: a magic number and
// a version only make a mismatched peer fail loudly instead of misreading.
//
// Data flow (compare CPython's concurrent/futures/process.py):
//
//   tandem::Process::start (spawn method)
//     parent ──SpawnMarker──► environment TANDEM_SPAWN="<version>:<parent>:<nfds>:<daemon>"
//            ──SpawnPayload─► memfd inherited as fd 3: [magic, version, name, entry, fn, signature, args]
//            ──descriptors──► fds 4, 5, ... (those the arguments carry: Pipe ends, anonymous segments)
//     child, before main: take marker → read payload → entry(signature, fn, args) → _exit
//
//   ProcessPoolExecutor (one worker = a daemon Process running pool_worker_main)
//
//   submit() ──TaskRecord──► pending ──dispatch──► tasks ring ──► worker: claim, run, encode result
//   (any thread)             (parent,              (shared memory,         │
//                             under mu)             one per worker)        ▼
//   Future ◄──deliver── manager thread ◄──drain── results ring ◄─ResultRecord─┘  + doorbell (eventfd)
//                       (polls doorbell            (shared memory)                when the manager sleeps
//                        + worker pidfds)
//
//   TaskRecord   = TaskWire (fixed header) + msgpack arguments (a tuple, or an array of tuples for a
//                  map chunk). The public template encodes only the arguments; the header is written by
//                  begin_task_record (id, claim and default timeout patched in by the pool later).
//   ResultRecord = ResultWire (fixed header) + msgpack value (kResultValue), ipc::ErrorInfo
//                  (kResultError, kResultInitFailed), or nothing (kResultSkipped: cancelled in the ring).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tandem/ipc/codec.hpp"
#include "tandem/process_pool.hpp"

namespace tandem::detail::wire {

// ---- Process start (spawn method) ---------------------------------------------------------------------

inline constexpr const char* kSpawnEnv = "TANDEM_SPAWN";
inline constexpr std::string_view kSpawnMagic = "tandem-spawn";
inline constexpr std::uint32_t kSpawnVersion = 2;

/// What the child needs before it can read anything: in the environment variable kSpawnEnv.
struct SpawnMarker {
  long parent = 0;  // the parent's pid: a daemon child checks it is still its parent
  int nfds = 0;     // descriptors passed from fd 3 up: the payload, then those the arguments carry
  bool daemon = false;
};

inline std::string encode_marker(const SpawnMarker& m) {
  return std::to_string(kSpawnVersion) + ":" + std::to_string(m.parent) + ":" + std::to_string(m.nfds) + ":" +
         (m.daemon ? "1" : "0");
}
/// nullopt: malformed, or written by another version.
inline std::optional<SpawnMarker> decode_marker(const std::string& s) {
  unsigned version = 0;
  SpawnMarker m;
  int daemon = 0;
  if (std::sscanf(s.c_str(), "%u:%ld:%d:%d", &version, &m.parent, &m.nfds, &daemon) != 4 ||
      version != kSpawnVersion || m.nfds < 1 || m.nfds > 1000)
    return std::nullopt;
  m.daemon = daemon != 0;
  return m;
}

/// The start payload: which function to call with which arguments. On the wire a msgpack array
/// [kSpawnMagic, kSpawnVersion, name, entry, function, signature, args].
struct SpawnPayload {
  std::string name;            // the process's name (current_process_name() in the child)
  std::uint64_t entry = 0;     // offset of process_entry<Ptr>
  std::uint64_t function = 0;  // offset of the target
  std::uint64_t signature = 0;
  msgpack::object args;        // decoding side: the argument array, inside the parsed handle
};
inline constexpr std::uint32_t kSpawnPayloadFields = 7;

/// `encode_args` appends the arguments (one msgpack array) after the header fields.
inline void encode_payload(ipc::Buffer& out, const SpawnPayload& p,
                           const std::function<void(ipc::Buffer&)>& encode_args) {
  msgpack::packer<ipc::Buffer> pk(out);
  pk.pack_array(kSpawnPayloadFields);
  pk.pack(kSpawnMagic);
  pk.pack(kSpawnVersion);
  pk.pack(p.name);
  pk.pack(p.entry);
  pk.pack(p.function);
  pk.pack(p.signature);
  encode_args(out);
}
/// `obj` must outlive the result's `args`. Throws ipc::CodecError.
inline SpawnPayload decode_payload(const msgpack::object& obj) {
  if (obj.type != msgpack::type::ARRAY || obj.via.array.size != kSpawnPayloadFields)
    throw ipc::CodecError("tandem: unknown start payload layout");
  const auto* f = obj.via.array.ptr;
  if (ipc::convert<std::string>(f[0]) != kSpawnMagic || ipc::convert<std::uint32_t>(f[1]) != kSpawnVersion)
    throw ipc::CodecError("tandem: start payload of another tandem version");
  return {ipc::convert<std::string>(f[2]), ipc::convert<std::uint64_t>(f[3]), ipc::convert<std::uint64_t>(f[4]),
          ipc::convert<std::uint64_t>(f[5]), f[6]};
}

// ---- pool tasks: parent → worker ----------------------------------------------------------------------

/// Fixed-size header of a task record; the msgpack arguments follow.
struct TaskWire {
  std::uint32_t magic;
  std::uint32_t kind;
  std::uint64_t id;
  std::uint64_t entry;      // offset of task_entry<Ptr> or chunk_entry<Ptr>
  std::uint64_t fn;         // offset of the task's function
  std::uint64_t signature;
  std::int64_t timeout_ns;  // 0: none
  std::uint32_t claim;      // index of the claim word the worker takes the task by (kClaimQueued)
  std::uint32_t flags;      // kTaskTimed: the pool records tasks (recorder.hpp)
};
inline constexpr std::uint32_t kTaskMagic = 0x544b5431;  // "TKT1"
enum TaskKind : std::uint32_t { kTaskCall = 1, kTaskChunk = 2, kTaskStop = 3 };
/// TaskWire::flags: the worker times the call and returns start and end in ResultWire.
inline constexpr std::uint32_t kTaskTimed = 1;

inline void encode_task_header(ipc::Buffer& out, const TaskTarget& t, std::chrono::nanoseconds timeout) {
  TaskWire w{kTaskMagic,
             t.chunk ? kTaskChunk : kTaskCall,
             0,
             code_offset(reinterpret_cast<std::uintptr_t>(t.entry)),
             code_offset(t.function),
             t.signature,
             timeout.count(),
             0,
             0};
  out.write(reinterpret_cast<const char*>(&w), sizeof w);
}
inline TaskWire stop_task() { return TaskWire{kTaskMagic, kTaskStop, 0, 0, 0, 0, 0, 0, 0}; }

inline std::span<char> bytes(ipc::Buffer& b) noexcept { return {b.data(), b.size()}; }

/// The header of an encoded record (at least sizeof(TaskWire) bytes long).
inline TaskWire task_header(std::span<const char> record) {
  TaskWire w;
  std::memcpy(&w, record.data(), sizeof w);
  return w;
}
/// The pool fills in what only it knows, in place: the id (at enqueue), the claim word (at dispatch),
/// the pool's default timeout (when the task has none).
template <auto TaskWire::*Field, class V>
void patch_task(std::span<char> record, V value) {
  TaskWire w = task_header(record);
  w.*Field = value;
  std::memcpy(record.data(), &w, sizeof w);
}

/// What a worker reads: the header, and the argument bytes after it. nullopt: not a task record.
struct DecodedTask {
  TaskWire header;
  std::span<const char> args;
};
inline std::optional<DecodedTask> decode_task(std::span<const char> record) {
  if (record.size() < sizeof(TaskWire)) return std::nullopt;
  TaskWire w = task_header(record);
  if (w.magic != kTaskMagic || w.claim >= kClaimWords) return std::nullopt;
  return DecodedTask{w, record.subspan(sizeof w)};
}

// ---- pool results: worker → parent --------------------------------------------------------------------

inline constexpr std::uint32_t kResultMagic = 0x52534c31;  // "RSL1"
enum ResultKind : std::uint32_t { kResultValue = 1, kResultError = 2, kResultInitFailed = 3, kResultSkipped = 4 };

/// Fixed-size header of a result record; the payload follows (see ResultRecord above).
struct ResultWire {
  std::uint32_t magic;
  std::uint32_t kind;
  std::uint64_t id;
  std::int64_t start_ns;  // kTaskTimed: CLOCK_MONOTONIC around the call in the worker; else 0
  std::int64_t end_ns;
};

/// Starts a result record in `out` (cleared first); a value's or an error's bytes are appended after.
inline void begin_result(ipc::Buffer& out, ResultKind kind, std::uint64_t id) {
  out.clear();
  ResultWire w{kResultMagic, kind, id, 0, 0};
  out.write(reinterpret_cast<const char*>(&w), sizeof w);
}
/// Fills in a timed task's start and end, in place, in the result record `out` holds.
inline void patch_result_times(ipc::Buffer& out, std::int64_t start_ns, std::int64_t end_ns) {
  ResultWire w;
  std::memcpy(&w, out.data(), sizeof w);
  w.start_ns = start_ns;
  w.end_ns = end_ns;
  std::memcpy(out.data(), &w, sizeof w);
}
inline void encode_error_result(ipc::Buffer& out, ResultKind kind, std::uint64_t id, const ipc::ErrorInfo& info) {
  begin_result(out, kind, id);
  ipc::encode_into(out, info);
}

struct DecodedResult {
  ResultWire header;
  std::span<const char> payload;
};
/// nullopt: not a result record (a worker that talks nonsense is treated like a crashed one).
inline std::optional<DecodedResult> decode_result(std::span<const char> record) {
  ResultWire r{};
  if (record.size() < sizeof r) return std::nullopt;
  std::memcpy(&r, record.data(), sizeof r);
  if (r.magic != kResultMagic) return std::nullopt;
  return DecodedResult{r, record.subspan(sizeof r)};
}
/// The ErrorInfo of a kResultError or kResultInitFailed record; throws ipc::CodecError.
inline ipc::ErrorInfo decode_error_result(const DecodedResult& r) { return ipc::decode<ipc::ErrorInfo>(r.payload); }

}  // namespace tandem::detail::wire
