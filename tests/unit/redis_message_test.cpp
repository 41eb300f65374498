#include "cluster/redis_address.hpp"
#include "cluster/redis_message.hpp"

#include <doctest/doctest.h>

using namespace microsockets;

TEST_CASE("a message between hosts keeps every byte of its fields") {
  const std::string frame("\x81\x05h:l\0o", 7);
  auto text = encode_redis_message('b', 1780000000123, {"ab12", "7", "0", frame, "room:with:colons", ""});
  auto m = decode_redis_message(text);
  REQUIRE(m);
  CHECK(m->kind == 'b');
  CHECK(m->sent_ms == 1780000000123);
  REQUIRE(m->fields.size() == 6);
  CHECK(m->fields[3] == frame);
  CHECK(m->fields[4] == "room:with:colons");
  CHECK(m->fields[5].empty());
}

TEST_CASE("a truncated or malformed message is refused") {
  auto text = encode_redis_message('e', 1, {"12", "event", "payload"});
  CHECK_FALSE(decode_redis_message(text.substr(0, text.size() - 1)));
  CHECK_FALSE(decode_redis_message("e2:ab1:x"));  // no sent time: its first field is not a number
  CHECK_FALSE(decode_redis_message("e"));
  CHECK_FALSE(decode_redis_message(""));
  CHECK_FALSE(decode_redis_message("b3"));
  CHECK_FALSE(decode_redis_message("bx:abc"));
}

namespace {
redis_message_limits limits{100, 10};
std::optional<std::string> check(char kind, const std::vector<std::string_view>& fields) {
  auto text = encode_redis_message(kind, 1, fields);
  auto m = decode_redis_message(text);
  REQUIRE(m);
  return check_redis_message(*m, limits);
}
}  // namespace

TEST_CASE("a broadcast from another host carries an event, not a frame, and is checked") {
  CHECK_FALSE(check('b', {"ab12", "7", "0", "said", "hello", "0", "room"}));
  CHECK_FALSE(check('b', {"ab12", "7", "0", "said", "{\"a\":1}", "1", "red", "blue"}));
  CHECK(check('b', {"ab12", "7", "0", "said", "hello", "0"}));                // no room
  CHECK(check('b', {"zz", "7", "0", "said", "hello", "0", "room"}));          // host not hex
  CHECK(check('b', {"ab12", "x", "0", "said", "hello", "0", "room"}));        // sequence
  CHECK(check('b', {"ab12", "7", "0", "said", "hello", "2", "room"}));        // is-json
  CHECK(check('b', {"ab12", "7", "0", "said", "{not json", "1", "room"}));    // said JSON, is not
  CHECK(check('b', {"ab12", "7", "0", "sa\xffid", "hello", "0", "room"}));   // event not UTF-8
  CHECK(check('b', {"ab12", "7", "0", "said", "\xc3\x28", "0", "room"}));   // payload not UTF-8
  CHECK(check('b', {"ab12", "7", "0", "said", "hello", "0", "\xed\xa0\x80"}));  // a surrogate
  CHECK(check('b', {"ab12", "7", "0", "said", std::string(97, 'x'), "0", "room"}));  // over max_message
  CHECK(check('b', {"ab12", "7", "0", "said", "hello", "0", "a-long-room"}));        // over max_room_name
  CHECK(check('b', {"ab12", "7", "0", "\x88\x02\x03\xe8", "0", "room"}));        // the old frame layout
}

TEST_CASE("calls on another host's connection are checked too") {
  CHECK_FALSE(check('e', {"12", "said", "hi", "0"}));
  CHECK(check('e', {"12", "said", "hi"}));
  CHECK(check('e', {"x12", "said", "hi", "0"}));
  CHECK(check('e', {"12", "said", "[1,", "1"}));
  CHECK_FALSE(check('c', {"12", "4000", "bye"}));
  CHECK(check('c', {"12", "70000", "bye"}));
  CHECK(check('c', {"12", "4000", std::string(124, 'r')}));
  CHECK_FALSE(check('j', {"12", "room"}));
  CHECK(check('l', {"12", "a-long-room"}));
  CHECK(check('x', {"12", "room"}));
  CHECK(check('\x81', {}));
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

TEST_CASE("a redis address that does not parse never shows its password, and says to percent-encode") {
  for (std::string_view url : {"redis://:Zq@Zq@127.0.0.1:6379", "redis://:Zq/Zq@127.0.0.1:6379", "redis://:Zq#Zq@127.0.0.1"}) {
    auto why = parse_redis_address(url);
    REQUIRE(std::holds_alternative<std::string>(why));
    const auto& text = std::get<std::string>(why);
    CHECK(text.find("Zq") == std::string::npos);
    CHECK(text.find("percent-encoded") != std::string::npos);
  }
  auto a = std::get<redis_address>(parse_redis_address("redis://:pa%40ss%3A%2F@127.0.0.1:6379"));
  CHECK(a.password == "pa@ss:/");
  auto rediss = std::get<std::string>(parse_redis_address("rediss://127.0.0.1:6379"));
  CHECK(rediss.find("TLS") != std::string::npos);
}
