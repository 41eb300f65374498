// The server's side of the opening handshake (RFC 6455 4.2): what an upgrade
// request must carry beyond websocket::is_upgrade, and the 101 response.
#pragma once

#include "base/net.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace microsockets {

// Why an upgrade request cannot be accepted: 400 without a valid
// Sec-WebSocket-Key, 426 for a version other than 13; nullopt if it can.
std::optional<http::status> upgrade_refusal(const http::request<http::string_body>& req);

// Sec-WebSocket-Accept for a client's key (24 characters, as upgrade_refusal
// checks): base64(SHA-1(key + the RFC's GUID)).
std::string accept_key(std::string_view key);

// The 101 response, with the plugins' headers and the chosen subprotocol.
std::string switching_protocols(std::string_view key, const std::vector<std::pair<std::string, std::string>>& headers,
                                std::string_view protocol);

}  // namespace microsockets
