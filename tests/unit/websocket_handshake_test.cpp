#include "websocket/websocket_handshake.hpp"

#include <doctest/doctest.h>

using namespace microsockets;

namespace {
http::request<http::string_body> upgrade(std::string_view key, std::string_view version = "13") {
  http::request<http::string_body> req{http::verb::get, "/", 11};
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, key);
  req.set(http::field::sec_websocket_version, version);
  return req;
}
}  // namespace

TEST_CASE("the accept key is the one RFC 6455 section 1.3 computes") {
  CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("an upgrade needs a 16-byte base64 key and version 13") {
  CHECK_FALSE(upgrade_refusal(upgrade("dGhlIHNhbXBsZSBub25jZQ==")));
  CHECK(upgrade_refusal(upgrade("dGhlIHNhbXBsZSBub25jZQ==", "8")) == http::status::upgrade_required);
  CHECK(upgrade_refusal(upgrade("")) == http::status::bad_request);
  CHECK(upgrade_refusal(upgrade("dGhlIHNhbXBsZSBub25jZQ")) == http::status::bad_request);
  CHECK(upgrade_refusal(upgrade("dGhlIHNhbXBsZSBub25j!Q==")) == http::status::bad_request);
  CHECK(upgrade_refusal(upgrade("dGhlIHNhbXBsZSBub25jZXh4")) == http::status::bad_request);  // 18 bytes
}

TEST_CASE("the 101 response carries the accept key, the plugins' headers and the subprotocol") {
  const auto r = switching_protocols("dGhlIHNhbXBsZSBub25jZQ==", {{"X-Room", "lobby"}}, "chat");
  CHECK(r.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
  CHECK(r.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
  CHECK(r.find("X-Room: lobby\r\n") != std::string::npos);
  CHECK(r.find("Sec-WebSocket-Protocol: chat\r\n") != std::string::npos);
  CHECK(r.ends_with("\r\n\r\n"));
}
