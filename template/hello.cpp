// One event handler: "hello" with a name answers "hello" with a greeting.
#include <microsockets/plugin.hpp>

#include <string>

MICROSOCKETS_PLUGIN(hello) {
  // It reads no request headers after the upgrade: each connection drops them.
  app.keep_headers({});
  app.on("hello", [](microsockets::socket& ws) {
    ws.emit("hello", "hello, " + std::string(ws.payload()));
  });
}
