// Plugin code that faults or does not return, for the crash report and the
// watchdog tests: a null dereference, an abort, a stack overflow, a sleep of
// the payload's milliseconds, and a spin until another thread's "release";
// with the setting faulty.hang_on_shutdown=1, an on_shutdown that does not return.
#include <microsockets/plugin.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

std::atomic<bool> released{false};
volatile int bottom = 1 << 30;  // never reached: the stack ends first

// Deep enough to overflow any thread's stack; the array keeps each frame
// large and the sum after the call keeps it from being a loop.
int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = char(depth);
  if (depth == bottom) return 0;
  return recurse(depth + 1) + frame[0];
}

// UBSan would catch the store first (the sanitizer build): the host's handler is the one tested.
__attribute__((noinline, no_sanitize_undefined)) void write_to_null() {
  volatile int* volatile nowhere = nullptr;  // volatile both: the compiler cannot drop the store
  *nowhere = 1;
}

}  // namespace

MICROSOCKETS_PLUGIN(faulty) {
  // Which worker serves this connection: the low byte of its id.
  app.on("where", [](microsockets::socket& ws) { ws.emit("where", std::to_string(ws.id() & 0xff)); });
  app.on("crash_null", [](microsockets::socket&) { write_to_null(); });
  app.on("crash_abort", [](microsockets::socket&) { std::abort(); });
  app.on("crash_overflow", [](microsockets::socket& ws) { ws.emit("never", std::to_string(recurse(0))); });
  app.on("sleep", [](microsockets::socket& ws) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(ws.payload()))));
    ws.emit("slept");
  });
  app.on("spin", [](microsockets::socket& ws) {
    // Bounded, so that a test that fails cannot leave a host burning a core.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!released.load() && std::chrono::steady_clock::now() < give_up) {
    }
    ws.emit("spun");
  });
  app.on("release", [](microsockets::socket& ws) {
    released = true;
    ws.emit("released");
  });
  const bool hang = app.config("hang_on_shutdown").value_or("") == "1";
  app.on_shutdown([&app, hang] {
    app.log(microsockets::log_level::info, "on_shutdown ran");
    if (hang) std::this_thread::sleep_for(std::chrono::seconds(60));
  });
}
