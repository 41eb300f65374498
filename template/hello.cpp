// One event handler: "hello" with a name answers "hello" with a greeting.
#include <microsockets/plugin.hpp>

#include <string>

MICROSOCKETS_PLUGIN(hello) {
  app.on("hello", [](microsockets::socket& ws) {
    ws.emit("hello", "hello, " + std::string(ws.payload()));
  });
}
