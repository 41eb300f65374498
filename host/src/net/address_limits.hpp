// Open TCP connections per client address, the count that
// --max-connections-per-address bounds: one address (a host behind it, or a
// loop opening sockets) cannot take every place --max-connections leaves.
// IPv4-mapped IPv6 addresses count as their IPv4 address. Thread-safe: the
// listener takes on its thread, a connection gives back on its worker's.
#pragma once

#include "base/net.hpp"

#include <cstddef>
#include <mutex>
#include <unordered_map>

namespace microsockets {

class address_limits {
 public:
  // per_address 0: no limit (the addresses are still counted).
  explicit address_limits(std::size_t per_address) : limit_(per_address) {}
  // Counts one more connection from `address`, unless it already holds the limit.
  bool try_take(const net::ip::address& address);
  void give_back(const net::ip::address& address);
  std::size_t open_from(const net::ip::address& address) const;
  std::size_t addresses() const;  // with a connection open now

 private:
  static net::ip::address key(const net::ip::address& address);

  const std::size_t limit_;
  mutable std::mutex mutex_;  // held for one map update per connect and close
  std::unordered_map<net::ip::address, std::size_t> open_;
};

}  // namespace microsockets
