#include "net/address_limits.hpp"

namespace microsockets {

net::ip::address address_limits::key(const net::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  return address;
}

bool address_limits::try_take(const net::ip::address& address) {
  std::lock_guard lock(mutex_);
  auto& n = open_[key(address)];
  if (limit_ && n >= limit_) return false;  // n > 0 here: no empty entry is left behind
  ++n;
  return true;
}

void address_limits::give_back(const net::ip::address& address) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(key(address));
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);  // the map holds only addresses with connections
}

std::size_t address_limits::open_from(const net::ip::address& address) const {
  std::lock_guard lock(mutex_);
  auto it = open_.find(key(address));
  return it == open_.end() ? 0 : it->second;
}

std::size_t address_limits::addresses() const {
  std::lock_guard lock(mutex_);
  return open_.size();
}

}  // namespace microsockets
