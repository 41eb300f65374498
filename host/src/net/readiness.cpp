#include "net/readiness.hpp"

#include <cerrno>
#include <system_error>

namespace microsockets {

namespace {
int new_epoll() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  return fd;
}
}  // namespace

readiness::readiness(net::io_context& ioc) : epoll_(ioc, new_epoll()) { wait(); }

bool readiness::watch(int fd, handler& h) { return control(EPOLL_CTL_ADD, fd, h); }

bool readiness::rewatch(int fd, handler& h) { return control(EPOLL_CTL_MOD, fd, h); }

bool readiness::control(int op, int fd, handler& h) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &h;
  return ::epoll_ctl(epoll_.native_handle(), op, fd, &ev) == 0;
}

void readiness::unwatch(int fd) { ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr); }

void readiness::wait() {
  epoll_.async_wait(net::posix::stream_descriptor::wait_read, [this](error_code ec) {
    if (ec) return;  // the loop is going away
    dispatch();
    wait();
  });
}

void readiness::dispatch() {
  // Not waiting: Asio said there is something. A full batch leaves the rest
  // ready, and the next wait sees it at once.
  int n;
  do n = ::epoll_wait(epoll_.native_handle(), events_.data(), int(events_.size()), 0);
  while (n < 0 && errno == EINTR);
  for (int i = 0; i < n; ++i) static_cast<handler*>(events_[i].data.ptr)->on_ready(events_[i].events);
}

}  // namespace microsockets
