// One accepted TCP connection's place in tcp_connections_open, the count that
// --max-connections bounds, and in its address's count, which
// --max-connections-per-address bounds. It moves with the socket (listener,
// http_session, websocket_session) and gives both places back when the last
// owner ends, or when its socket closes.
#pragma once

#include "net/address_limits.hpp"
#include "base/stats.hpp"

#include <memory>
#include <optional>
#include <utility>

namespace microsockets {

class connection_slot {
 public:
  connection_slot() = default;
  // A place for a connection from `peer`, or none when that address holds its limit.
  static std::optional<connection_slot> take(std::shared_ptr<address_limits> limits, const net::ip::address& peer) {
    if (limits && !limits->try_take(peer)) return std::nullopt;
    counters.tcp_connections_open.fetch_add(1, std::memory_order_relaxed);
    connection_slot s;
    s.held_ = true;
    s.limits_ = std::move(limits);
    s.peer_ = peer;
    return s;
  }
  connection_slot(connection_slot&& other) noexcept
      : held_(std::exchange(other.held_, false)), limits_(std::move(other.limits_)), peer_(other.peer_) {}
  connection_slot& operator=(connection_slot&& other) noexcept {
    std::swap(held_, other.held_);
    std::swap(limits_, other.limits_);
    std::swap(peer_, other.peer_);
    return *this;
  }
  ~connection_slot() { release(); }

  // Gives the places back now, when the socket has closed before its owner ends.
  void release() {
    if (!std::exchange(held_, false)) return;
    counters.tcp_connections_open.fetch_sub(1, std::memory_order_relaxed);
    if (limits_) limits_->give_back(peer_);
    limits_.reset();
  }

 private:
  bool held_ = false;
  std::shared_ptr<address_limits> limits_;  // shared: a connection may outlive the listener
  net::ip::address peer_;
};

}  // namespace microsockets
