#include "plugins/plugin_watcher.hpp"

#include "base/tuning.hpp"

#include "base/log.hpp"

#include <cerrno>
#include <system_error>

#include <sys/inotify.h>
#include <unistd.h>

namespace microsockets {
namespace {

int open_inotify(const std::filesystem::path& dir) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  // Written in place (close after write), renamed over, created, removed.
  constexpr std::uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  if (::inotify_add_watch(fd, dir.c_str(), mask) < 0) {
    int error = errno;
    ::close(fd);
    throw std::system_error(error, std::generic_category(), "watching " + dir.string());
  }
  return fd;
}

}  // namespace

plugin_watcher::plugin_watcher(net::io_context& ioc, const std::filesystem::path& dir, std::function<void()> on_change)
    : inotify_(ioc, open_inotify(dir)), quiet_(ioc), on_change_(std::move(on_change)) {
  wait();
}

plugin_watcher::~plugin_watcher() { stop(); }

void plugin_watcher::stop() {
  error_code ignored;
  inotify_.close(ignored);
  quiet_.cancel();
}

void plugin_watcher::wait() {
  inotify_.async_wait(net::posix::stream_descriptor::wait_read, [this](error_code ec) { on_readable(ec); });
}

void plugin_watcher::on_readable(error_code ec) {
  if (ec) return;  // closed
  bool relevant = false;
  for (;;) {
    ssize_t n = ::read(inotify_.native_handle(), events_.data(), events_.size());
    if (n <= 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(events_.data() + at);
      std::string_view name = event->len ? std::string_view(event->name) : std::string_view{};
      if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) log::warn("the plugins directory was removed or moved");
      if (name.ends_with(".so") || (event->mask & IN_Q_OVERFLOW)) relevant = true;
      at += ssize_t(sizeof(inotify_event) + event->len);
    }
  }
  if (relevant) {  // (re)start the quiet period
    quiet_.expires_after(tuning::plugin_watch_debounce);
    quiet_.async_wait([this](error_code e) {
      if (!e) on_change_();
    });
  }
  wait();
}

}  // namespace microsockets
