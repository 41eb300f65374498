// The upgrade request of one connection ("scope" in the Python original).
#pragma once

#include <microsockets/abi.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace microsockets {

struct request_info {
  std::string path;
  std::map<std::string, std::string, std::less<>> query;    // decoded
  std::map<std::string, std::string, std::less<>> headers;  // names in lower case
  std::string remote;                                       // "address:port"

  // Parses "/path?a=1&b=x%20y" and stores the lower-cased headers given.
  static request_info from_target(std::string_view target);
  std::optional<std::string> field(ms_request_field field, std::string_view key) const;
};

}  // namespace microsockets
