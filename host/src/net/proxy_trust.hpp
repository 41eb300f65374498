// Which peers are proxies whose X-Forwarded-For / Forwarded headers are
// believed (--trust-proxy CIDR). The client is the right-most address in the
// header that is not itself a trusted proxy, as nginx's real_ip_recursive.
#pragma once

#include "base/net.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

class proxy_trust {
 public:
  // Throws std::invalid_argument naming a range that is not an address or CIDR.
  explicit proxy_trust(const std::vector<std::string>& ranges);

  bool trusts(const net::ip::address& a) const;

  // The client's address for a connection from `peer`: the peer itself
  // ("address:port") unless it is trusted, else the address found in
  // `forwarded_for` (X-Forwarded-For, preferred) or `forwarded` (RFC 7239),
  // without a port.
  std::string client(const tcp::endpoint& peer, std::optional<std::string_view> forwarded_for,
                     std::optional<std::string_view> forwarded) const;

 private:
  std::vector<net::ip::network_v4> v4_;
  std::vector<net::ip::network_v6> v6_;
};

}  // namespace microsockets
