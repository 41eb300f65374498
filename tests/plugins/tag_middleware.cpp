// Middleware that appends PROBE_TAG to the payload of "echo" events, so a test
// can read the order middleware ran in from the echo. A payload starting with
// "stop-<tag>" stops the event in that middleware.
#include <microsockets/plugin.hpp>

#define STRINGIFY2(x) #x
#define STRINGIFY(x) STRINGIFY2(x)

MICROSOCKETS_PLUGIN(PROBE_TAG) {
  app.before_on([](microsockets::socket& ws, microsockets::next& next) {
    if (ws.event() != "echo") return (void)next();
    const std::string tag = STRINGIFY(PROBE_TAG);
    if (ws.payload().starts_with("stop-" + tag)) return ws.emit("stopped", tag), void();
    ws.set_payload(std::string(ws.payload()) + "+" + tag);
    next();
  });
}
