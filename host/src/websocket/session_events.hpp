// What a WebSocket connection needs from the host above it, narrowly: the
// limits it enforces, the events it reports, and its worker's services (the
// loop it runs on). The session knows neither the server nor the worker.
#pragma once

#include "base/net.hpp"
#include "base/stats.hpp"
#include "net/readiness.hpp"

#include <microsockets/abi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace microsockets {

class websocket_session;

// The limits of one connection (see options.hpp for each one's why).
struct session_limits {
  std::size_t max_message_bytes = 64 * 1024;  // --max-message
  std::size_t max_output_bytes = 1024 * 1024; // --max-output
  unsigned close_timeout_seconds = 5;         // --close-timeout
  double max_rate = 0;                        // --max-rate (0: none)
  double max_rate_burst = 0;                  // --max-rate-burst (0: max_rate)
  double max_control_rate = 100;              // --max-control-rate (0: none)
};

// What a connection reports, on its worker's thread.
class session_events {
 public:
  // Upgraded and registered with its worker.
  virtual void connected(websocket_session& s) = 0;
  // A whole text message.
  virtual void received(websocket_session& s, std::string_view text) = 0;
  // The connection ended (reported once); `code` is the close code.
  virtual void disconnected(ms_conn_id id, std::uint16_t code) = 0;

 protected:
  ~session_events() = default;
};

// The event loop a connection lives on (core/worker implements it).
class session_home {
 public:
  virtual net::io_context& context() = 0;
  virtual ms_conn_id next_id() = 0;
  // Seconds since the loop started, advanced once a second.
  virtual std::uint32_t now() const = 0;
  virtual void add(std::shared_ptr<websocket_session> session) = 0;
  virtual void remove(websocket_session& session) = 0;  // and from all its rooms
  // Watches a connection's socket (see readiness).
  virtual bool watch(int fd, readiness::handler& h) = 0;
  virtual bool rewatch(int fd, readiness::handler& h) = 0;
  virtual void unwatch(int fd) = 0;
  // One buffer per loop, lent for one read and its decoding.
  virtual std::span<char> read_buffer() = 0;
  // Reads more of the session next turn (it reached a turn's bound).
  virtual void read_later(std::shared_ptr<websocket_session> session) = 0;
  // Keeps a session whose socket closed to the end of this turn.
  virtual void retire(std::shared_ptr<websocket_session> session) = 0;
  // The session has output; it is written at the end of this turn.
  virtual void schedule_flush(std::shared_ptr<websocket_session> session) = 0;
  virtual struct traffic& traffic() = 0;

 protected:
  ~session_home() = default;
};

}  // namespace microsockets
