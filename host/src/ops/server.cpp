#include "ops/server.hpp"

#include "base/log.hpp"
#include "cluster/redis_bus.hpp"
#include "http/http_session.hpp"
#include "net/tls_context.hpp"
#include "ops/signal_reader.hpp"
#include "ops/systemd_notify.hpp"
#include "ops/watchdog.hpp"
#include "plugins/crash_report.hpp"
#include "plugins/plugin_activity.hpp"
#include "plugins/plugin_watcher.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <random>

namespace microsockets {
namespace fs = std::filesystem;
namespace {

// A cluster host's id is random, so starting needs no Redis; 24 bits make a
// clash among a hundred hosts about 1 in 3,000.
std::uint32_t pick_host_id(const options& o) {
  if (o.redis.empty()) return 0;
  std::random_device entropy;
  return std::uniform_int_distribution<std::uint32_t>(1, connection_id::max_host_id)(entropy);
}

std::vector<std::unique_ptr<worker>> make_workers(const options& o, std::uint32_t host_id) {
  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<worker>(i, o.idle_timeout_seconds, host_id));
  return workers;
}

std::unique_ptr<watchdog> make_watchdog(net::io_context& control, const std::vector<std::unique_ptr<worker>>& workers,
                                        const options& o) {
  std::vector<worker*> watched;
  for (auto& w : workers) watched.push_back(w.get());
  auto ms = [](double s) { return std::chrono::milliseconds(std::int64_t(s * 1000)); };
  return std::make_unique<watchdog>(control, std::move(watched), ms(o.slow_handler_seconds), ms(o.watchdog_kill_seconds));
}

connection_limits limits_of(const options& o) {
  return {o.max_room_name_bytes, o.max_rooms_per_connection, o.max_room_names_bytes, o.max_broadcast_rooms};
}

session_limits session_limits_of(const options& o) {
  return {o.max_message_bytes, o.max_output_bytes, o.close_timeout_seconds, o.max_rate, o.max_rate_burst,
          o.max_control_rate};
}

}  // namespace

server::server(options opts)
    : opts_(std::move(opts)),
      origins_(opts_.allow_origins),
      proxies_(opts_.trust_proxies),
      host_id_(pick_host_id(opts_)),
      workers_(make_workers(opts_, host_id_)),
      watchdog_(make_watchdog(control_, workers_, opts_)),
      connections_(workers_, host_id_, table_, limits_of(opts_), opts_.settings),
      events_(table_, connections_),
      status_(workers_, *watchdog_, connections_) {
  log::set_level(opts_.log_level);
  log::set_format(opts_.log_format);
  http_.origins = &origins_;
  http_.proxies = &proxies_;
  http_.tls_handshake_timeout = std::chrono::seconds(opts_.tls_handshake_timeout_seconds);
  http_.session = session_limits_of(opts_);
  http_.events = &events_;
  http_.health = [this] { return status_.health(); };
  http_.metrics = [this] { return status_.metrics(); };
}

server::~server() = default;

