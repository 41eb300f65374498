// The host's lifecycle: it builds the workers, the listener, the plugins and
// the backplane from the options, starts them, serves until SIGINT/SIGTERM,
// reloads on SIGHUP (or --watch), and shuts down gracefully. What runs while
// it serves lives in the units it wires together: core/connections (the
// operations plugins call), core/event_dispatch (the connections' events),
// ops/host_status (/metrics, /healthz). It is the listener's sink: each
// admitted connection goes to a worker that is not stuck.
//
// The control thread runs no plugin code, so that a stuck handler stops
// none of it: it accepts connections, reads the signals, runs the watchdog
// and ends the process.
#pragma once

#include "base/net.hpp"
#include "core/connections.hpp"
#include "core/event_dispatch.hpp"
#include "http/http_context.hpp"
#include "http/origin_policy.hpp"
#include "http/static_files.hpp"
#include "net/listener.hpp"
#include "net/proxy_trust.hpp"
#include "ops/host_status.hpp"
#include "ops/options.hpp"
#include "plugins/live_table.hpp"
#include "plugins/plugin_directory.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace microsockets {

class plugin_watcher;
class signal_reader;
class tls_context;
class watchdog;

// A reason the host cannot start, in one line for the user.
struct startup_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class server final : private connection_sink {
 public:
  explicit server(options opts);
  ~server();

  // Loads the plugins, runs on_startup, binds. Throws startup_error.
  void start();
  // Serves until SIGINT/SIGTERM or stop(), then shuts down gracefully. The
  // signals must be blocked (signal_reader::block_host_signals) before start().
  void run();
  void stop();  // any thread

  tcp::endpoint local_endpoint() const;
  // What a session is built with (the fuzz target drives one on worker 0).
  worker& worker_at(std::size_t index) { return *workers_.at(index); }
  const http_context& http() const { return http_; }

 private:
  // connection_sink, on the control thread: round robin over the workers the
  // watchdog does not find stuck; none while every one is.
  std::optional<std::string> unavailable() override;
  void take(accepted_socket socket, connection_slot slot) override;
  worker& next_worker();

  // Swaps in a new generation of plugins if the directory changed.
  void reload();
  // SIGHUP reloads (on worker 0), SIGINT and SIGTERM shut down; control thread.
  void on_signal(int signal);
  // On the control thread: closes every connection with 1001, waits up to
  // --close-timeout for those of the workers that are not stuck, runs the
  // on_shutdown hooks on worker 0 (or the first worker not stuck) for up to
  // --close-timeout more, then stops the workers, or, with one stuck, whose
  // thread cannot be joined, ends the process (_Exit(1)).
  void shutdown();
  void stop_plugins();
  void finish_shutdown(worker* runner);
  // Polls `done` every 10 ms on the control thread until it holds or
  // `deadline` passes, then runs `then`.
  void wait_until(std::function<bool()> done, std::chrono::steady_clock::time_point deadline,
                  std::function<void()> then);
  std::chrono::seconds close_timeout() const { return std::chrono::seconds(opts_.close_timeout_seconds); }

  options opts_;
  origin_policy origins_;
  proxy_trust proxies_;
  std::uint32_t host_id_ = 0;  // random at start with --redis, else 0
  std::vector<std::unique_ptr<worker>> workers_;
  net::io_context control_{1};
  std::thread control_thread_;
  std::unique_ptr<watchdog> watchdog_;
  live_table table_;
  connections connections_;
  event_dispatch events_;
  host_status status_;
  http_context http_;
  std::unique_ptr<backplane> bus_;  // with --redis only; else connections_ keeps its local one
  std::atomic<bool> hooks_done_{false};
  std::atomic<unsigned> next_worker_{0};
  std::shared_ptr<listener> listener_;
  std::unique_ptr<signal_reader> signals_;
  std::optional<plugin_directory> directory_;
  std::unique_ptr<plugin_watcher> watcher_;
  std::unique_ptr<net::steady_timer> shutdown_timer_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> reload_posted_{false};  // a SIGHUP's reload waits on worker 0
  std::optional<static_files> files_;
  std::unique_ptr<tls_context> tls_;
};

}  // namespace microsockets
