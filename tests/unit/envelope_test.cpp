#include "websocket/envelope.hpp"

#include <doctest/doctest.h>

using namespace microsockets;

namespace {
envelope_error error_of(std::string_view text) {
  auto parsed = parse_envelope(text);
  REQUIRE(std::holds_alternative<envelope_error>(parsed));
  return std::get<envelope_error>(parsed);
}
envelope parsed(std::string_view text) {
  auto result = parse_envelope(text);
  REQUIRE(std::holds_alternative<envelope>(result));
  return std::get<envelope>(result);
}
}  // namespace

TEST_CASE("a string payload reaches the handler decoded") {
  auto e = parsed(R"({"event":"join","payload":"{\"room\":\"a\"}"})");
  CHECK(e.event == "join");
  CHECK(e.payload == R"({"room":"a"})");
}

TEST_CASE("any other payload value reaches the handler as its JSON text") {
  CHECK(parsed(R"({"event":"e","payload":{"a":[1,2]}})").payload == R"({"a":[1,2]})");
  CHECK(parsed(R"({"event":"e","payload":42})").payload == "42");
  CHECK(parsed(R"({"event":"e","payload":null})").payload == "null");
}

TEST_CASE("a missing payload is the empty string, as the original client's default") {
  CHECK(parsed(R"({"event":"ping"})").payload == "");
}

TEST_CASE("malformed messages are not dispatched, each with its reason") {
  CHECK(error_of("") == envelope_error::not_json);
  CHECK(error_of("hello") == envelope_error::not_json);
  CHECK(error_of(R"({"event":"x")") == envelope_error::not_json);
  CHECK(error_of(R"({"event":"x"} trailing)") == envelope_error::not_json);
  CHECK(error_of(R"(["event","x"])") == envelope_error::not_object);
  CHECK(error_of(R"("event")") == envelope_error::not_object);
  CHECK(error_of("42") == envelope_error::not_object);
  CHECK(error_of(R"({"payload":"x"})") == envelope_error::no_event);
  CHECK(error_of(R"({"event":42,"payload":"x"})") == envelope_error::no_event);
  CHECK(error_of(R"({"event":null})") == envelope_error::no_event);
  CHECK(describe(envelope_error::no_event) == R"(message has no string "event")");
}

TEST_CASE("outgoing events have the original client's shape") {
  CHECK(make_envelope("joined", "", false) == R"({"event":"joined","payload":""})");
  CHECK(make_envelope("user joined", R"({"user":"bo"})", false) ==
        R"({"event":"user joined","payload":"{\"user\":\"bo\"}"})");
  CHECK(make_envelope("raw", R"({"n":1})", true) == R"({"event":"raw","payload":{"n":1}})");
  CHECK(make_envelope("q\"uote", "line\nbreak", false) == R"({"event":"q\"uote","payload":"line\nbreak"})");
}

TEST_CASE("an outgoing envelope parses back to what was sent") {
  auto e = parsed(make_envelope("ev", "päyload \"quoted\"", false));
  CHECK(e.event == "ev");
  CHECK(e.payload == "päyload \"quoted\"");
}