void server::start() {
  if (!fs::is_directory(opts_.plugins))
    throw startup_error(fmt::format("plugins directory '{}' does not exist", opts_.plugins.string()));

  if (opts_.static_dir) {
    if (!fs::is_directory(*opts_.static_dir))
      throw startup_error(fmt::format("static directory '{}' does not exist", opts_.static_dir->string()));
    files_.emplace(*opts_.static_dir);
    http_.files = &*files_;
  }

  if (opts_.tls_cert) {
    try {
      tls_ = std::make_unique<tls_context>(*opts_.tls_cert, *opts_.tls_key);
      http_.tls = tls_.get();
    } catch (const std::exception& e) {
      throw startup_error(e.what());
    }
  }

  directory_.emplace(opts_.plugins, connections_);
  std::shared_ptr<const plugin_table> loaded;
  try {
    loaded = directory_->load(!opts_.allow_missing_plugins);
  } catch (const plugin_error& e) {
    throw startup_error(fmt::format("cannot start with the plugins of '{}': {}", opts_.plugins.string(), e.what()));
  }
  if (loaded->plugins().empty()) log::warn("no plugins loaded from '{}'", opts_.plugins.string());
  table_.store(std::move(loaded));

  error_code ec;
  auto address = net::ip::make_address(opts_.listen_address, ec);
  if (ec) throw startup_error(fmt::format("'{}' is not an IP address", opts_.listen_address));
  try {
    const listener_settings settings{opts_.max_connections ? opts_.max_connections : listener::default_max_connections(),
                                     opts_.max_connections_per_address, tls_ != nullptr, &proxies_};
    listener_ = std::make_shared<listener>(control_, tcp::endpoint(address, opts_.port), settings,
                                           static_cast<connection_sink&>(*this));
  } catch (const boost::system::system_error& e) {
    throw startup_error(fmt::format("cannot listen on {}:{}: {}", opts_.listen_address, opts_.port, e.code().message()));
  }
  if (tls_) log::info("TLS certificate: {}", tls_->describe());
  for (const auto& warning : questionable_settings(opts_)) log::warn("{}", warning);
  if (!origins_.restricted() && !address.is_loopback())
    log::warn("listening on {} with every origin allowed: any web page can connect; restrict with --allow-origin",
              opts_.listen_address);
  if (!opts_.redis.empty()) {
    const redis_bus_settings settings{{std::chrono::milliseconds(opts_.redis_timeout_ms), opts_.redis_max_pending_bytes},
                                      {opts_.max_message_bytes, opts_.max_room_name_bytes}};
    bus_ = std::make_unique<redis_bus>(
        workers_[0]->context(), opts_.redis, host_id_, connections_,
        [this](std::shared_ptr<const fanout> job) { connections_.deliver_locally(std::move(job)); }, settings);
    connections_.use(*bus_);
    bus_->start();
  }
  if (files_)
    log::info("serving {} at {}://{}:{}/", opts_.static_dir->string(), tls_ ? "https" : "http", opts_.listen_address,
              local_endpoint().port());
  // Last: whoever waits for this line (a test, a script) finds the startup's other lines before it.
  log::info("listening on {}://{}:{} with {} thread{}", tls_ ? "wss" : "ws", opts_.listen_address, local_endpoint().port(),
            workers_.size(), workers_.size() == 1 ? "" : "s");
}

tcp::endpoint server::local_endpoint() const { return listener_->local_endpoint(); }

void server::reload() {
  auto current = table_.load();
  auto next = directory_->reload(*current);
  if (!next) {
    log::info("plugins unchanged");
    return;
  }
  table_.store(std::move(next));  // events from here on use the new generation
  counters.reloads.fetch_add(1, std::memory_order_relaxed);
  // The plugins the new generation dropped are stopped and unloaded here, or
  // when the last event still using them returns.
  current.reset();
}

void server::on_signal(int signal) {
  if (signal == SIGHUP) {
    // A storm of SIGHUPs is one reload at a time: one more is posted only
    // once the last has begun, so worker 0's queue never fills with them.
    if (reload_posted_.exchange(true)) return;
    log::info("SIGHUP received, reloading changed plugins");
    if (watchdog_->stuck(0)) log::warn("worker 0 is stuck in a plugin call: the reload waits for it");
    // Plugin init and on_startup run in a reload: on a worker, where --watch reloads too.
    net::post(workers_[0]->context(), [this] {
      reload_posted_.store(false);
      systemd_notify::reloading();
      reload();
      if (tls_) tls_->reload();
      systemd_notify::ready();
    });
    return;
  }
  log::info("{} received, shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
  shutdown();
}

void server::run() {
  try {
    signals_ = std::make_unique<signal_reader>(control_, [this](int signal) { on_signal(signal); });
  } catch (const std::system_error& e) {
    log::error("cannot read signals: {}; stop the host with SIGKILL", e.what());
  }
  if (opts_.watch) {
    try {
      watcher_ = std::make_unique<plugin_watcher>(workers_[0]->context(), opts_.plugins, [this] { reload(); });
      log::info("watching {} for plugin changes", opts_.plugins.string());
    } catch (const std::system_error& e) {
      log::error("cannot watch {}: {}; reload with SIGHUP instead", opts_.plugins.string(), e.what());
    }
  }
  listener_->run();
  watchdog_->start();
  control_thread_ = std::thread([this] {
    plugin_activity::this_thread().claim("control thread");
    crash_report::prepare_thread();
    control_.run();
  });
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers_.size(); ++i) threads.emplace_back([w = workers_[i].get()] { w->run(); });
  workers_[0]->run();
  for (auto& t : threads) t.join();
  control_.stop();
  control_thread_.join();
  log::info("stopped");
}

