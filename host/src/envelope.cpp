#include "envelope.hpp"

#include <boost/json.hpp>

namespace microsockets {
namespace json = boost::json;

std::string_view describe(envelope_error e) {
  switch (e) {
    case envelope_error::not_json: return "message is not valid JSON";
    case envelope_error::not_object: return "message is not a JSON object";
    case envelope_error::no_event: return "message has no string \"event\"";
  }
  return "unknown";
}

std::variant<envelope, envelope_error> parse_envelope(std::string_view text) {
  // Small messages parse without touching the heap.
  unsigned char scratch[4096];
  json::monotonic_resource mr(scratch, sizeof scratch);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, &mr);
  if (ec) return envelope_error::not_json;
  const json::object* obj = v.if_object();
  if (!obj) return envelope_error::not_object;
  auto event = obj->find("event");
  if (event == obj->end() || !event->value().is_string()) return envelope_error::no_event;

  envelope out;
  out.event = event->value().get_string();
  if (auto payload = obj->find("payload"); payload != obj->end()) {
    if (const json::string* s = payload->value().if_string()) out.payload = *s;
    else out.payload = json::serialize(payload->value());
  }
  return out;
}

std::string make_envelope(std::string_view event, std::string_view payload, bool payload_is_json) {
  std::string out;
  out.reserve(event.size() + payload.size() + 32);
  out += "{\"event\":";
  out += json::serialize(json::string_view(event));
  out += ",\"payload\":";
  out += payload_is_json ? std::string(payload) : json::serialize(json::string_view(payload));
  out += '}';
  return out;
}

bool is_json(std::string_view text) {
  boost::system::error_code ec;
  json::parse(text, ec);
  return !ec;
}

}  // namespace microsockets
