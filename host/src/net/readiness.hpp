// Read and write readiness of a worker's open WebSocket connections: one
// epoll descriptor per worker, edge-triggered, registered in the worker's
// Asio loop. One wait per loop turn covers every connection, where Asio's
// reactor re-arms each socket's registration (an epoll_ctl) on every wait.
// A connection reads until a short read (drained: the next byte is a new
// edge) and writes until the kernel's buffer is full (the next edge says
// when it has room again).
#pragma once

#include "base/net.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <sys/epoll.h>

#include <array>
#include <cstdint>

namespace microsockets {

class readiness {
 public:
  class handler {
   public:
    // `events`: EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR as epoll reports them.
    virtual void on_ready(std::uint32_t events) = 0;

   protected:
    ~handler() = default;
  };

  explicit readiness(net::io_context& ioc);
  readiness(const readiness&) = delete;
  readiness& operator=(const readiness&) = delete;

  // Watches `fd` for input, output and hang-up until unwatch(); false (errno
  // set) if epoll refuses it. The handler must outlive the turn in which it
  // is unwatched: the turn's batch may still name it.
  bool watch(int fd, handler& h);
  // A watched fd's events go to `h` from now on (one epoll_ctl MOD, where
  // unwatch and watch are two); it reports what is ready at once.
  bool rewatch(int fd, handler& h);
  // Before the fd is closed: closing alone leaves it watched while a copy of
  // the socket lives on (in a child that inherited it).
  void unwatch(int fd);

 private:
  bool control(int op, int fd, handler& h);  // epoll_ctl ADD or MOD, for every event watch() names
  void wait();
  void dispatch();

  net::posix::stream_descriptor epoll_;
  std::array<epoll_event, 256> events_;
};

}  // namespace microsockets
