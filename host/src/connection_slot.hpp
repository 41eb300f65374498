// One accepted TCP connection's place in tcp_connections_open, the count that
// --max-connections bounds. It moves with the socket (listener, http_session,
// websocket_session) and gives the place back when the last owner ends, or
// when its socket closes.
#pragma once

#include "stats.hpp"

#include <utility>

namespace microsockets {

class connection_slot {
 public:
  connection_slot() = default;
  static connection_slot take() {
    counters.tcp_connections_open.fetch_add(1, std::memory_order_relaxed);
    connection_slot s;
    s.held_ = true;
    return s;
  }
  connection_slot(connection_slot&& other) noexcept : held_(std::exchange(other.held_, false)) {}
  connection_slot& operator=(connection_slot&& other) noexcept {
    std::swap(held_, other.held_);
    return *this;
  }
  ~connection_slot() { release(); }

  // Gives the place back now, when the socket has closed before its owner ends.
  void release() {
    if (std::exchange(held_, false)) counters.tcp_connections_open.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  bool held_ = false;
};

}  // namespace microsockets
