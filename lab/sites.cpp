// The seed's two sites as fixtures (see lab/sites.hpp).
#include "lab/sites.hpp"

#include <stdexcept>

#include "tandem/aio/tasks.hpp"
#include "tandem/aio/timeouts.hpp"

namespace tandem::lab {

namespace web = http::web;

namespace {

// A page of exactly `size` bytes: head, numbered paragraphs, blank padding, tail.
std::string make_page(std::size_t size, const std::string& title, const std::string& paragraph) {
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>" + title +
                     "</title></head>\n<body>\n<h1>" + title + "</h1>\n";
  const std::string tail = "</body>\n</html>\n";
  for (int i = 1;; ++i) {
    const std::string line = "<p>" + paragraph + " (" + std::to_string(i) + ")</p>\n";
    if (page.size() + line.size() + tail.size() > size) break;
    page += line;
  }
  if (page.size() + tail.size() < size) {
    page.append(size - page.size() - tail.size() - 1, ' ');
    page += '\n';
  }
  page += tail;
  page.resize(size);  // only if the head alone were longer than `size`, which the sizes here rule out
  return page;
}

aio::Task<web::Response> answer_after(std::chrono::nanoseconds latency, std::string body) {
  if (latency > std::chrono::nanoseconds(0)) co_await aio::sleep(latency);
  co_return web::Response::bytes(std::move(body), "text/html; charset=utf-8");
}

aio::Task<web::Response> bytes_after(std::chrono::nanoseconds latency, std::string tail) {
  std::size_t n = 0;
  bool ok = !tail.empty() && tail.size() <= 9;
  for (char c : tail) {
    if (c < '0' || c > '9') ok = false;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (!ok || n > kMaxFixtureBytes)
    throw web::HTTPException(400, "/bytes/N takes a whole number N from 0 to " + std::to_string(kMaxFixtureBytes) +
                                      ", got '" + tail + "'");
  if (latency > std::chrono::nanoseconds(0)) co_await aio::sleep(latency);
  co_return web::Response::bytes(fixture_bytes(n), "application/octet-stream");
}

}  // namespace

const std::string& jython_page() {
  static const std::string page =
      make_page(kJythonSize, "Home | Jython",
                "Jython is an implementation of the high-level, dynamic, object-oriented language Python "
                "seamlessly integrated with the Java platform");
  return page;
}

const std::string& dice_page() {
  static const std::string page = make_page(kDiceSize, "Dice", "You rolled 4");
  return page;
}

std::string fixture_bytes(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + i % 26);
  return out;
}

web::Application fixture_routes(std::chrono::nanoseconds latency) {
  web::Application app;
  app.add_get("/jython", [latency](web::Request&) { return answer_after(latency, jython_page()); });
  app.add_get("/dice", [latency](web::Request&) { return answer_after(latency, dice_page()); });
  app.add_prefix_route("GET", "/bytes/",
                       [latency](web::Request& r) { return bytes_after(latency, r.match_tail); });
  return app;
}

web::Application fixture_routes_from(const std::string& latency_ns) {
  return fixture_routes(std::chrono::nanoseconds(std::stoll(latency_ns)));
}

std::chrono::nanoseconds parse_latency(const std::string& text) {
  auto bad = [&text](const std::string& why) {
    return std::invalid_argument("latency '" + text + "': " + why +
                                 "; give a number with a unit: 100ms, 0.1s, 250us, 5000ns, or 0");
  };
  std::size_t i = 0;
  std::uint64_t whole = 0, frac = 0, frac_scale = 1;
  std::size_t whole_digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (++whole_digits > 13) throw bad("too large");
    whole = whole * 10 + static_cast<std::uint64_t>(text[i++] - '0');
  }
  std::size_t frac_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (++frac_digits > 9) throw bad("too many decimals");
      frac = frac * 10 + static_cast<std::uint64_t>(text[i++] - '0');
      frac_scale *= 10;
    }
    if (frac_digits == 0) throw bad("no digit after the decimal point");
  }
  if (whole_digits == 0 && frac_digits == 0) throw bad("not a number");
  const std::string unit = text.substr(i);
  std::uint64_t ns_per_unit = 0;
  if (unit == "ns") ns_per_unit = 1;
  else if (unit == "us") ns_per_unit = 1'000;
  else if (unit == "ms") ns_per_unit = 1'000'000;
  else if (unit == "s") ns_per_unit = 1'000'000'000;
  else if (unit.empty() && whole == 0 && frac == 0) return std::chrono::nanoseconds(0);
  else if (unit.empty()) throw bad("a unit is missing");
  else throw bad("unknown unit '" + unit + "'");
  constexpr std::uint64_t kHourNs = 3'600'000'000'000ull;
  if (whole > kHourNs / ns_per_unit) throw bad("longer than an hour");
  const std::uint64_t ns = whole * ns_per_unit + frac * ns_per_unit / frac_scale;
  if (ns > kHourNs) throw bad("longer than an hour");
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

FixtureServer::FixtureServer(std::chrono::nanoseconds latency, web::ServerConfig config)
    : server_(fixture_routes(latency), std::move(config)) {}

void serve_fixtures(const ServeOptions& options, std::function<void(const std::string& url)> on_started) {
  web::RunOptions run;
  run.server.host = options.host;
  run.server.port = options.port;
  run.processes = options.processes;
  run.on_started = std::move(on_started);
  web::run_app(&fixture_routes_from, std::to_string(options.latency.count()), std::move(run));
}

}  // namespace tandem::lab
