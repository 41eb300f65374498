#include "websocket/envelope.hpp"

#include "websocket/frame.hpp"

#include <boost/json.hpp>

#include <cstring>
#include <optional>

namespace microsockets {
namespace json = boost::json;
namespace {

// One thread's parse: small messages never touch the heap, and the parsed
// value lives until the next message so envelopes can point into it.
struct parse_storage {
  alignas(std::max_align_t) unsigned char buffer[16 * 1024];
  std::optional<json::monotonic_resource> memory;
  std::optional<json::value> value;
  std::string serialized;  // a payload that is not a string, as JSON text
};
thread_local parse_storage storage;

void append_json_string(std::string& out, std::string_view s) {
  json::serializer sr;
  sr.reset(s);
  char chunk[256];
  while (!sr.done()) {
    auto part = sr.read(chunk, sizeof chunk);
    out.append(part.data(), part.size());
  }
}

void append_envelope(std::string& out, std::string_view event, std::string_view payload, bool payload_is_json) {
  out += "{\"event\":";
  append_json_string(out, event);
  out += ",\"payload\":";
  if (payload_is_json) out += payload;
  else append_json_string(out, payload);
  out += '}';
}

}  // namespace

std::string_view describe(envelope_error e) {
  switch (e) {
    case envelope_error::not_json: return "message is not valid JSON";
    case envelope_error::not_object: return "message is not a JSON object";
    case envelope_error::no_event: return "message has no string \"event\"";
  }
  return "unknown";
}

std::variant<envelope, envelope_error> parse_envelope(std::string_view text) {
  storage.value.reset();  // before the memory it lives in
  storage.memory.emplace(storage.buffer, sizeof storage.buffer);
  boost::system::error_code ec;
  storage.value.emplace(json::parse(text, ec, &*storage.memory));
  if (ec) return envelope_error::not_json;
  const json::object* obj = storage.value->if_object();
  if (!obj) return envelope_error::not_object;
  auto event = obj->find("event");
  if (event == obj->end() || !event->value().is_string()) return envelope_error::no_event;

  envelope out{event->value().get_string(), {}};
  if (auto payload = obj->find("payload"); payload != obj->end()) {
    if (const json::string* s = payload->value().if_string()) {
      out.payload = *s;
    } else {
      storage.serialized = json::serialize(payload->value());
      out.payload = storage.serialized;
    }
  }
  return out;
}

std::string make_envelope(std::string_view event, std::string_view payload, bool payload_is_json) {
  std::string out;
  out.reserve(event.size() + payload.size() + 32);
  append_envelope(out, event, payload, payload_is_json);
  return out;
}

std::string make_event_frame(std::string_view event, std::string_view payload, bool payload_is_json) {
  // The body goes after room for the longest header; the real header is then
  // written just before the body and the unused room removed.
  std::string out;
  out.reserve(max_frame_header + event.size() + payload.size() + 32);
  out.resize(max_frame_header);
  append_envelope(out, event, payload, payload_is_json);
  char header[max_frame_header];
  const std::size_t n = write_frame_header(header, out.size() - max_frame_header);
  std::memcpy(out.data() + max_frame_header - n, header, n);
  out.erase(0, max_frame_header - n);
  return out;
}

bool is_json(std::string_view text) {
  unsigned char scratch[4096];
  json::monotonic_resource memory(scratch, sizeof scratch);
  boost::system::error_code ec;
  json::parse(text, ec, &memory);
  return !ec;
}

}  // namespace microsockets
