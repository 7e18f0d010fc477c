// HTTPS verifies certificates by default. Offline there is no public TLS server, so the test makes
// one: `openssl s_server -www` with a fresh self-signed certificate for localhost. Unverifiable by
// default (SSLError), accepted with verify=false, and verified against that certificate as ca_file.
// Skipped when the openssl program is missing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tandem/aio.hpp"
#include "tandem/http/client.hpp"
#include "tandem/http/client_session.hpp"

extern char** environ;

namespace aio = tandem::aio;
namespace http = tandem::http;

namespace {

class TlsServer {
 public:
  TlsServer() {
    char tmpl[] = "/tmp/tandem-https-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    cert_ = dir_ + "/cert.pem";
    std::string key = dir_ + "/key.pem";
    std::string make_cert = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost"
                            " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 1 -keyout " +
                            key + " -out " + cert_ + " >/dev/null 2>&1";
    if (std::system(make_cert.c_str()) != 0) return;
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const char* argv[] = {"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert_.c_str(),
                          "-key",    key.c_str(), "-www",  nullptr};
    int rc = posix_spawnp(&pid_, "openssl", &actions, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
      pid_ = -1;
      ::close(out[0]);
      return;
    }
    stdout_ = ::fdopen(out[0], "r");
    char line[256];
    while (std::fgets(line, sizeof line, stdout_)) {  // "ACCEPT 127.0.0.1:PORT" once it listens
      std::string s(line);
      if (auto colon = s.rfind(':'); s.starts_with("ACCEPT") && colon != std::string::npos) {
        port_ = std::stoi(s.substr(colon + 1));
        break;
      }
    }
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (stdout_) std::fclose(stdout_);
    std::filesystem::remove_all(dir_);
  }
  bool running() const { return port_ > 0; }
  std::string url() const { return "https://localhost:" + std::to_string(port_) + "/"; }
  const std::string& cert() const { return cert_; }

 private:
  std::string dir_, cert_;
  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
  int port_ = 0;
};

bool have_openssl() { return std::system("command -v openssl >/dev/null 2>&1") == 0; }

}  // namespace

TEST(Https, AnUnverifiableCertificateIsAnSSLErrorByDefault) {
  if (!have_openssl()) GTEST_SKIP() << "no openssl program to play a TLS server";
  TlsServer server;
  ASSERT_TRUE(server.running());
  http::Session session;
  try {
    session.get(server.url());
    FAIL() << "a self-signed certificate was accepted without verify=false";
  } catch (const http::SSLError& e) {
    EXPECT_NE(std::string(e.what()).find("could not be verified"), std::string::npos) << e.what();
  }
}

TEST(Https, VerifyFalseSkipsTheCheckAndCaFileTrustsTheCertificate) {
  if (!have_openssl()) GTEST_SKIP() << "no openssl program to play a TLS server";
  TlsServer server;
  ASSERT_TRUE(server.running());
  http::Session session;
  http::RequestOptions insecure;
  insecure.verify = false;
  EXPECT_EQ(session.get(server.url(), insecure).status, 200);
  http::RequestOptions trusted;
  trusted.ca_file = server.cert();  // verification on, against this anchor: host name and chain check out
  EXPECT_EQ(session.get(server.url(), trusted).status, 200);
  // The same anchor in a hashed CA directory (ca_path), next to the system's bundle.
  std::string dir = std::filesystem::path(server.cert()).parent_path() / "ca";
  std::filesystem::create_directory(dir);
  std::filesystem::copy_file(server.cert(), dir + "/server.pem");
  ASSERT_EQ(std::system(("openssl rehash " + dir + " >/dev/null 2>&1").c_str()), 0);
  http::RequestOptions by_dir;
  by_dir.ca_path = dir;
  EXPECT_EQ(session.get(server.url(), by_dir).status, 200);
}

TEST(Https, TheCoroutineClientVerifiesToo) {
  if (!have_openssl()) GTEST_SKIP() << "no openssl program to play a TLS server";
  TlsServer server;
  ASSERT_TRUE(server.running());
  aio::run([&]() -> aio::Task<void> {
    http::ClientSession session;
    bool rejected = false;
    try {
      co_await session.get(server.url());
    } catch (const http::SSLError&) {
      rejected = true;
    }
    EXPECT_TRUE(rejected);
    http::RequestOptions trusted;
    trusted.ca_file = server.cert();
    http::Response r = co_await session.get(server.url(), trusted);
    EXPECT_EQ(r.status, 200);
  }());
}
