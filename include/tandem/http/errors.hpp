// tandem/http/errors.hpp — what an HTTP request can fail with (Python: requests.exceptions,
// aiohttp.ClientError).
//
// ```cpp body
//   tandem::http::Session session;
//   try {
//     auto r = session.get("http://127.0.0.1:8080/dice");
//     r.raise_for_status();
//   } catch (const tandem::http::HTTPError& e) {     // the server answered 4xx/5xx
//     std::printf("status %d\n", e.status());
//   } catch (const tandem::http::Timeout& e) {       // connect or total time limit ran out
//   } catch (const tandem::http::ConnectionError& e) {  // refused, reset, DNS, TLS, body cut short
//   } catch (const tandem::http::Error& e) {          // anything else the HTTP layer reports
//   }
// ```
//
// Every message says what happened and names the method and URL ("GET http://…: connection refused
// …"). Both clients (the blocking Session and the coroutine ClientSession) throw exactly these.
#pragma once

#include <string>
#include <utility>

#include "tandem/errors.hpp"

namespace tandem::http {

/// Base of every error of the HTTP layer (Python: requests.RequestException). url() is the URL of
/// the request that failed.
class Error : public tandem::Error {
 public:
  Error(const std::string& message, std::string url) : tandem::Error(message), url_(std::move(url)) {}
  const std::string& url() const noexcept { return url_; }

 private:
  std::string url_;
};

/// No usable connection: refused, reset by the peer, name not resolved, the server closed the
/// connection before or in the middle of the response (a truncated body), or the session was closed
/// while the request was in flight (Python: requests.ConnectionError).
class ConnectionError : public Error {
 public:
  using Error::Error;
};

/// The TLS handshake failed, most often because the server's certificate could not be verified
/// (Python: requests.exceptions.SSLError, also a ConnectionError).
class SSLError : public ConnectionError {
 public:
  using ConnectionError::ConnectionError;
};

/// The connect timeout or the total timeout ran out (Python: requests.Timeout). The transfer is
/// abandoned and its connection closed.
class Timeout : public Error {
 public:
  using Error::Error;
};

/// raise_for_status() on a 4xx or 5xx response (Python: requests.HTTPError). status() is the code.
class HTTPError : public Error {
 public:
  HTTPError(const std::string& message, std::string url, int status)
      : Error(message, std::move(url)), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

/// More redirects than the request allows (Python: requests.TooManyRedirects).
class TooManyRedirects : public Error {
 public:
  using Error::Error;
};

/// The URL cannot be used: malformed, or a scheme this build does not speak (Python:
/// requests.exceptions.InvalidURL / InvalidSchema).
class InvalidURL : public Error {
 public:
  using Error::Error;
};

}  // namespace tandem::http
