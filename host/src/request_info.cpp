#include "request_info.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

namespace microsockets {

request_info request_info::from_target(std::string_view target) {
  request_info info;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    info.path = std::string(target.substr(0, target.find('?')));
    return info;
  }
  info.path = url->path();
  for (auto param : url->params()) info.query.emplace(param.key, param.has_value ? param.value : "");
  return info;
}

std::optional<std::string> request_info::field(ms_request_field field, std::string_view key) const {
  switch (field) {
    case MS_REQUEST_PATH: return path;
    case MS_REQUEST_REMOTE: return remote;
    case MS_REQUEST_QUERY:
      if (auto it = query.find(key); it != query.end()) return it->second;
      return std::nullopt;
    case MS_REQUEST_HEADER: {
      std::string name(key);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      if (auto it = headers.find(name); it != headers.end()) return it->second;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace microsockets
