// Where one Redis is: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`.
// No `rediss://`: Debian's hiredis 0.14 has no TLS (refused with a line that
// says to tunnel). A password with reserved characters is percent-encoded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace microsockets {

struct redis_address {
  std::string host;
  std::uint16_t port = 6379;
  std::string user;      // Redis 6 ACL user; empty: AUTH with the password alone
  std::string password;  // empty: no AUTH
  unsigned db = 0;       // SELECTed on the command connection; pub/sub ignores it

  // "host:port" for log lines and metrics: never the password.
  std::string label() const;
};

// The address, or why `url` is not one (one line for the user).
std::variant<redis_address, std::string> parse_redis_address(std::string_view url);

}  // namespace microsockets