void server::stop() {
  net::post(control_, [this] { shutdown(); });
}

void server::shutdown() {
  if (stopping_.exchange(true)) return;
  systemd_notify::stopping();
  if (signals_) signals_->stop();
  if (watcher_) net::post(workers_[0]->context(), [this] { watcher_->stop(); });
  listener_->stop();
  for (auto& w : workers_)
    w->execute([w = w.get()] { w->close_all(websocket::close_code::going_away, "server shutting down"); });
  shutdown_timer_ = std::make_unique<net::steady_timer>(control_);
  // A stuck worker's connections cannot close: wait for the others'.
  wait_until(
      [this] {
        watchdog_->check_now();
        std::size_t open = 0;
        for (auto& w : workers_)
          if (!watchdog_->stuck(w->index())) open += w->session_count();
        return open == 0;
      },
      std::chrono::steady_clock::now() + close_timeout(), [this] { stop_plugins(); });
}

void server::wait_until(std::function<bool()> done, std::chrono::steady_clock::time_point deadline,
                        std::function<void()> then) {
  if (done() || std::chrono::steady_clock::now() >= deadline) return then();
  shutdown_timer_->expires_after(std::chrono::milliseconds(10));
  shutdown_timer_->async_wait([this, done = std::move(done), deadline, then = std::move(then)](error_code) mutable {
    wait_until(std::move(done), deadline, std::move(then));
  });
}

void server::stop_plugins() {
  watchdog_->check_now();
  worker* runner = nullptr;  // on_shutdown hooks are plugin code: on a worker
  for (auto& w : workers_)
    if (!watchdog_->stuck(w->index())) {
      runner = w.get();
      break;
    }
  if (!runner) log::error("every worker is stuck in a plugin call: on_shutdown hooks do not run");
  else
    net::post(runner->context(), [this, runner] {
      for (const auto& p : table_.load()->plugins()) p->stop();
      // The bus lives on worker 0; a stuck one keeps it until the process ends.
      if (runner == workers_[0].get()) connections_.bus().stop();
      hooks_done_ = true;
    });
  wait_until([this, runner] { return !runner || hooks_done_; }, std::chrono::steady_clock::now() + close_timeout(),
             [this, runner] { finish_shutdown(runner); });
}

void server::finish_shutdown(worker* runner) {
  if (runner && !hooks_done_) {
    const auto* slot = runner->activity();
    const auto m = slot ? slot->read() : std::nullopt;
    log::error("on_shutdown hooks did not return within --close-timeout {} s{}{}", opts_.close_timeout_seconds,
               m && m->busy() ? ": still in " : "", m && m->busy() ? m->describe() : "");
  }
  watchdog_->check_now();
  if (auto stuck = watchdog_->report(); !stuck.empty() || !hooks_done_) {
    // A stuck thread cannot be joined, nor may static destructors run under it.
    if (!stuck.empty()) log::error("exiting with a worker stuck in a plugin call:\n{}", stuck);
    log::info("stopped (status 1)");
    std::_Exit(1);
  }
  for (auto& w : workers_) w->stop();
  // run() joins the workers now; one that got stuck at the last moment would hold it for ever.
  shutdown_timer_->expires_after(close_timeout());
  shutdown_timer_->async_wait([](error_code ec) {
    if (ec) return;
    log::error("a worker did not stop within --close-timeout after shutdown; exiting");
    std::_Exit(1);
  });
}

worker& server::next_worker() {
  // Skips stuck workers while another is healthy: a connection there would wait as long as they do.
  for (std::size_t tries = 0; tries < workers_.size(); ++tries) {
    worker& w = *workers_[next_worker_++ % workers_.size()];
    if (!watchdog_->stuck(w.index())) return w;
  }
  return *workers_[next_worker_++ % workers_.size()];
}


std::optional<std::string> server::unavailable() {
  if (watchdog_->stuck_count() < workers_.size()) return std::nullopt;
  return status_.health().body;
}

void server::take(accepted_socket socket, connection_slot slot) {
  // Chosen now, not as the accept began: a worker may have got stuck since.
  worker& next = next_worker();
  net::post(next.context(), [this, &next, s = std::move(socket), slot = std::move(slot)]() mutable {
    std::make_shared<http_session>(std::move(s), next, http_, std::move(slot))->run();
  });
}

}  // namespace microsockets
