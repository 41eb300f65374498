// Watches the plugins directory with inotify (through Asio, no polling) and
// calls back once the directory has been quiet for a moment, so a library a
// compiler or linker is still writing is never loaded half-done.
#pragma once

#include "base/net.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>

namespace microsockets {

class plugin_watcher {
 public:

  // Throws std::system_error if the directory cannot be watched.
  plugin_watcher(net::io_context& ioc, const std::filesystem::path& dir, std::function<void()> on_change);
  ~plugin_watcher();
  plugin_watcher(const plugin_watcher&) = delete;
  plugin_watcher& operator=(const plugin_watcher&) = delete;

  void stop();

 private:
  void wait();
  void on_readable(error_code ec);

  net::posix::stream_descriptor inotify_;
  net::steady_timer quiet_;
  std::function<void()> on_change_;
  alignas(8) std::array<char, 4096> events_{};
};

}  // namespace microsockets
