#include "cluster/redis_address.hpp"

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <charconv>

namespace microsockets {
namespace {

// The URL as it may be printed: what stands before the last '@' may hold a
// password, and is never shown.
std::string shown(std::string_view url) {
  const auto at = url.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const auto scheme = url.find("://");
  return fmt::format("{}://***{}", scheme == std::string_view::npos ? "redis" : url.substr(0, scheme), url.substr(at));
}

constexpr std::string_view encode_hint =
    "; a password holding ':', '@', '/', '?', '#' or '%' must be percent-encoded (e.g. '@' as %40)";

}  // namespace

std::string redis_address::label() const { return fmt::format("{}:{}", host, port); }

std::variant<redis_address, std::string> parse_redis_address(std::string_view url) {
  const bool has_userinfo = url.find('@') != std::string_view::npos;
  const std::string_view hint = has_userinfo ? encode_hint : "";
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed)
    return fmt::format("'{}' is not a URL (expected redis://[[USER]:PASSWORD@]HOST:PORT[/DB]){}", shown(url), hint);
  const auto& u = *parsed;
  if (u.scheme() == "rediss")
    return fmt::format("'{}': rediss:// (TLS) is not supported by hiredis 0.14; use redis:// through a TLS tunnel "
                       "(stunnel, spiped) or a private network",
                       shown(url));
  if (u.scheme() != "redis") return fmt::format("'{}': only redis:// is supported", shown(url));
  redis_address a;
  a.host = u.host_address();
  if (a.host.empty()) return fmt::format("'{}' names no host{}", shown(url), hint);
  if (u.has_port()) {
    auto port = u.port();
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return fmt::format("'{}': bad port{}", shown(url), hint);
    a.port = std::uint16_t(value);
  }
  if (u.has_userinfo()) {
    a.user = u.user();  // percent-decoded
    a.password = u.password();
  }
  std::string_view path = u.encoded_path();
  if (!path.empty() && path != "/") {
    path.remove_prefix(1);
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), a.db);
    if (ec != std::errc{} || end != path.data() + path.size())
      return fmt::format("'{}': the path must be a database number{}", has_userinfo ? shown(url) : std::string(url),
                         hint);
  }
  return a;
}

}  // namespace microsockets
