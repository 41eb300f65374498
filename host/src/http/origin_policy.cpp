#include "http/origin_policy.hpp"

#include <boost/algorithm/string/case_conv.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace microsockets {

origin_policy::origin_policy(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    auto o = parse(p);
    if (!o || o->host == "*." || o->host.find('*', o->host.starts_with("*.") ? 1 : 0) != std::string::npos)
      throw std::invalid_argument(fmt::format(
          "--allow-origin expects scheme://host[:port] or scheme://*.domain[:port], got '{}'", p));
    allowed_.push_back(std::move(*o));
  }
}

std::optional<origin_policy::origin> origin_policy::parse(std::string_view text) {
  std::string s(text);
  boost::algorithm::to_lower(s);
  const auto sep = s.find("://");
  if (sep == std::string::npos || sep == 0) return std::nullopt;
  origin o{s.substr(0, sep), s.substr(sep + 3), ""};
  if (o.host.empty() || o.host.find('/') != std::string::npos) return std::nullopt;
  // The port follows the last ':' unless that is inside an IPv6 literal "[...]".
  const auto colon = o.host.rfind(':');
  if (colon != std::string::npos && o.host.find(']', colon) == std::string::npos) {
    o.port = o.host.substr(colon + 1);
    o.host.resize(colon);
    if (o.port.empty() || o.host.empty() ||
        !std::all_of(o.port.begin(), o.port.end(), [](unsigned char c) { return std::isdigit(c); }))
      return std::nullopt;
  }
  return o;
}

bool origin_policy::allows(std::optional<std::string_view> header) const {
  if (allowed_.empty() || !header) return true;
  auto o = parse(*header);
  if (!o) return false;  // "null" (a sandboxed page, a file) and anything unparsable
  return std::any_of(allowed_.begin(), allowed_.end(), [&](const origin& a) {
    if (a.scheme != o->scheme || a.port != o->port) return false;
    if (!a.host.starts_with("*.")) return a.host == o->host;
    const std::string_view suffix = std::string_view(a.host).substr(1);  // ".example.com"
    return o->host.size() > suffix.size() && o->host.ends_with(suffix);
  });
}

}  // namespace microsockets
