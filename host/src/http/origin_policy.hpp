// Which web pages may open a WebSocket (--allow-origin): exact origins like
// "https://chat.example.com" and "https://*.example.com" for its subdomains
// (not example.com itself). Scheme and port must match exactly. A request
// without an Origin header (not a browser) is allowed; with no pattern at all
// every origin is, as in Socket.IO and uWebSockets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

class origin_policy {
 public:
  // Throws std::invalid_argument naming a pattern that is not scheme://host[:port].
  explicit origin_policy(const std::vector<std::string>& patterns);

  bool restricted() const { return !allowed_.empty(); }
  bool allows(std::optional<std::string_view> origin) const;

 private:
  struct origin {
    std::string scheme, host, port;  // lower case; port empty when not given
  };
  static std::optional<origin> parse(std::string_view text);

  std::vector<origin> allowed_;  // a host starting with "*." matches subdomains
};

}  // namespace microsockets
