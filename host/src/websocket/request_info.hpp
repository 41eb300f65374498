// The upgrade request of one connection ("scope" in the Python original).
//
// Kept for the connection's whole life, so it is stored compactly: the target
// and one block of "name: value" lines, parsed again on each (rare) lookup.
#pragma once

#include <microsockets/abi.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

class request_info {
 public:
  request_info() = default;
  // `target` is "/path?query"; headers are added with add_header.
  request_info(std::string_view target, std::string remote);

  // Keeps a header for later lookups; the handshake's own (Upgrade,
  // Connection, Sec-WebSocket-Key, -Version) mean nothing after it and are dropped.
  void add_header(std::string_view name, std::string_view value);
  // Drops every header but those named (lower case, sorted), once the
  // upgrade is decided and no plugin will read the others.
  void keep_only_headers(const std::vector<std::string>& names);

  std::string path() const;
  std::optional<std::string> query(std::string_view key) const;  // decoded
  std::optional<std::string> header(std::string_view name) const;  // any case
  const std::string& remote() const { return remote_; }

  std::optional<std::string> field(ms_request_field field, std::string_view key) const;

 private:
  std::string target_;
  std::string headers_;  // "name: value\n" per header, names in lower case
  std::string remote_;   // "address:port"
};

}  // namespace microsockets
