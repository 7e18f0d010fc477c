// What both HTTP clients share: Headers, Response, one request's libcurl setup, and the one mapping
// from a CURLcode to the typed errors of errors.hpp (see curl_request.hpp).
#include "tandem/http/client.hpp"

#include <algorithm>
#include <mutex>
#include <new>

#include "curl_request.hpp"

namespace tandem::http {

namespace {
std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}
}  // namespace

// ---- Response ----------------------------------------------------------------------------------

void Response::raise_for_status() const {
  if (status < 400) return;
  std::string kind = status < 500 ? "Client Error" : "Server Error";
  std::string message = std::to_string(status) + " " + kind;
  if (!reason.empty()) message += ": " + reason;
  throw HTTPError(message + " for url: " + url, url, status);
}

namespace detail {

void ensure_curl_initialized() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);  // thread-safe static init
  if (rc != CURLE_OK)
    throw Error(std::string("libcurl failed to initialise: ") + curl_easy_strerror(rc), {});
}

CurlRequest::CurlRequest(std::string method, std::string url, std::string body)
    : method_(std::move(method)), url_(std::move(url)), body_(std::move(body)) {
  std::transform(method_.begin(), method_.end(), method_.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
  if (method_.empty()) method_ = "GET";
}

CurlRequest::~CurlRequest() { curl_slist_free_all(header_list_); }

std::string CurlRequest::describe(const char* what) const { return method_ + " " + url_ + ": " + what; }

namespace {
template <class T>
void set(CURL* easy, CURLoption option, T value) {
  CURLcode rc = curl_easy_setopt(easy, option, value);
  if (rc == CURLE_OUT_OF_MEMORY) throw std::bad_alloc();
  if (rc != CURLE_OK)
    throw Error(std::string("libcurl refused an option (") + curl_easy_strerror(rc) + ")", {});
}
}  // namespace

void CurlRequest::configure(CURL* easy, const SessionOptions& defaults, const RequestOptions& options) {
  set(easy, CURLOPT_URL, url_.c_str());
  set(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  set(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(easy, CURLOPT_NOSIGNAL, 1L);
  set(easy, CURLOPT_PRIVATE, static_cast<void*>(this));
  set(easy, CURLOPT_ERRORBUFFER, errbuf_);
  set(easy, CURLOPT_WRITEFUNCTION, &CurlRequest::on_body);
  set(easy, CURLOPT_WRITEDATA, static_cast<void*>(this));
  set(easy, CURLOPT_HEADERFUNCTION, &CurlRequest::on_header);
  set(easy, CURLOPT_HEADERDATA, static_cast<void*>(this));
  set(easy, CURLOPT_ACCEPT_ENCODING, "");  // every decoder this libcurl has, as requests does
  set(easy, CURLOPT_USERAGENT, "tandem-http/0.1");

  if (method_ == "GET") {
    set(easy, CURLOPT_HTTPGET, 1L);
  } else if (method_ == "HEAD") {
    set(easy, CURLOPT_NOBODY, 1L);
  } else {
    if (method_ != "POST") set(easy, CURLOPT_CUSTOMREQUEST, method_.c_str());
    if (method_ == "POST" || !body_.empty()) {
      set(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
      set(easy, CURLOPT_POSTFIELDS, body_.data());
    }
  }

  const bool redirects = options.allow_redirects.value_or(defaults.allow_redirects);
  set(easy, CURLOPT_FOLLOWLOCATION, redirects ? 1L : 0L);
  set(easy, CURLOPT_MAXREDIRS, options.max_redirects.value_or(defaults.max_redirects));
  set(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.value_or(defaults.timeout).count()));
  set(easy, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(options.connect_timeout.value_or(defaults.connect_timeout).count()));

  const bool verify = options.verify.value_or(defaults.verify);
  set(easy, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  set(easy, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  const std::string& ca_file = options.ca_file ? *options.ca_file : defaults.ca_file;
  if (!ca_file.empty()) set(easy, CURLOPT_CAINFO, ca_file.c_str());  // libcurl copies strings
  const std::string& ca_path = options.ca_path ? *options.ca_path : defaults.ca_path;
  if (!ca_path.empty()) set(easy, CURLOPT_CAPATH, ca_path.c_str());

  // Session headers, then the request's (same name: the request's wins). "Expect:" turns off
  // libcurl's "Expect: 100-continue" for large bodies, which stalls a second on servers that ignore it.
  Headers merged = defaults.headers;
  for (const auto& [name, value] : options.headers) merged.remove(name);
  for (const auto& [name, value] : options.headers) merged.add(name, value);
  if (!merged.contains("Expect")) merged.add("Expect", "");
  for (const auto& [name, value] : merged) {
    // "Name;" sends an empty value; "Name:" would remove libcurl's own header of that name.
    std::string line = value.empty() && name != "Expect" ? name + ";" : name + ": " + value;
    curl_slist* grown = curl_slist_append(header_list_, line.c_str());
    if (!grown) throw std::bad_alloc();
    header_list_ = grown;
  }
  set(easy, CURLOPT_HTTPHEADER, header_list_);
}

std::size_t CurlRequest::on_header(char* data, std::size_t size, std::size_t n, void* self) noexcept {
  auto* r = static_cast<CurlRequest*>(self);
  std::string_view line(data, size * n);
  try {
    if (line.starts_with("HTTP/")) {
      // A new response begins (after a redirect or a 100 Continue): only the last one counts.
      r->response_.headers = Headers();
      r->response_.body.clear();
      r->response_.reason.clear();
      std::string_view rest = trim(line);
      auto sp = rest.find(' ');
      if (sp != std::string_view::npos) {
        rest = rest.substr(sp + 1);
        sp = rest.find(' ');
        if (sp != std::string_view::npos) r->response_.reason = std::string(trim(rest.substr(sp + 1)));
      }
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
      r->response_.headers.add(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
    }
  } catch (...) {
    r->callback_error_ = std::current_exception();
    return 0;  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
  }
  return size * n;
}

std::size_t CurlRequest::on_body(char* data, std::size_t size, std::size_t n, void* self) noexcept {
  auto* r = static_cast<CurlRequest*>(self);
  try {
    r->response_.body.append(data, size * n);
  } catch (...) {
    r->callback_error_ = std::current_exception();
    return 0;
  }
  return size * n;
}

Response CurlRequest::finish(CURL* easy, CURLcode code) {
  if (code != CURLE_OK) throw_error(easy, code);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  response_.status = static_cast<int>(status);
  char* effective = nullptr;
  curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective);
  response_.url = effective ? effective : url_;
  return std::move(response_);
}

void CurlRequest::throw_session_closed() const {
  throw ConnectionError(describe("the ClientSession was closed while the request was in flight"), url_);
}

// Every CURLcode lands in one class of errors.hpp; the message says what happened in words, then
// libcurl's own detail (errbuf names the address, the byte counts, the OpenSSL reason).
void CurlRequest::throw_error(CURL* easy, CURLcode code) const {
  if (callback_error_) std::rethrow_exception(callback_error_);
  std::string detail = errbuf_[0] ? std::string(errbuf_) : std::string(curl_easy_strerror(code));
  auto msg = [&](const char* what) { return describe(what) + " (" + detail + ")"; };
  switch (code) {
    case CURLE_OUT_OF_MEMORY:
      throw std::bad_alloc();
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      throw InvalidURL(msg("the URL is malformed or its scheme is not http/https"), url_);
    case CURLE_COULDNT_RESOLVE_HOST:
      throw ConnectionError(msg("cannot resolve the host name"), url_);
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PROXY:
      throw ConnectionError(msg("cannot reach the proxy"), url_);
    case CURLE_COULDNT_CONNECT:
      throw ConnectionError(msg("cannot connect: refused or unreachable (is anything listening there?)"), url_);
    case CURLE_OPERATION_TIMEDOUT:
      throw Timeout(msg("timed out"), url_);
    case CURLE_GOT_NOTHING:
      throw ConnectionError(msg("the server closed the connection without sending a response"), url_);
    case CURLE_PARTIAL_FILE: {
      curl_off_t got = 0, expected = -1;
      curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &got);
      curl_easy_getinfo(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &expected);
      std::string what = "the server closed the connection mid-body (received " + std::to_string(got) +
                         (expected >= 0 ? " of " + std::to_string(expected) : std::string()) + " bytes)";
      throw ConnectionError(msg(what.c_str()), url_);
    }
    case CURLE_RECV_ERROR:
      throw ConnectionError(msg("the connection broke while receiving (reset by the server?)"), url_);
    case CURLE_SEND_ERROR:
      throw ConnectionError(msg("the connection broke while sending (reset by the server?)"), url_);
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_BAD_CONTENT_ENCODING:
      throw ConnectionError(msg("the server's reply is not valid HTTP"), url_);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      throw SSLError(msg(code == CURLE_PEER_FAILED_VERIFICATION
                             ? "the server's TLS certificate could not be verified (verify=false skips the check)"
                             : "the TLS handshake failed"),
                     url_);
    case CURLE_TOO_MANY_REDIRECTS:
      throw TooManyRedirects(msg("too many redirects"), url_);
    default:
      throw Error(msg("the request failed"), url_);
  }
}

}  // namespace detail
}  // namespace tandem::http
