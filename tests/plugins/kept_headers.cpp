// Says it reads one request header after the upgrade (X-Kept), and reports
// what it can read: `header` answers with the named header or "<none>";
// `seen_at_connect` with the X-Dropped that on_connect saw.
#include <microsockets/plugin.hpp>

#include <string>

MICROSOCKETS_PLUGIN(kept_headers) {
  app.keep_headers({"X-Kept"});
  app.on_connect([](microsockets::handshake& hs) { hs.set("seen", hs.header("x-dropped").value_or("<none>")); });
  app.on("header", [](microsockets::socket& ws) {
    ws.emit("header", ws.header(ws.payload()).value_or("<none>"));
  });
  app.on("seen_at_connect", [](microsockets::socket& ws) { ws.emit("seen_at_connect", ws.get("seen").value_or("")); });
}
