#include "net/proxy_trust.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace microsockets {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "192.0.2.1", "192.0.2.1:80", "[2001:db8::1]:80", "2001:db8::1" (quotes allowed).
std::optional<net::ip::address> parse_address(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  if (s.starts_with('[')) s = s.substr(1, s.find(']') - 1);
  else if (std::count(s.begin(), s.end(), ':') == 1) s = s.substr(0, s.find(':'));
  error_code ec;
  auto a = net::ip::make_address(std::string(s), ec);
  if (ec) return std::nullopt;
  return a.is_v6() && a.to_v6().is_v4_mapped() ? net::ip::address(net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6())) : a;
}

// The addresses a header lists, left to right; nullopt for an entry that is
// not an address ("unknown", an obfuscated "_name").
std::vector<std::optional<net::ip::address>> listed(std::string_view header, bool rfc7239) {
  std::vector<std::optional<net::ip::address>> out;
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (rfc7239) {  // "for=...;proto=https;by=..."
      std::optional<net::ip::address> found;
      bool has_for = false;
      while (!item.empty()) {
        auto semi = item.find(';');
        std::string_view pair = trim(item.substr(0, semi));
        item = semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
        if (pair.size() > 4 && std::tolower(static_cast<unsigned char>(pair[0])) == 'f' &&
            std::tolower(static_cast<unsigned char>(pair[1])) == 'o' &&
            std::tolower(static_cast<unsigned char>(pair[2])) == 'r' && pair[3] == '=') {
          has_for = true;
          found = parse_address(pair.substr(4));
        }
      }
      if (has_for) out.push_back(found);
    } else if (!trim(item).empty()) {
      out.push_back(parse_address(item));
    }
  }
  return out;
}

}  // namespace

proxy_trust::proxy_trust(const std::vector<std::string>& ranges) {
  for (const auto& r : ranges) {
    error_code ec;
    std::string text = r.find('/') == std::string::npos ? r + (r.find(':') == std::string::npos ? "/32" : "/128") : r;
    if (auto v4 = net::ip::make_network_v4(text, ec); !ec) {
      v4_.push_back(v4.canonical());
      continue;
    }
    if (auto v6 = net::ip::make_network_v6(text, ec); !ec) {
      v6_.push_back(v6.canonical());
      continue;
    }
    throw std::invalid_argument(fmt::format("--trust-proxy expects an address or CIDR range, got '{}'", r));
  }
}

bool proxy_trust::trusts(const net::ip::address& a) const {
  if (a.is_v4()) {
    const net::ip::network_v4 host(a.to_v4(), 32);
    return std::any_of(v4_.begin(), v4_.end(), [&](const auto& n) { return host == n || host.is_subnet_of(n); });
  }
  if (a.to_v6().is_v4_mapped()) return trusts(net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()));
  const net::ip::network_v6 host(a.to_v6(), 128);
  return std::any_of(v6_.begin(), v6_.end(), [&](const auto& n) { return host == n || host.is_subnet_of(n); });
}

std::string proxy_trust::client(const tcp::endpoint& peer, std::optional<std::string_view> forwarded_for,
                                std::optional<std::string_view> forwarded) const {
  auto direct = [&] { return fmt::format("{}:{}", peer.address().to_string(), peer.port()); };
  if (!trusts(peer.address()) || (!forwarded_for && !forwarded)) return direct();
  auto chain = forwarded_for ? listed(*forwarded_for, false) : listed(*forwarded, true);
  // Walk from the nearest hop outwards, past every trusted proxy.
  std::string client = peer.address().to_string();
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (!*it) break;  // not an address: the last proxy is all we know
    client = (*it)->to_string();
    if (!trusts(**it)) break;
  }
  return client;
}

}  // namespace microsockets
