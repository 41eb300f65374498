// One plugin built twice (PLUGIN_VERSION 1 and 2); the hot reload tests swap
// the two files under a running host and ask which version answers.
#include <microsockets/plugin.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#define STRINGIFY2(x) #x
#define STRINGIFY(x) STRINGIFY2(x)
#define VERSION_TAG "v" STRINGIFY(PLUGIN_VERSION)

namespace {
std::atomic<int> counter{0};  // carried across reloads by on_reload
}

MICROSOCKETS_PLUGIN(versioned) {
  app.on("version", [](microsockets::socket& ws) { ws.emit("version", VERSION_TAG); });
  app.on("echo_v", [](microsockets::socket& ws) { ws.emit("echo_v", std::string(ws.payload()) + "@" VERSION_TAG); });
  // Holds the handler (and so this version) for `payload` milliseconds.
  app.on("slow", [](microsockets::socket& ws) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(ws.payload()))));
    ws.emit("slow", VERSION_TAG);
  });
  app.on("count", [](microsockets::socket& ws) { ws.emit("count", std::to_string(++counter)); });
  app.on_reload([] { return std::to_string(counter.load()); },
                [](std::string_view blob) { counter = std::stoi(std::string(blob)); });
  app.on_startup([&app] { app.log(microsockets::log_level::info, "versioned " VERSION_TAG " started"); });
  app.on_shutdown([&app] { app.log(microsockets::log_level::info, "versioned " VERSION_TAG " stopped"); });
}
