// Libraries the host must refuse, one per REFUSED_CASE, each with a clear reason.
#include <microsockets/plugin.hpp>

#include <stdexcept>

#if REFUSED_CASE == 1  // no entry symbols at all
extern "C" __attribute__((visibility("default"))) int not_a_plugin() { return 42; }

#elif REFUSED_CASE == 2  // a future ABI major version
MICROSOCKETS_EXPORT const std::uint32_t microsockets_abi_version = (2u << 16);
MICROSOCKETS_EXPORT int microsockets_plugin_init(const ms_host_api*, ms_host*) { return MS_OK; }

#elif REFUSED_CASE == 3  // init throws
MICROSOCKETS_PLUGIN(throwing_init) { throw std::runtime_error("init refuses to start"); }

#elif REFUSED_CASE == 4  // claims an event the probe plugin owns
MICROSOCKETS_PLUGIN(conflicting) {
  app.on("echo", [](microsockets::socket& ws) { ws.emit("echo", "from the conflicting plugin"); });
}
#endif
