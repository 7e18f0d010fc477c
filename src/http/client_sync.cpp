// The blocking client (see tandem/http/client.hpp): one easy handle per Session, reset between
// requests; curl_easy_reset keeps the handle's connection cache, which is what makes keep-alive work.
#include <curl/curl.h>

#include "curl_request.hpp"
#include "tandem/http/client.hpp"

namespace tandem::http {

struct Session::Impl {
  SessionOptions options;
  CURL* easy = nullptr;
  ~Impl() {
    if (easy) curl_easy_cleanup(easy);
  }
};

Session::Session(SessionOptions options) : impl_(std::make_unique<Impl>()) {
  detail::ensure_curl_initialized();
  impl_->options = std::move(options);
  impl_->easy = curl_easy_init();
  if (!impl_->easy) throw Error("libcurl could not create a handle (out of memory?)", {});
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

SessionOptions& Session::options() noexcept { return impl_->options; }
const SessionOptions& Session::options() const noexcept { return impl_->options; }

Response Session::request(std::string_view method, const std::string& url, std::string body,
                          const RequestOptions& options) {
  if (!impl_) throw InvalidStateError("http::Session used after it was moved from");
  // The handle points into `req` (error buffer, header list, body) only while this call runs: reset
  // it on the way out, whatever happens, so that nothing dangles until the next request.
  struct ResetOnExit {
    CURL* easy;
    ~ResetOnExit() { curl_easy_reset(easy); }
  } reset{impl_->easy};
  detail::CurlRequest req(std::string(method), url, std::move(body));
  req.configure(impl_->easy, impl_->options, options);
  CURLcode rc = curl_easy_perform(impl_->easy);
  return req.finish(impl_->easy, rc);
}

}  // namespace tandem::http
