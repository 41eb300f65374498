// The wire format: one text message per event, {"event": "<name>", "payload": <value>}.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace microsockets {

struct envelope {
  std::string event;
  // A JSON string payload arrives decoded; any other value as its JSON text.
  std::string payload;
};

// Why a message was not dispatched.
enum class envelope_error { not_json, not_object, no_event };

std::string_view describe(envelope_error e);

std::variant<envelope, envelope_error> parse_envelope(std::string_view text);

// The JSON text of an outgoing event. The payload goes out as a JSON string,
// or, when payload_is_json, as the JSON value it already is (caller checked it).
std::string make_envelope(std::string_view event, std::string_view payload, bool payload_is_json);

bool is_json(std::string_view text);

}  // namespace microsockets
