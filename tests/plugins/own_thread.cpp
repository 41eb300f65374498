// Starts a thread of its own from a handler and keeps it until released, so
// that tests can look at what such a thread inherits (its signal mask).
#include <microsockets/plugin.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace {
std::mutex mutex;
std::condition_variable released_changed;
bool released = false;
std::thread held;

void release() {
  {
    std::lock_guard lock(mutex);
    released = true;
  }
  released_changed.notify_all();
  if (held.joinable()) held.join();
}
}  // namespace

MICROSOCKETS_PLUGIN(own_thread) {
  app.on("hold_thread", [](microsockets::socket& ws) {
    if (!held.joinable())
      held = std::thread([] {
        std::unique_lock lock(mutex);
        released_changed.wait(lock, [] { return released; });
      });
    ws.emit("hold_thread");
  });
  app.on("release_thread", [](microsockets::socket& ws) {
    release();
    ws.emit("release_thread");
  });
  app.on_shutdown([] { release(); });
}
