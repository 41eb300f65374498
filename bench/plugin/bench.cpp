// The benchmark semantics, the same for every server under test:
//   join  payload a room name: join it, answer "joined" with the room
//   say   send {"event":"said","payload":<same>} to the other members of the sender's rooms
//   echo  answer "echo" with the same payload
#include <microsockets/plugin.hpp>

MICROSOCKETS_PLUGIN(bench) {
  app.keep_headers({});
  app.on("join", [](microsockets::socket& ws) {
    ws.join(ws.payload());
    ws.emit("joined", ws.payload());
  });
  app.on("say", [](microsockets::socket& ws) { ws.broadcast("said", ws.payload(), ws.rooms()); });
  app.on("echo", [](microsockets::socket& ws) { ws.emit("echo", ws.payload()); });
}
