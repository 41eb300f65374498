// The certificate and key the TLS port serves (--tls-cert, --tls-key): read at
// start, and again on SIGHUP into a new OpenSSL context for new connections
// (open ones keep the context they began with; OpenSSL counts its references).
// A certificate that fails to load on reload leaves the old one serving.
#pragma once

#include "base/net.hpp"

#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

namespace microsockets {

class tls_context {
 public:
  // Reads both files; throws std::runtime_error with one line for the user
  // (a file that cannot be read, is not PEM, or a key that does not match).
  tls_context(std::filesystem::path cert, std::filesystem::path key);

  // The context for a new connection. Any thread.
  std::shared_ptr<net::ssl::context> current() const { return current_.load(); }
  // Re-reads both files; logs one line either way. The thread that runs signals.
  void reload();
  // The certificate served, in one line: subject and expiry.
  std::string describe() const;

 private:
  std::shared_ptr<net::ssl::context> load() const;

  std::filesystem::path cert_;
  std::filesystem::path key_;
  std::atomic<std::shared_ptr<net::ssl::context>> current_;
};

}  // namespace microsockets
