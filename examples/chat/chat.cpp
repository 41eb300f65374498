// The chat room of the original microsockets README, as a plugin.
//
//   join     payload {"room": "<name>", "user": <any JSON value>} (as a JSON
//            string, as the original page sends it): joins the room, answers
//            "joined", tells the others "user joined" {"user": <that value>}.
//            A payload it cannot use is answered with "error", saying why.
//   message  payload text: sent as "message" to everyone else in the sender's rooms
#include <microsockets/plugin.hpp>

#include <boost/json.hpp>

#include <string>

namespace json = boost::json;

namespace {

// The room and user of a join payload, or why there are none.
struct join_request {
  std::string room = {};
  std::string user = {};   // its JSON text, exactly as sent
  std::string error = {};  // what is wrong, for the client
};

// The exact text of the top-level member `key` of `object`, a JSON object
// already known to be valid. The user comes back byte for byte this way:
// Boost.JSON 1.81 may parse a double (Math.random()) one unit off.
std::string_view member_text(std::string_view object, std::string_view key) {
  std::size_t at = 0;
  auto skip_space = [&] { while (at < object.size() && std::string_view(" \t\r\n").find(object[at]) != std::string_view::npos) ++at; };
  auto skip_string = [&] {  // at the opening quote
    for (++at; at < object.size() && object[at] != '"'; ++at)
      if (object[at] == '\\') ++at;
    ++at;
  };
  auto skip_value = [&] {
    int depth = 0;
    do {
      skip_space();
      const char c = object[at];
      if (c == '"') skip_string();
      else if (c == '{' || c == '[') ++depth, ++at;
      else if (c == '}' || c == ']') --depth, ++at;
      else while (at < object.size() && std::string_view(",}] \t\r\n").find(object[at]) == std::string_view::npos) ++at;
      skip_space();
      if (depth > 0 && at < object.size() && (object[at] == ',' || object[at] == ':')) ++at;
    } while (depth > 0 && at < object.size());
  };
  skip_space();
  ++at;  // {
  while (at < object.size()) {
    skip_space();
    if (object[at] != '"') break;
    const std::size_t key_start = at;
    skip_string();
    const std::string_view name = object.substr(key_start + 1, at - key_start - 2);
    skip_space();
    ++at;  // :
    skip_space();
    const std::size_t value_start = at;
    skip_value();
    if (name == key) return object.substr(value_start, at - value_start);
    if (at < object.size() && object[at] == ',') ++at;
  }
  return {};
}

join_request parse_join(std::string_view payload) {
  const std::string expected = R"(; "join" expects {"room": "<name>", "user": <any JSON value>})";
  boost::system::error_code ec;
  json::value request = json::parse(payload, ec);
  if (ec) return {.error = "the payload is not JSON" + expected};
  const json::object* fields = request.if_object();
  if (!fields) return {.error = "the payload is not a JSON object" + expected};
  const json::value* room = fields->if_contains("room");
  if (!room) return {.error = "the payload has no \"room\"" + expected};
  if (!room->is_string()) return {.error = "\"room\" is not a string" + expected};
  const json::value* user = fields->if_contains("user");
  if (!user) return {.error = "the payload has no \"user\"" + expected};
  std::string text(member_text(payload, "user"));
  while (!text.empty() && std::string_view(" \t\r\n").find(text.back()) != std::string_view::npos) text.pop_back();
  return {.room = std::string(room->get_string()), .user = std::move(text)};
}

}  // namespace

MICROSOCKETS_PLUGIN(chat) {
  app.keep_headers({});  // reads none after the upgrade: idle connections stay small
  app.on("join", [](microsockets::socket& ws) {
    auto request = parse_join(ws.payload());
    if (!request.error.empty()) return (void)ws.emit("error", request.error);
    ws.join(request.room);
    ws.set("user", request.user);  // its JSON text
    ws.emit("joined");
    ws.broadcast("user joined", "{\"user\":" + request.user + "}", {request.room});
  });

  app.on("message", [](microsockets::socket& ws) {
    ws.broadcast("message", ws.payload(), ws.rooms());
  });
}
