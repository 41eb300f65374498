// The chat room of the original microsockets README, as a plugin.
//
//   join     payload {"room": ..., "user": ...} (as a JSON string): joins the
//            room, answers "joined", tells the others "user joined" {"user": ...}
//   message  payload text: sent as "message" to everyone else in the sender's rooms
#include <microsockets/plugin.hpp>

#include <boost/json.hpp>

namespace json = boost::json;

MICROSOCKETS_PLUGIN(chat) {
  app.on("join", [](microsockets::socket& ws) {
    json::value request = json::parse(ws.payload());  // a throw is logged by the host
    std::string room(request.at("room").as_string());
    std::string user(request.at("user").as_string());
    ws.join(room);
    ws.set("user", user);
    ws.emit("joined");
    ws.broadcast("user joined", json::serialize(json::object{{"user", user}}), {room});
  });

  app.on("message", [](microsockets::socket& ws) {
    ws.broadcast("message", ws.payload(), ws.rooms());
  });
}
