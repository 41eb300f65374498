// Accepts connections on the control thread and hands each one it admits to
// its sink (the host picks a worker that is not stuck in a plugin call); while
// the sink has none, a new connection gets /healthz's 503 at once.
//
// Bounded: past max_connections open TCP connections a new one is
// answered 503 (on a TLS port: nothing) and closed at once. At the fd limit,
// where accept itself fails, a spare descriptor is freed to accept and refuse
// the waiting connections, and the listener pauses (100 ms, doubling to 1 s
// while it lasts) instead of retrying in a loop; accept failures log at most a
// line a second. Past --max-connections-per-address from one client address,
// the same refusal, counted apart.
#pragma once

#include "base/log_limiter.hpp"
#include "base/net.hpp"
#include "net/accepted_socket.hpp"
#include "net/address_limits.hpp"
#include "net/connection_slot.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace microsockets {

class proxy_trust;

// Where admitted connections go; called on the listener's thread.
class connection_sink {
 public:
  // The /healthz text while no worker could serve a new connection, else nothing.
  virtual std::optional<std::string> unavailable() = 0;
  // An admitted connection, with its place among its address's connections.
  virtual void take(accepted_socket socket, connection_slot slot) = 0;

 protected:
  ~connection_sink() = default;
};

struct listener_settings {
  std::size_t max_connections = 0;               // --max-connections
  std::size_t max_connections_per_address = 256; // --max-connections-per-address (0: none)
  bool tls = false;                              // refusals send nothing on a TLS port
  const proxy_trust* proxies = nullptr;          // trusted proxies have no per-address limit
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens; throws boost::system::system_error if it cannot.
  listener(net::io_context& ioc, const tcp::endpoint& endpoint, listener_settings settings, connection_sink& sink);
  ~listener();
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void run() { accept(); }
  void stop();  // any thread

  // The --max-connections default: the fd limit less 64 (at least half of it).
  static std::size_t default_max_connections();

 private:
  void accept();          // waits until a connection is there
  void accept_waiting();  // takes what waits, a bounded number at a time
  // Refuses the connection past either limit (or answers it while the sink
  // has no worker for it), else hands it to the sink with its slot.
  void admit(accepted_socket socket);
  void on_failure(error_code ec);
  void shed_waiting();  // at the fd limit: refuse what waits, through the spare descriptor

  tcp::acceptor acceptor_;
  net::steady_timer pause_;
  listener_settings settings_;
  connection_sink& sink_;
  std::shared_ptr<address_limits> per_address_;
  int spare_fd_ = -1;  // /dev/null, held so that one accept can succeed at the fd limit
  std::chrono::milliseconds backoff_{0};
  log_limiter failure_lines_;
  log_limiter per_address_lines_;
};

}  // namespace microsockets
