#include "redis_address.hpp"
#include "redis_message.hpp"

#include <doctest/doctest.h>

using namespace microsockets;

TEST_CASE("a message between hosts keeps every byte of its fields") {
  const std::string frame("\x81\x05h:l\0o", 7);
  auto text = encode_redis_message('b', {"ab12", "7", "0", frame, "room:with:colons", ""});
  auto m = decode_redis_message(text);
  REQUIRE(m);
  CHECK(m->kind == 'b');
  REQUIRE(m->fields.size() == 6);
  CHECK(m->fields[3] == frame);
  CHECK(m->fields[4] == "room:with:colons");
  CHECK(m->fields[5].empty());
}

TEST_CASE("a truncated or malformed message is refused") {
  auto text = encode_redis_message('e', {"12", "event", "payload"});
  CHECK_FALSE(decode_redis_message(text.substr(0, text.size() - 1)));
  CHECK_FALSE(decode_redis_message(""));
  CHECK_FALSE(decode_redis_message("b3"));
  CHECK_FALSE(decode_redis_message("bx:abc"));
}

TEST_CASE("redis addresses: password, database, default port") {
  auto a = std::get<redis_address>(parse_redis_address("redis://:s3cret@127.0.0.1:6380/2"));
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 6380);
  CHECK(a.password == "s3cret");
  CHECK(a.user.empty());
  CHECK(a.db == 2);
  CHECK(a.label() == "127.0.0.1:6380");
  auto b = std::get<redis_address>(parse_redis_address("redis://localhost"));
  CHECK(b.port == 6379);
  CHECK(b.db == 0);
  CHECK(std::holds_alternative<std::string>(parse_redis_address("http://localhost:6379")));
}
