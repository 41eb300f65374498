// The host's signals (SIGINT, SIGTERM, SIGHUP), read on the control thread,
// where no plugin code runs (a stuck handler cannot hold them), from a
// signalfd while they stay blocked in every thread: no system call of
// the host's or of a plugin's thread is ever interrupted by one (EINTR), and
// a storm of SIGHUPs coalesces into a few reloads.
#pragma once

#include "base/net.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>

namespace microsockets {

class signal_reader {
 public:
  // Blocks the host's signals in the calling thread and in every thread it
  // starts from then on, which inherit its mask: call it in main() before
  // any thread starts. A child made with fork() gets them unblocked again;
  // one started with posix_spawn() or system() inherits the mask.
  static void block_host_signals();

  // Calls on_signal(signal number) on ioc's thread. Throws std::system_error.
  signal_reader(net::io_context& ioc, std::function<void(int)> on_signal);
  signal_reader(const signal_reader&) = delete;
  signal_reader& operator=(const signal_reader&) = delete;

  void stop();

 private:
  void wait();

  net::posix::stream_descriptor signals_;
  std::function<void(int)> on_signal_;
};

}  // namespace microsockets
