// A plugin named PLUGIN_NAME that answers each event it claims (CLAIMS, a
// list of string literals) with TAG; the reload conflict tests build a, a
// second version of a that also claims b's event, and b.
#include <microsockets/plugin.hpp>

MICROSOCKETS_PLUGIN(PLUGIN_NAME) {
  for (const char* event : {CLAIMS})
    app.on(event, [](microsockets::socket& ws) { ws.emit(std::string(ws.event()), TAG); });
}
