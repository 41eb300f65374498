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
  json::value user = {};
  std::string error = {};  // what is wrong, for the client
};

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
  return {.room = std::string(room->get_string()), .user = *user};
}

}  // namespace

MICROSOCKETS_PLUGIN(chat) {
  app.on("join", [](microsockets::socket& ws) {
    auto request = parse_join(ws.payload());
    if (!request.error.empty()) return (void)ws.emit("error", request.error);
    ws.join(request.room);
    ws.set("user", json::serialize(request.user));  // its JSON text
    ws.emit("joined");
    ws.broadcast("user joined", json::serialize(json::object{{"user", request.user}}), {request.room});
  });

  app.on("message", [](microsockets::socket& ws) {
    ws.broadcast("message", ws.payload(), ws.rooms());
  });
}
