// A plugin named "host": its settings would be MICROSOCKETS_HOST_*, the
// host's own variables, so the host refuses it.
#include <microsockets/plugin.hpp>

MICROSOCKETS_PLUGIN(host) {
  app.on("hosted", [](microsockets::socket& ws) { ws.emit("hosted"); });
}
