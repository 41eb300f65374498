// Middleware: an event whose payload is not valid JSON is answered with an
// "error" event saying why, and its handler is not called.
#include <microsockets/plugin.hpp>

#include <boost/json.hpp>

MICROSOCKETS_PLUGIN(json_payload) {
  app.keep_headers({});
  app.before_on([](microsockets::socket& ws, microsockets::next& next) {
    boost::system::error_code ec;
    boost::json::parse(ws.payload(), ec);
    if (ec) {
      ws.emit("error", "payload of \"" + std::string(ws.event()) + "\" is not valid JSON: " + ec.message());
      return;
    }
    next();
  });
}
