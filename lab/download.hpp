// lab/download.hpp — the seed's site downloader under every model (Real Python, "Speed up your program
// with concurrency": download_site / download_all_sites).
//
//   tandem::lab::FixtureServer sites(std::chrono::milliseconds(100));
//   auto urls = tandem::lab::seed_sites(sites.url(), 160);          // /jython, /dice, … as the seed's list × 80
//   auto run = tandem::lab::download_all_sites(tandem::lab::Model::coroutines, urls);
//   std::printf("Downloaded %zu in %f seconds\n", run.bytes.size(), run.seconds);
//
// The models (lab::Model, model.hpp; the seed's "sync" is Model::sequential), each the seed's program:
// - sequential ("sync"): one http::Session, one request after the other (requests.Session).
// - threads: a ThreadPoolExecutor of `workers` threads (default 5, the seed's max_workers=5), one
//   Session per worker thread in a thread_local (the seed's threading.local()).
// - processes: a ProcessPoolExecutor of `workers` processes (default: the CPUs, as the seed's Pool());
//   each task downloads one URL with its process's own Session (a function-local thread_local: made on
//   the process's first task, reused after, the seed's initializer=set_global_session); URLs go to the
//   workers as strings and byte counts come back.
// - coroutines: one http::ClientSession on an aio loop and gather() over one task per URL (the seed's
//   aiohttp.ClientSession + asyncio.gather). `workers` is the session's connection limit. aiohttp's
//   default is 100, which makes 1,000 requests at 100 ms take ten round trips; here the default keeps
//   every URL in flight at once, within the descriptor limit (see kept_in_flight()). That is the
//   downloader's choice, not the session's: a ClientSession's own default stays aiohttp's 100.
//
// Contract: the bytes read per URL are returned in the order of `urls`, with their total. `on_read`
// (may be empty) is called once per site as it completes (the seed's "Read N from URL" line), never
// concurrently with itself (the threads model serialises it). A site that fails (refused, reset,
// timeout, a 4xx/5xx status) makes the whole call throw DownloadError naming that URL and the cause;
// every request already started is finished or abandoned before the call returns (no leak, no task
// left running).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lab/model.hpp"
#include "tandem/errors.hpp"

namespace tandem::lab {

/// The models the downloader runs under, in the seed's order (the table of `tandem download --model
/// all`): sequential (the seed's sync), threads, processes, coroutines.
inline constexpr std::array<Model, 4> kDownloadModels = {Model::sequential, Model::threads, Model::processes,
                                                         Model::coroutines};

/// The seed's site list: `count` URLs alternating base_url + "/jython" and base_url + "/dice"
/// (the seed's two sites × 80 for count = 160).
std::vector<std::string> seed_sites(const std::string& base_url, std::size_t count);

/// A site could not be downloaded; url() is the one that failed, what() names it and the cause.
class DownloadError : public Error {
 public:
  DownloadError(std::string url, const std::string& cause);
  const std::string& url() const noexcept { return url_; }

 private:
  std::string url_;
};

struct DownloadRun {
  Model model = Model::sequential;
  std::size_t workers = 1;          ///< threads, processes or connections actually used (sequential: 1)
  std::vector<std::size_t> bytes;   ///< per URL, in the order given
  std::size_t total = 0;            ///< the sum of bytes
  double seconds = 0;               ///< wall time of the whole download (pool or loop start included)
};

/// Called once per downloaded site with its URL and size.
using OnRead = std::function<void(const std::string& url, std::size_t bytes)>;

/// Default worker count of a model (0 in `workers` means this): sequential 1, threads 5, processes the CPUs
/// this process may use, coroutines kept_in_flight(url_count).
std::size_t default_download_workers(Model model, std::size_t url_count);

/// Connections the coroutine model keeps open at once by default: every URL, as far as the descriptor
/// limit allows: (RLIMIT_NOFILE soft limit − 256) / `descriptors_per_connection`, which is 2 while an
/// in-process server (FixtureServer) holds the other end of each connection and 1 against another
/// process; at least 1. (Until http::ClientSession spread its transfers over several libcurl multi
/// handles this stopped at 2,000: libcurl's cost per request grew with the connections on one handle.
/// See docs/architecture.md.)
std::size_t kept_in_flight(std::size_t url_count, std::size_t descriptors_per_connection = 2);

/// Downloads every URL under `model` with `workers` threads / processes / connections (0: the
/// default). Throws DownloadError for the first site that fails; std::invalid_argument for a model
/// outside kDownloadModels. With a recorder, each site's download is recorded (tandem/recorder.hpp):
/// on the pool's worker lanes, on the loop's lane per coroutine step, or on lane 0 sequentially.
DownloadRun download_all_sites(Model model, const std::vector<std::string>& urls, std::size_t workers = 0,
                               const OnRead& on_read = {}, Recorder* recorder = nullptr);

}  // namespace tandem::lab
