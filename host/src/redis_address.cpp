#include "redis_address.hpp"

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <charconv>

namespace microsockets {

std::string redis_address::label() const { return fmt::format("{}:{}", host, port); }

std::variant<redis_address, std::string> parse_redis_address(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return fmt::format("'{}' is not a URL (expected redis://[:PASSWORD@]HOST:PORT[/DB])", url);
  const auto& u = *parsed;
  if (u.scheme() != "redis") return fmt::format("'{}': only redis:// is supported (hiredis 0.14 has no TLS)", url);
  redis_address a;
  a.host = u.host_address();
  if (a.host.empty()) return fmt::format("'{}' names no host", url);
  if (u.has_port()) {
    auto port = u.port();
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return fmt::format("'{}': bad port '{}'", url, port);
    a.port = std::uint16_t(value);
  }
  if (u.has_userinfo()) {
    a.user = u.user();
    a.password = u.password();
  }
  std::string_view path = u.encoded_path();
  if (!path.empty() && path != "/") {
    path.remove_prefix(1);
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), a.db);
    if (ec != std::errc{} || end != path.data() + path.size())
      return fmt::format("'{}': the path must be a database number, got '/{}'", url, path);
  }
  return a;
}

}  // namespace microsockets
