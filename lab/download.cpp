// lab/download.cpp — download_all_sites under the four models (see download.hpp).
#include "lab/download.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "tandem/aio/runners.hpp"
#include "tandem/aio/tasks.hpp"
#include "tandem/http/client.hpp"
#include "tandem/http/client_session.hpp"
#include "tandem/process_pool.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::lab {

namespace {

std::size_t cpu_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return static_cast<std::size_t>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The seed's download_site: GET, fail on 4xx/5xx, the body's size.
std::size_t download_site(http::Session& session, const std::string& url) {
  http::Response r = session.get(url);
  r.raise_for_status();
  return r.body.size();
}

// The first failure in URL order, rethrown as DownloadError once every site is done.
struct FirstFailure {
  std::optional<std::size_t> index;
  std::string cause;
  void record(std::size_t i, std::string what) {
    if (!index || i < *index) {
      index = i;
      cause = std::move(what);
    }
  }
  void raise_if_any(const std::vector<std::string>& urls) const {
    if (index) throw DownloadError(urls[*index], cause);
  }
};

DownloadRun run_sync(const std::vector<std::string>& urls, const OnRead& on_read, DownloadRun run,
                     Recorder* recorder) {
  http::Session session;
  Recorder::Lane* lane = recorder ? &recorder->lane(0) : nullptr;  // one site after another, one lane
  for (std::size_t i = 0; i < urls.size(); ++i) {
    try {
      const auto start = Recorder::Clock::now();
      run.bytes[i] = download_site(session, urls[i]);
      if (lane) lane->add(i + 1, start, Recorder::Clock::now());
    } catch (const std::exception& e) {
      throw DownloadError(urls[i], e.what());
    }
    if (on_read) on_read(urls[i], run.bytes[i]);
  }
  return run;
}

// The seed's get_session(): one Session per worker thread, made on the thread's first site.
http::Session& thread_session() {
  thread_local http::Session session;
  return session;
}

DownloadRun run_threads(const std::vector<std::string>& urls, const OnRead& on_read, DownloadRun run,
                        Recorder* recorder) {
  std::mutex print_mutex;
  FirstFailure failure;
  {
    ThreadPoolExecutor::Options options;
    options.max_workers = run.workers;
    options.recorder = recorder;
    ThreadPoolExecutor pool(options);
    std::vector<Future<std::size_t>> futures;
    futures.reserve(urls.size());
    for (const auto& url : urls)
      futures.push_back(pool.submit([&url, &on_read, &print_mutex] {
        const std::size_t n = download_site(thread_session(), url);
        if (on_read) {
          std::lock_guard lock(print_mutex);
          on_read(url, n);
        }
        return n;
      }));
    for (std::size_t i = 0; i < urls.size(); ++i) {
      try {
        run.bytes[i] = futures[i].result();
      } catch (const std::exception& e) {
        failure.record(i, e.what());
      }
    }
  }
  failure.raise_if_any(urls);
  return run;
}

// A process pool task: the URL crosses as a string, the byte count comes back. The Session lives as
// long as the worker process (the seed's set_global_session initializer, made on first use here).
std::size_t download_site_in_process(std::string url) {
  thread_local http::Session session;
  return download_site(session, url);
}

DownloadRun run_processes(const std::vector<std::string>& urls, const OnRead& on_read, DownloadRun run,
                          Recorder* recorder) {
  FirstFailure failure;
  {
    ProcessPoolExecutor::Options options;
    options.max_workers = run.workers;
    options.recorder = recorder;
    ProcessPoolExecutor pool(options);
    std::vector<Future<std::size_t>> futures;
    futures.reserve(urls.size());
    for (const auto& url : urls) futures.push_back(pool.submit(&download_site_in_process, url));
    for (std::size_t i = 0; i < urls.size(); ++i) {
      try {
        run.bytes[i] = futures[i].result();
        if (on_read) on_read(urls[i], run.bytes[i]);
      } catch (const RemoteError& e) {
        failure.record(i, e.message());  // the worker's http error, without the RemoteError wrapping
      } catch (const std::exception& e) {
        failure.record(i, e.what());
      }
    }
  }
  failure.raise_if_any(urls);
  return run;
}

aio::Task<std::size_t> download_site_async(http::ClientSession& session, const std::string& url,
                                           const OnRead& on_read, FirstFailure& failure, std::size_t index) {
  // Each task keeps its own failure: gather() then always waits for every request, so none is still
  // in flight when the session closes.
  try {
    http::Response r = co_await session.get(url);
    r.raise_for_status();
    if (on_read) on_read(url, r.body.size());
    co_return r.body.size();
  } catch (const CancelledError&) {
    throw;
  } catch (const std::exception& e) {
    failure.record(index, e.what());
  }
  co_return 0;
}

aio::Task<std::vector<std::size_t>> download_all_async(const std::vector<std::string>& urls, std::size_t limit,
                                                       const OnRead& on_read, FirstFailure& failure) {
  http::ClientSessionOptions options;
  options.limit = limit;
  http::ClientSession session(options);
  std::vector<aio::Task<std::size_t>> tasks;
  tasks.reserve(urls.size());
  for (std::size_t i = 0; i < urls.size(); ++i) tasks.push_back(download_site_async(session, urls[i], on_read, failure, i));
  auto sizes = co_await aio::gather(std::move(tasks));
  co_return sizes;
}

DownloadRun run_coroutines(const std::vector<std::string>& urls, const OnRead& on_read, DownloadRun run,
                           Recorder* recorder) {
  FirstFailure failure;
  aio::LoopOptions loop;
  loop.recorder = recorder;
  run.bytes = aio::run(download_all_async(urls, run.workers, on_read, failure), loop);
  failure.raise_if_any(urls);
  return run;
}

}  // namespace

