// The close codes an endpoint may put in a close frame (RFC 6455 7.4.1, and
// 1012-1014 registered since): 1004-1006 and 1015 are reserved for reports,
// never sent. The one check for what a peer sends and what a plugin asks.
#pragma once

#include <cstdint>

namespace microsockets {

constexpr bool valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

}  // namespace microsockets
