// The wire format: one text message per event, {"event": "<name>", "payload": <value>}.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace microsockets {

// A parsed message. Both views stay valid until the next parse_envelope call
// on the same thread (they point into that thread's parser storage).
struct envelope {
  std::string_view event;
  // A JSON string payload arrives decoded; any other value as its JSON text.
  std::string_view payload;
};

// Why a message was not dispatched.
enum class envelope_error { not_json, not_object, no_event };

std::string_view describe(envelope_error e);

std::variant<envelope, envelope_error> parse_envelope(std::string_view text);

// The JSON text of an outgoing event. The payload goes out as a JSON string,
// or, when payload_is_json, as the JSON value it already is (caller checked it).
std::string make_envelope(std::string_view event, std::string_view payload, bool payload_is_json);

// The same event as a complete server frame, in one allocation.
std::string make_event_frame(std::string_view event, std::string_view payload, bool payload_is_json);

bool is_json(std::string_view text);

}  // namespace microsockets