std::vector<std::string> seed_sites(const std::string& base_url, std::size_t count) {
  std::vector<std::string> urls;
  urls.reserve(count);
  for (std::size_t i = 0; i < count; ++i) urls.push_back(base_url + (i % 2 == 0 ? "/jython" : "/dice"));
  return urls;
}

DownloadError::DownloadError(std::string url, const std::string& cause)
    : Error("could not download " + url + ": " + cause), url_(std::move(url)) {}

std::size_t kept_in_flight(std::size_t url_count, std::size_t descriptors_per_connection) {
  const std::size_t per = std::max<std::size_t>(1, descriptors_per_connection);
  rlimit lim{};
  std::size_t cap = 1000;
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    cap = lim.rlim_cur > 256 + per ? static_cast<std::size_t>((lim.rlim_cur - 256) / per) : 1;
  else if (lim.rlim_cur == RLIM_INFINITY)
    cap = url_count;
  return std::max<std::size_t>(1, std::min(url_count, cap));
}

std::size_t default_download_workers(Model model, std::size_t url_count) {
  switch (model) {
    case Model::threads: return 5;
    case Model::processes: return cpu_count();
    case Model::coroutines: return kept_in_flight(url_count);
    default: return 1;
  }
}

DownloadRun download_all_sites(Model model, const std::vector<std::string>& urls, std::size_t workers,
                               const OnRead& on_read, Recorder* recorder) {
  if (std::ranges::find(kDownloadModels, model) == kDownloadModels.end())
    throw std::invalid_argument("the downloader runs under " + choices(kDownloadModels) + ", not " +
                                std::string(name(model)));
  DownloadRun run;
  run.model = model;
  run.workers = model == Model::sequential ? 1 : workers != 0 ? workers : default_download_workers(model, urls.size());
  run.bytes.assign(urls.size(), 0);
  const auto t0 = Clock::now();
  switch (model) {
    case Model::threads: run = run_threads(urls, on_read, std::move(run), recorder); break;
    case Model::processes: run = run_processes(urls, on_read, std::move(run), recorder); break;
    case Model::coroutines: run = run_coroutines(urls, on_read, std::move(run), recorder); break;
    default: run = run_sync(urls, on_read, std::move(run), recorder); break;
  }
  run.seconds = seconds_since(t0);
  for (std::size_t b : run.bytes) run.total += b;
  return run;
}

}  // namespace tandem::lab
