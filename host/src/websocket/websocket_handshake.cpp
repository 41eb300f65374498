#include "websocket/websocket_handshake.hpp"

#include <boost/beast/websocket/detail/hybi13.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <array>

namespace microsockets {

std::optional<http::status> upgrade_refusal(const http::request<http::string_body>& req) {
  if (req[http::field::sec_websocket_version] != "13") return http::status::upgrade_required;
  // A key is 16 random bytes in base64: 24 characters, the last two "==".
  const auto key = req[http::field::sec_websocket_key];
  std::array<unsigned char, 18> decoded;
  if (key.size() != 24 || !key.ends_with("==") ||
      EVP_DecodeBlock(decoded.data(), reinterpret_cast<const unsigned char*>(key.data()), 24) != 18)
    return http::status::bad_request;
  return std::nullopt;
}

std::string accept_key(std::string_view key) {
  // Beast's own computation: OpenSSL's SHA-1 would load its providers on the
  // first upgrade, about 2 MiB of memory for one hash per connection.
  websocket::detail::sec_ws_accept_type accept;
  websocket::detail::make_sec_ws_accept(accept, key.substr(0, websocket::detail::sec_ws_key_type::static_capacity));
  return std::string(accept.data(), accept.size());
}

std::string switching_protocols(std::string_view key, const std::vector<std::pair<std::string, std::string>>& headers,
                                std::string_view protocol) {
  auto out = fmt::format(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: {}\r\nServer: microsockets\r\n",
      accept_key(key));
  for (const auto& [name, value] : headers) fmt::format_to(std::back_inserter(out), "{}: {}\r\n", name, value);
  if (!protocol.empty()) fmt::format_to(std::back_inserter(out), "Sec-WebSocket-Protocol: {}\r\n", protocol);
  out += "\r\n";
  return out;
}

}  // namespace microsockets
