#include "websocket_handshake.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

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
  constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input;
  input.reserve(key.size() + guid.size());
  input.append(key).append(guid);
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest;
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  std::array<char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> text;  // and EVP_EncodeBlock's NUL
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), digest.data(), int(digest.size()));
  return std::string(text.data(), std::size_t(n));
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
