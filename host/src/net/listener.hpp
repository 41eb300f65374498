// Accepts connections on the control thread and hands each to the next worker
// that is not stuck in a plugin call (server::next_worker), round robin; while
// every one is, a new connection gets /healthz's 503 at once.
//
// Bounded (issue 9): past max_connections open TCP connections a new one is
// answered 503 (on a TLS port: nothing) and closed at once. At the fd limit,
// where accept itself fails, a spare descriptor is freed to accept and refuse
// the waiting connections, and the listener pauses (100 ms, doubling to 1 s
// while it lasts) instead of retrying in a loop; accept failures log at most a
// line a second. Past --max-connections-per-address from one client address,
// the same refusal, counted apart.
#pragma once

#include "net/address_limits.hpp"
#include "base/log_limiter.hpp"
#include "base/net.hpp"

#include <chrono>
#include <cstddef>
#include <memory>

namespace microsockets {

class server;
class worker;

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens; throws boost::system::system_error if it cannot.
  listener(net::io_context& ioc, const tcp::endpoint& endpoint, server& srv, std::size_t max_connections);
  ~listener();
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void run() { accept(); }
  void stop();  // any thread

  // The --max-connections default: the fd limit less 64 (at least half of it).
  static std::size_t default_max_connections();

 private:
  void accept();
  // Refuses the connection past either limit (or answers it when every worker
  // is stuck), else hands it to the next worker with its slot.
  void admit(tcp::socket socket);
  void on_failure(error_code ec);
  void shed_waiting();  // at the fd limit: refuse what waits, through the spare descriptor

  tcp::acceptor acceptor_;
  tcp protocol_;
  net::steady_timer pause_;
  server& server_;
  std::size_t max_connections_;
  std::shared_ptr<address_limits> per_address_;
  int spare_fd_ = -1;  // /dev/null, held so that one accept can succeed at the fd limit
  std::chrono::milliseconds backoff_{0};
  log_limiter failure_lines_;
  log_limiter per_address_lines_;
};

}  // namespace microsockets
