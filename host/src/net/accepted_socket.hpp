// A connection the listener accepted: its descriptor, non-blocking and
// close-on-exec from birth (accept4), and the peer accept4 named. It owns the
// descriptor (closing it if dropped, as a posted handler may be at shutdown)
// until the session that serves it gives it to Asio or to its worker's readiness.
// Accepting this way, not with Asio's async_accept, costs no registration in
// the listener's reactor and no fcntl, getpeername or getsockname afterwards.
#pragma once

#include "base/net.hpp"

#include <unistd.h>

#include <utility>

namespace microsockets {

class accepted_socket {
 public:
  accepted_socket(int fd, const tcp::endpoint& peer) : fd_(fd), peer_(peer) {}
  accepted_socket(accepted_socket&& other) noexcept
      : watched(other.watched), fd_(std::exchange(other.fd_, -1)), peer_(other.peer_) {}
  accepted_socket& operator=(accepted_socket&&) = delete;
  ~accepted_socket() {
    if (fd_ >= 0) ::close(fd_);
  }

  int fd() const { return fd_; }
  const tcp::endpoint& peer() const { return peer_; }
  // Gives the descriptor up: the caller closes it from now on.
  int release() { return std::exchange(fd_, -1); }

  // Its worker's readiness watches it already: the HTTP session waited there for its first bytes.
  bool watched = false;

 private:
  int fd_;
  tcp::endpoint peer_;
};

}  // namespace microsockets
