// Private: one request's libcurl state, shared by the blocking Session and the coroutine ClientSession.
//
//   CurlRequest req(method, url, body);     // owns what libcurl reads (URL, body, header list) and
//   req.configure(easy, defaults, options); // fills (error text, headers, body) during the transfer
//   CURLcode rc = curl_easy_perform(easy);  // or a multi transfer reporting CURLMSG_DONE
//   Response r = req.finish(easy, rc);      // the response, or the typed error (errors.hpp) for rc
//
// The easy handle points into the CurlRequest, so it must stay put (not copyable, not movable) and
// outlive the transfer.
#pragma once

#include <curl/curl.h>

#include <exception>
#include <string>

#include "tandem/http/client.hpp"

namespace tandem::http::detail {

/// curl_global_init once per process (thread-safe; libcurl's own cleanup is left to process exit).
void ensure_curl_initialized();

class CurlRequest {
 public:
  CurlRequest(std::string method, std::string url, std::string body);
  ~CurlRequest();
  CurlRequest(const CurlRequest&) = delete;
  CurlRequest& operator=(const CurlRequest&) = delete;

  /// Applies method, URL, body, headers, limits and TLS settings to a fresh (or reset) easy handle.
  void configure(CURL* easy, const SessionOptions& defaults, const RequestOptions& options);
  /// The finished response, or throws the error `code` means (for this request's method and URL).
  Response finish(CURL* easy, CURLcode code);
  /// Throws ConnectionError: the transfer was abandoned because its session closed.
  [[noreturn]] void throw_session_closed() const;

  const std::string& method() const noexcept { return method_; }
  const std::string& url() const noexcept { return url_; }

 private:
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) noexcept;
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) noexcept;
  [[noreturn]] void throw_error(CURL* easy, CURLcode code) const;
  std::string describe(const char* what) const;

  std::string method_, url_, body_;
  curl_slist* header_list_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {};
  Response response_;
  std::exception_ptr callback_error_;  // an exception (bad_alloc) inside a libcurl callback
};

}  // namespace tandem::http::detail
