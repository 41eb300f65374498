// A plugin, a or b (PLUGIN_A 1 or 0), that answers each event it claims
// (CLAIMS, a list of string literals) with TAG; the reload conflict tests build
// a, a second version of a that also claims b's event, and b.
#include <microsockets/plugin.hpp>

namespace {
void claim(microsockets::app& app) {
  for (const char* event : {CLAIMS})
    app.on(event, [](microsockets::socket& ws) { ws.emit(std::string(ws.event()), TAG); });
}
}  // namespace

#if PLUGIN_A
MICROSOCKETS_PLUGIN(a) { claim(app); }
#else
MICROSOCKETS_PLUGIN(b) { claim(app); }
#endif
