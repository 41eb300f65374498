// Envoy's watchdog, for plugin code: every 100 ms, on the control thread (where
// no plugin code runs), it reads what plugin code each worker runs
// (plugin_activity). A call running longer than --slow-handler is logged once,
// with its plugin, event or hook, worker and time, and counted; its worker is
// "stuck" until it returns, which is logged too. Stuck workers get no new
// connections (server::next_worker) and /healthz says which they are. With
// --watchdog-kill, a call that runs that long ends the process: SIGABRT to the
// stuck thread, whose crash report names the plugin and where it spins, so that
// the supervisor restarts the host. Under systemd's WatchdogSec ($WATCHDOG_USEC)
// it sends WATCHDOG=1 at half that period while no worker is stuck, so that
// systemd ends and restarts a host whose handler stays stuck. Nothing stops a stuck call from outside
// without ending the process: its thread is the plugin's until it returns.
#pragma once

#include "base/net.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace microsockets {

class worker;

class watchdog {
 public:
  // kill: zero for never.
  watchdog(net::io_context& control, std::vector<worker*> workers, std::chrono::milliseconds slow,
           std::chrono::milliseconds kill);
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  void start();  // on the control thread
  void stop();
  // Looks at every worker now rather than at the next tick (shutdown's
  // decisions must not wait for it); on the control thread.
  void check_now();

  // Any thread: lock-free.
  bool stuck(unsigned worker) const { return flags_[worker].load(std::memory_order_relaxed); }
  std::size_t stuck_count() const { return stuck_count_.load(std::memory_order_relaxed); }
  // A line per stuck worker, "worker 1: 2.3 s in plugin 'x' (...) handler for
  // event 'spin'"; empty while none is. Any thread.
  std::string report() const;

 private:
  void tick();
  void check(unsigned index);

  struct watched {
    bool slow = false;
    std::int64_t slow_since = 0;  // the start of the call that made it slow
    std::string what;             // its describe(), for the lines and /healthz
  };

  net::steady_timer timer_;
  std::vector<worker*> workers_;
  std::int64_t slow_ns_, kill_ns_;
  std::vector<watched> watched_;  // control thread only, but what is read under mutex_
  std::unique_ptr<std::atomic<bool>[]> flags_;
  std::atomic<std::size_t> stuck_count_{0};
  mutable std::mutex mutex_;
  std::int64_t kill_sent_ns_ = 0;
  std::int64_t ping_every_ns_ = 0, last_ping_ns_ = 0;  // WATCHDOG=1; 0: not asked for
};

}  // namespace microsockets
