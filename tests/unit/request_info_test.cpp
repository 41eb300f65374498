#include "websocket/request_info.hpp"

#include <doctest/doctest.h>

using namespace microsockets;

TEST_CASE("after the upgrade a request keeps only the headers named, in any case") {
  request_info info("/room?x=1", "127.0.0.1:5");
  info.add_header("Host", "example.com");
  info.add_header("Authorization", "Bearer t");
  info.add_header("X-Long-Header-Name", "v");
  info.add_header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");  // the handshake's own: never kept
  CHECK(info.header("host") == "example.com");
  CHECK_FALSE(info.header("sec-websocket-key"));
  info.add_header("X-Colon", "a: b");
  CHECK(info.header("x-colon") == "a: b");
  CHECK_FALSE(info.header("x-colon: a"));  // no name holds ':'; it must not match inside the value

  info.keep_only_headers({"authorization", "x-long"});
  CHECK(info.header("AUTHORIZATION") == "Bearer t");
  CHECK_FALSE(info.header("host"));
  CHECK_FALSE(info.header("x-long-header-name"));  // a name is matched whole
  CHECK(info.path() == "/room");
  CHECK(info.query("x") == "1");

  info.keep_only_headers({});
  CHECK_FALSE(info.header("authorization"));
}
