#include "ops/watchdog.hpp"

#include "base/tuning.hpp"

#include "plugins/crash_report.hpp"
#include "base/log.hpp"
#include "plugins/plugin_activity.hpp"
#include "base/stats.hpp"
#include "ops/systemd_notify.hpp"
#include "core/worker.hpp"

#include <csignal>
#include <cstdlib>
#include <string>

#include <unistd.h>

namespace microsockets {
namespace {

double seconds(std::int64_t ns) { return double(ns) / 1e9; }


}  // namespace

watchdog::watchdog(net::io_context& control, std::vector<worker*> workers, std::chrono::milliseconds slow,
                   std::chrono::milliseconds kill)
    : timer_(control),
      workers_(std::move(workers)),
      slow_ns_(std::chrono::nanoseconds(slow).count()),
      kill_ns_(std::chrono::nanoseconds(kill).count()),
      watched_(workers_.size()),
      flags_(std::make_unique<std::atomic<bool>[]>(workers_.size())) {
  // sd_watchdog_enabled()'s rules: WATCHDOG_USEC, for this process if WATCHDOG_PID says which.
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  if (usec && (!pid || std::to_string(::getpid()) == pid)) ping_every_ns_ = std::atoll(usec) * 1000 / 2;
}

void watchdog::start() { tick(); }

void watchdog::stop() { timer_.cancel(); }

void watchdog::check_now() {
  for (unsigned i = 0; i < workers_.size(); ++i) check(i);
}

void watchdog::tick() {
  check_now();
  const auto now = plugin_activity::now_ns();
  if (ping_every_ns_ > 0 && stuck_count() == 0 && now - last_ping_ns_ >= ping_every_ns_) {
    systemd_notify::send("WATCHDOG=1");
    last_ping_ns_ = now;
  }
  if (kill_sent_ns_ && now - kill_sent_ns_ > tuning::watchdog_kill_grace_ns) {
    log::error("watchdog: the stuck thread did not end the process; aborting from the watchdog");
    std::abort();
  }
  timer_.expires_after(tuning::watchdog_period);
  timer_.async_wait([this](error_code ec) {
    if (!ec) tick();
  });
}

void watchdog::check(unsigned index) {
  const plugin_activity* slot = workers_[index]->activity();
  if (!slot) return;  // not running yet
  const auto m = slot->read();
  if (!m) return;  // changing as we looked: it makes progress
  auto& w = watched_[index];
  const auto now = plugin_activity::now_ns();
  const bool over = m->busy() && now - m->since_ns >= slow_ns_;
  // A mark that began before the slow one is its caller (a middleware around
  // the stuck handler): the same stall, not a new one.
  const bool new_stall = over && (!w.slow || m->since_ns > w.slow_since);
  if (w.slow && (!over || new_stall)) {
    log::info("watchdog: worker {} is back from {} after about {:.1f} s", index, w.what, seconds(now - w.slow_since));
    std::lock_guard lock(mutex_);
    w.slow = false;
    flags_[index].store(false, std::memory_order_relaxed);
    stuck_count_.fetch_sub(1, std::memory_order_relaxed);
    counters.workers_stuck.fetch_sub(1, std::memory_order_relaxed);
  }
  if (new_stall) {
    auto what = m->describe();
    const bool last = stuck_count_.load(std::memory_order_relaxed) + 1 == workers_.size();
    log::warn("watchdog: worker {} has been in {} for {:.1f} s (--slow-handler {:g} s); its connections wait, {}",
              index, what, seconds(now - m->since_ns), seconds(slow_ns_),
              last ? "and with no worker free new connections get 503" : "new ones go to other workers");
    counters.slow_handlers.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    w.slow = true;
    w.slow_since = m->since_ns;
    w.what = std::move(what);
    flags_[index].store(true, std::memory_order_relaxed);
    stuck_count_.fetch_add(1, std::memory_order_relaxed);
    counters.workers_stuck.fetch_add(1, std::memory_order_relaxed);
  }
  if (over && kill_ns_ && !kill_sent_ns_ && now - m->since_ns >= kill_ns_) {
    log::error("watchdog: worker {} has been in {} for {:.1f} s, over --watchdog-kill {:g} s: aborting so that the "
               "supervisor restarts the host",
               index, w.what, seconds(now - m->since_ns), seconds(kill_ns_));
    kill_sent_ns_ = now;
    crash_report::killing(slot->thread());
    ::pthread_kill(slot->thread(), SIGABRT);
  }
}

std::string watchdog::report() const {
  std::string out;
  const auto now = plugin_activity::now_ns();
  std::lock_guard lock(mutex_);
  for (unsigned i = 0; i < watched_.size(); ++i)
    if (watched_[i].slow)
      out += fmt::format("worker {}: {:.1f} s in {}\n", i, seconds(now - watched_[i].slow_since), watched_[i].what);
  return out;
}

}  // namespace microsockets
