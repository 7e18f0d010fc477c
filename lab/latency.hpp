// lab/latency.hpp — "latency numbers every programmer should know", measured on this machine.
//
// The seed prints Jeff Dean's and Peter Norvig's table (L1 reference 0.5 ns, main memory 100 ns, ...).
// measure_latency() measures the rows this machine can: cache and memory references by a pointer
// chase over working sets sized from the cache sizes the OS reports, reading 1 MB from memory and from
// a file in the page cache and with O_DIRECT (past the page cache, where a filesystem under a disk
// allows it), a loopback TCP round trip, and the costs of concurrency itself (mutex uncontended and
// contended, a bare futex wake with no waiter and of a waiting thread, context switch, pipe round
// trip, thread create+join, fork/spawn+wait, a Future round trip through each pool, coroutine task
// creation and a yield to the loop).
//
//   for (const auto& row : tandem::lab::measure_latency({.runs = 3, .quick = true}))
//     std::printf("%-40s %10.1f ns\n", row.name.c_str(), row.stats.median);
//
// Each row's samples are nanoseconds per operation, one per batch of many operations (a single
// operation is below the clock's resolution); the median of the batches is the figure. A row this
// machine cannot measure (O_DIRECT refused everywhere, or only memory-backed filesystems to read)
// has no samples and says why in `unavailable`: a reason, never a made-up number.
// Failure: an operation the OS refuses (fork, pipe) throws std::system_error.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "lab/measure.hpp"

namespace tandem::lab {

struct CacheSizes {
  std::size_t l1d = 0;  // bytes; 0 where the OS does not say
  std::size_t l2 = 0;
  std::size_t l3 = 0;
};
/// The calling CPU's data cache sizes, from sysconf (glibc reads them from CPUID and sysfs).
CacheSizes cache_sizes();

/// The CPU clock in GHz as the OS reports it (/proc/cpuinfo "cpu MHz"); 0 where unknown.
double cpu_ghz();

/// The folders the O_DIRECT row tries, in order: $TMPDIR, /var/tmp (a disk on most systems, where
/// /tmp is often tmpfs), the running executable's folder (the build tree), /tmp.
std::vector<std::string> direct_io_dirs();

/// Where the O_DIRECT row can read: `place` ("/var/tmp (ext4)") for the first of `dirs` whose
/// filesystem is not memory-backed and accepts an aligned 1 MB O_DIRECT read, else `refusal` naming
/// each folder and why ("/dev/shm: tmpfs, memory with no disk under it; /proc (proc): cannot
/// create a file there (...)"). Leaves no file behind.
struct DirectIoPlace {
  std::string place;
  std::string refusal;
};
DirectIoPlace probe_direct_io(const std::vector<std::string>& dirs);

struct LatencyOptions {
  unsigned runs = 5;   // batches per row
  bool quick = false;  // smaller batches: a rough table in about a second
  std::vector<std::string> direct_io_dirs = {};  // the O_DIRECT row's folders (empty: direct_io_dirs())
};

struct LatencyRow {
  std::string name;
  double seed_ns = 0;       // the published figure; 0 for rows the seed's table does not have
  Stats stats;              // nanoseconds per operation, one sample per batch (none if unavailable)
  std::string unavailable = {};  // why the row could not be measured here; empty when it was
  std::string note = {};         // what was measured, where it depends on the machine ("/var/tmp (ext4)")
};

/// Measures every row, in the order of the seed's table; `progress` after each batch.
std::vector<LatencyRow> measure_latency(const LatencyOptions& options, const ProgressCallback& progress = {});

/// The reasons not to trust the table: the load average above the cores, a row whose slowest batch
/// took more than 2x its fastest.
std::vector<std::string> latency_warnings(const std::vector<LatencyRow>& rows, const Conditions& conditions);

}  // namespace tandem::lab
