// The host: worker threads, the listener, the plugins and their current
// routing table, signals and graceful shutdown. Implements host_services, the
// operations plugins call, on top of the workers.
//
// The control thread runs no plugin code, so that a stuck handler stops
// none of it: it accepts connections (handing each to a worker that is not
// stuck), reads the signals, runs the watchdog and ends the process.
#pragma once

#include "plugins/host_services.hpp"
#include "base/net.hpp"
#include "ops/options.hpp"
#include "http/origin_policy.hpp"
#include "plugins/plugin_directory.hpp"
#include "plugins/plugin_table.hpp"
#include "net/proxy_trust.hpp"
#include "http/static_files.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

struct ms_handshake;

namespace microsockets {

class listener;
class plugin_watcher;
class redis_bus;
class signal_reader;
class tls_context;
class watchdog;
class websocket_session;
class worker;
struct fanout;

// A reason the host cannot start, in one line for the user.
struct startup_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class server final : public host_services {
 public:
  explicit server(options opts);
  ~server() override;

  // Loads the plugins, runs on_startup, binds. Throws startup_error.
  void start();
  // Serves until SIGINT/SIGTERM or stop(), then shuts down gracefully. The
  // signals must be blocked (signal_reader::block_host_signals) before start().
  void run();
  void stop();  // any thread

  const options& opts() const { return opts_; }
  tcp::endpoint local_endpoint() const;
  // Round robin over the workers the watchdog does not find stuck (all, if every one is). Any thread.
  worker& next_worker();
  // Every worker is in a plugin call longer than --slow-handler: none would
  // answer a new connection. Any thread.
  bool all_stuck() const;
  // Some worker is: /healthz answers 503. Any thread.
  bool stuck() const;
  // The /metrics page: the counters, plus gauges read from the workers.
  std::string metrics();
  // The /healthz body: "ok", or "degraded: ..." while a Redis is unreachable
  // (local rooms still work, so the host is not down), or "stuck: ..." with a
  // line per stuck worker naming the plugin call.
  std::string health() const;
  std::shared_ptr<const plugin_table> table() const { return table_.load(); }
  const static_files* files() const { return files_ ? &*files_ : nullptr; }
  const origin_policy& origins() const { return origins_; }
  const proxy_trust& proxies() const { return proxies_; }

  // Hands a broadcast to the members of its rooms on every worker of this
  // host, through each worker's door (worker::execute), so it keeps its
  // place among the calling thread's other calls. Any thread.
  void deliver_locally(std::shared_ptr<const fanout> job);
  // The certificate when the port speaks TLS (--tls-cert), else null.
  const tls_context* tls() const { return tls_.get(); }

  // Called by the sessions, on their worker's thread.
  void decide_upgrade(ms_handshake& hs);
  void connected(websocket_session& s);
  void received(websocket_session& s, std::string_view text);
  void disconnected(ms_conn_id id, std::uint16_t code);

  // host_services
  ms_status emit(ms_conn_id conn, std::string_view event, std::string_view payload, bool payload_is_json) override;
  ms_status join(ms_conn_id conn, std::string_view room) override;
  ms_status leave(ms_conn_id conn, std::string_view room) override;
  ms_status rooms(ms_conn_id conn, std::vector<std::string>& out) override;
  ms_status broadcast(ms_conn_id from, std::string_view event, std::string_view payload, bool payload_is_json,
                      std::vector<std::string> rooms, bool skip_self) override;
  ms_status close(ms_conn_id conn, std::uint16_t code, std::string_view reason) override;
  ms_status set_attribute(ms_conn_id conn, std::string_view key, std::string_view value) override;
  ms_status get_attribute(ms_conn_id conn, std::string_view key, std::string& out) override;
  ms_status request(ms_conn_id conn, ms_request_field field, std::string_view key, std::string& out) override;
  ms_status room_members(const plugin* asker, ms_conn_id conn, std::string_view room,
                         members_answer answer) override;
  std::optional<std::string> setting(std::string_view plugin, std::string_view key) override;

 private:
  // Swaps in a new generation of plugins if the directory changed.
  void reload();
  // SIGHUP reloads (on worker 0), SIGINT and SIGTERM shut down; control thread.
  void on_signal(int signal);
  // A plugin's write on a connection, through its worker's door
  // (worker::execute): fn(session) -> ms_status runs now on the connection's
  // thread and its status is the call's; from elsewhere it is queued, and the
  // call returns MS_OK (accepted) unless the connection is already gone.
  template <class Fn>
  ms_status on_connection(ms_conn_id id, Fn&& fn);
  worker* worker_for(ms_conn_id id);
  // A connection of another host of the cluster.
  bool is_remote(ms_conn_id id) const;
  // The connection, from any thread, for reads of what it published; null once it is gone.
  std::shared_ptr<websocket_session> find_session(ms_conn_id id);
  // MS_REFUSED past --max-room-name or --max-rooms-per-connection (counted).
  std::optional<ms_status> check_join(ms_conn_id conn, std::string_view room);
  // On the control thread: closes every connection with 1001, waits up to
  // --close-timeout for those of the workers that are not stuck, runs the
  // on_shutdown hooks on worker 0 (or the first worker not stuck) for up to
  // --close-timeout more, then stops the workers, or, with one stuck, whose
  // thread cannot be joined, ends the process (_Exit(1)).
  void shutdown();
  void wait_for_sessions(std::chrono::steady_clock::time_point deadline);
  void stop_plugins();
  void wait_for_hooks(worker* runner, std::chrono::steady_clock::time_point deadline);
  std::chrono::seconds close_timeout() const { return std::chrono::seconds(opts_.close_timeout_seconds); }

  options opts_;
  origin_policy origins_;
  proxy_trust proxies_;
  std::uint32_t host_id_ = 0;  // random at start with --redis, else 0
  std::vector<std::unique_ptr<worker>> workers_;
  net::io_context control_{1};
  std::thread control_thread_;
  std::unique_ptr<watchdog> watchdog_;
  std::atomic<bool> hooks_done_{false};
  std::atomic<unsigned> next_worker_{0};
  std::shared_ptr<listener> listener_;
  std::atomic<std::shared_ptr<const plugin_table>> table_;
  std::unique_ptr<signal_reader> signals_;
  std::optional<plugin_directory> directory_;
  std::unique_ptr<plugin_watcher> watcher_;
  std::unique_ptr<net::steady_timer> shutdown_timer_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> reload_posted_{false};  // a SIGHUP's reload waits on worker 0
  std::optional<static_files> files_;
  std::unique_ptr<tls_context> tls_;
  std::unique_ptr<redis_bus> bus_;  // with --redis only
};

}  // namespace microsockets
