#include "ops/server.hpp"

#include "plugins/dispatcher.hpp"
#include "websocket/envelope.hpp"
#include "websocket/frame.hpp"
#include "http/handshake.hpp"
#include "plugins/host_api.hpp"
#include "net/listener.hpp"
#include "base/log.hpp"
#include "base/log_limiter.hpp"
#include "plugins/plugin_watcher.hpp"
#include "cluster/redis_bus.hpp"
#include "ops/signal_reader.hpp"
#include "plugins/crash_report.hpp"
#include "plugins/plugin_activity.hpp"
#include "base/stats.hpp"
#include "ops/systemd_notify.hpp"
#include "ops/watchdog.hpp"
#include "net/tls_context.hpp"
#include "websocket/websocket_session.hpp"
#include "core/worker.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <unordered_set>

namespace microsockets {
namespace fs = std::filesystem;
namespace {

bool valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

}  // namespace

server::server(options opts)
    : opts_(std::move(opts)), origins_(opts_.allow_origins), proxies_(opts_.trust_proxies) {
  log::set_level(opts_.log_level);
  log::set_format(opts_.log_format);
  // A cluster host's id is random, so starting needs no Redis; 24 bits make a
  // clash among a hundred hosts about 1 in 3,000.
  if (!opts_.redis.empty()) {
    std::random_device entropy;
    host_id_ = std::uniform_int_distribution<std::uint32_t>(1, 0xffffff)(entropy);
  }
  for (unsigned i = 0; i < opts_.threads; ++i)
    workers_.push_back(std::make_unique<worker>(i, opts_.idle_timeout_seconds, host_id_));
  std::vector<worker*> watched;
  for (auto& w : workers_) watched.push_back(w.get());
  auto ms = [](double s) { return std::chrono::milliseconds(std::int64_t(s * 1000)); };
  watchdog_ = std::make_unique<watchdog>(control_, std::move(watched), ms(opts_.slow_handler_seconds),
                                         ms(opts_.watchdog_kill_seconds));
}

server::~server() = default;

void server::start() {
  if (!fs::is_directory(opts_.plugins))
    throw startup_error(fmt::format("plugins directory '{}' does not exist", opts_.plugins.string()));

  if (opts_.static_dir) {
    if (!fs::is_directory(*opts_.static_dir))
      throw startup_error(fmt::format("static directory '{}' does not exist", opts_.static_dir->string()));
    files_.emplace(*opts_.static_dir);
  }

  if (opts_.tls_cert) {
    try {
      tls_ = std::make_unique<tls_context>(*opts_.tls_cert, *opts_.tls_key);
    } catch (const std::exception& e) {
      throw startup_error(e.what());
    }
  }

  directory_.emplace(opts_.plugins, *this);
  std::shared_ptr<const plugin_table> loaded;
  try {
    loaded = directory_->load(!opts_.allow_missing_plugins);
  } catch (const plugin_error& e) {
    throw startup_error(fmt::format("cannot start with the plugins of '{}': {}", opts_.plugins.string(), e.what()));
  }
  if (loaded->plugins().empty()) log::warn("no plugins loaded from '{}'", opts_.plugins.string());
  table_.store(std::move(loaded));

  error_code ec;
  auto address = net::ip::make_address(opts_.host, ec);
  if (ec) throw startup_error(fmt::format("'{}' is not an IP address", opts_.host));
  try {
    listener_ = std::make_shared<listener>(control_, tcp::endpoint(address, opts_.port), *this,
                                           opts_.max_connections ? opts_.max_connections : listener::default_max_connections());
  } catch (const boost::system::system_error& e) {
    throw startup_error(fmt::format("cannot listen on {}:{}: {}", opts_.host, opts_.port, e.code().message()));
  }
  if (tls_) log::info("TLS certificate: {}", tls_->describe());
  for (const auto& warning : questionable_settings(opts_)) log::warn("{}", warning);
  if (!origins_.restricted() && !address.is_loopback())
    log::warn("listening on {} with every origin allowed: any web page can connect; restrict with --allow-origin",
              opts_.host);
  if (!opts_.redis.empty()) {
    const redis_bus_settings settings{{std::chrono::milliseconds(opts_.redis_timeout_ms), opts_.redis_max_pending_bytes},
                                      {opts_.max_message_bytes, opts_.max_room_name_bytes}};
    bus_ = std::make_unique<redis_bus>(
        workers_[0]->context(), opts_.redis, host_id_, *this,
        [this](std::shared_ptr<const fanout> job) { deliver_locally(std::move(job)); }, settings);
    bus_->start();
  }
  if (files_)
    log::info("serving {} at {}://{}:{}/", opts_.static_dir->string(), tls_ ? "https" : "http", opts_.host,
              local_endpoint().port());
  // Last: whoever waits for this line (a test, a script) finds the startup's other lines before it.
  log::info("listening on {}://{}:{} with {} thread{}", tls_ ? "wss" : "ws", opts_.host, local_endpoint().port(),
            workers_.size(), workers_.size() == 1 ? "" : "s");
}

tcp::endpoint server::local_endpoint() const { return listener_->local_endpoint(); }

void server::reload() {
  auto current = table();
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
  wait_for_sessions(std::chrono::steady_clock::now() + close_timeout());
}

void server::wait_for_sessions(std::chrono::steady_clock::time_point deadline) {
  // A stuck worker's connections cannot close: wait for the others'.
  watchdog_->check_now();
  std::size_t open = 0;
  for (auto& w : workers_)
    if (!watchdog_->stuck(w->index())) open += w->session_count();
  if (open > 0 && std::chrono::steady_clock::now() < deadline) {
    shutdown_timer_->expires_after(std::chrono::milliseconds(10));
    shutdown_timer_->async_wait([this, deadline](error_code) { wait_for_sessions(deadline); });
    return;
  }
  stop_plugins();
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
      for (const auto& p : table()->plugins()) p->stop();
      // The bus lives on worker 0; a stuck one keeps it until the process ends.
      if (bus_ && runner == workers_[0].get()) bus_->stop();
      hooks_done_ = true;
    });
  wait_for_hooks(runner, std::chrono::steady_clock::now() + close_timeout());
}

void server::wait_for_hooks(worker* runner, std::chrono::steady_clock::time_point deadline) {
  if (runner && !hooks_done_ && std::chrono::steady_clock::now() < deadline) {
    shutdown_timer_->expires_after(std::chrono::milliseconds(10));
    shutdown_timer_->async_wait([this, runner, deadline](error_code) { wait_for_hooks(runner, deadline); });
    return;
  }
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

std::string server::metrics() {
  worker_totals totals;
  for (auto& w : workers_) totals.add(w->traffic());
  if (workers_.size() == 1) {
    totals.rooms = workers_[0]->room_count();
  } else {  // a room with members on several threads counts once
    std::unordered_set<std::string> names;
    for (auto& w : workers_)
      if (auto some = w->room_names()) names.insert(some->begin(), some->end());
    totals.rooms = names.size();
  }
  return counters.render(totals) + (bus_ ? bus_->metrics() : "");
}

std::string server::health() const {
  if (auto stuck = watchdog_->report(); !stuck.empty()) return "stuck: a plugin call does not return\n" + stuck;
  return bus_ && bus_->degraded() ? "degraded: a Redis is unreachable, rooms are local only\n" : "ok\n";
}

worker& server::next_worker() {
  // Skips stuck workers while another is healthy: a connection there would wait as long as they do.
  for (std::size_t tries = 0; tries < workers_.size(); ++tries) {
    worker& w = *workers_[next_worker_++ % workers_.size()];
    if (!watchdog_->stuck(w.index())) return w;
  }
  return *workers_[next_worker_++ % workers_.size()];
}

bool server::all_stuck() const { return watchdog_->stuck_count() == workers_.size(); }

bool server::stuck() const { return watchdog_->stuck_count() > 0; }

void server::decide_upgrade(ms_handshake& hs) {
  auto t = table();
  for (const auto& p : t->plugins())
    for (const auto& cb : p->regs().connect) {
      int rc;
      {
        plugin_call running(*p, "on_connect");
        rc = cb.fn(cb.user, &hs);
      }
      if (!check_plugin_result(rc, *p, "on_connect")) {
        hs.reject_status = 500;
        hs.reject_reason = "internal error";
      }
      if (hs.reject_status) return;  // the first rejection decides
    }
}

void server::connected(websocket_session& s) {
  counters.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  counters.connections_open.fetch_add(1, std::memory_order_relaxed);
  log::debug("connection {} from {} on {}", s.id(), s.request().remote(), s.request().path());
}

void server::received(websocket_session& s, std::string_view text) {
  auto t = table();  // this generation serves the whole event
  auto parsed = parse_envelope(text);
  if (auto* error = std::get_if<envelope_error>(&parsed)) {
    counters.messages_malformed.fetch_add(1, std::memory_order_relaxed);
    const auto why = describe(*error);
    static log_limiter lines;
    if (auto n = lines.allow())
      log::debug("connection {}: not dispatched: {}{}", s.id(), why, log_limiter::suppressed_note(*n));
    t->for_each_hook(&registrations::error, [&](const auto& cb, plugin& p) {
      int rc;
      {
        plugin_call running(p, "on_error");
        rc = cb.fn(cb.user, s.id(), ms_str{why.data(), why.size()});
      }
      check_plugin_result(rc, p, "on_error");
    });
    return;
  }
  const auto& message = std::get<envelope>(parsed);
  if (auto failure = dispatch(*t, s.id(), message.event, message.payload))
    s.send(make_event_frame("error", *failure, false));
}

void server::disconnected(ms_conn_id id, std::uint16_t code) {
  // connections_open drops when the session closes its fd.
  if (bus_) bus_->gone(id);
  table()->for_each_hook(&registrations::disconnect, [&](const auto& cb, plugin& p) {
    int rc;
    {
      plugin_call running(p, "on_disconnect");
      rc = cb.fn(cb.user, id, code);
    }
    check_plugin_result(rc, p, "on_disconnect");
  });
}

worker* server::worker_for(ms_conn_id id) {
  const unsigned index = worker::worker_of(id);
  return id != 0 && index < workers_.size() && worker::host_of(id) == host_id_ ? workers_[index].get() : nullptr;
}

bool server::is_remote(ms_conn_id id) const { return bus_ && id != 0 && worker::host_of(id) != host_id_; }

std::shared_ptr<websocket_session> server::find_session(ms_conn_id id) {
  worker* w = worker_for(id);
  return w ? w->find_shared(id) : nullptr;
}

template <class Fn>
ms_status server::on_connection(ms_conn_id id, Fn&& fn) {
  worker* w = worker_for(id);
  if (!w) return MS_GONE;
  if (w->on_this_thread()) {
    websocket_session* s = w->find(id);
    return s ? fn(*s) : MS_GONE;
  }
  if (!w->find_shared(id)) return MS_GONE;
  w->execute([w, id, fn = std::forward<Fn>(fn)]() mutable {
    if (websocket_session* s = w->find(id)) fn(*s);
  });
  return MS_OK;  // accepted; what it does there is not reported back
}

ms_status server::emit(ms_conn_id conn, std::string_view event, std::string_view payload, bool payload_is_json) {
  if (payload_is_json && !is_json(payload)) return MS_INVALID;
  if (is_remote(conn)) return bus_->emit(conn, event, payload, payload_is_json), MS_OK;
  auto rc = on_connection(conn, [frame = make_event_frame(event, payload, payload_is_json)](websocket_session& s) {
    return s.send(frame) ? MS_OK : MS_GONE;
  });
  if (rc == MS_GONE) log::debug("emit '{}' to closed connection {} ignored", event, conn);
  return rc;
}

ms_status server::join(ms_conn_id conn, std::string_view room) {
  if (is_remote(conn)) return bus_->join(conn, room), MS_OK;  // its own host checks the limits
  if (auto refused = check_join(conn, room)) return *refused;
  return on_connection(conn, [this, w = worker_for(conn), room = std::string(room)](websocket_session& s) {
    if (w->join(s, room) && bus_) bus_->joined(s.id(), room);  // already a member: still MS_OK, it is one
    return MS_OK;
  });
}

std::optional<ms_status> server::check_join(ms_conn_id conn, std::string_view room) {
  static log_limiter lines;
  auto refuse = [&](std::string_view why) {
    counters.rooms_refused.fetch_add(1, std::memory_order_relaxed);
    if (auto n = lines.allow())
      log::info("connection {}: join refused: {}{}", conn, why, log_limiter::suppressed_note(*n));
    return MS_REFUSED;
  };
  if (room.size() > opts_.max_room_name_bytes)
    return refuse(fmt::format("room name of {} bytes (limit {})", room.size(), opts_.max_room_name_bytes));
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  // From another thread the count may be a join or two behind: a bound, not an exact quota.
  if (auto why = worker_for(conn)->join_refusal(*s, room, opts_.max_rooms_per_connection, opts_.max_room_names_bytes))
    return refuse(*why);
  return std::nullopt;
}

ms_status server::leave(ms_conn_id conn, std::string_view room) {
  if (is_remote(conn)) return bus_->leave(conn, room), MS_OK;
  return on_connection(conn, [this, w = worker_for(conn), room = std::string(room)](websocket_session& s) {
    if (!w->leave(s, room)) return MS_NOT_FOUND;
    if (bus_) bus_->left(s.id(), room);
    return MS_OK;
  });
}

ms_status server::rooms(ms_conn_id conn, std::vector<std::string>& out) {
  if (is_remote(conn)) return MS_NOT_FOUND;
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  if (auto state = s->state()) out = state->rooms;
  return MS_OK;
}

ms_status server::broadcast(ms_conn_id from, std::string_view event, std::string_view payload, bool payload_is_json,
                            std::vector<std::string> rooms, bool skip_self) {
  if (payload_is_json && !is_json(payload)) return MS_INVALID;
  if (rooms.size() > opts_.max_broadcast_rooms) {
    counters.broadcasts_refused.fetch_add(1, std::memory_order_relaxed);
    static log_limiter lines;
    if (auto n = lines.allow())
      log::info("broadcast '{}' to {} rooms refused (limit {}){}", event, rooms.size(), opts_.max_broadcast_rooms,
                log_limiter::suppressed_note(*n));
    return MS_REFUSED;
  }
  auto job = std::make_shared<const fanout>(fanout{
      std::make_shared<const std::string>(make_event_frame(event, payload, payload_is_json)),
      std::move(rooms), skip_self ? from : 0});
  if (bus_) bus_->published(job, event, payload, payload_is_json);
  deliver_locally(std::move(job));
  return MS_OK;
}

void server::deliver_locally(std::shared_ptr<const fanout> job) {
  for (auto& w : workers_) w->execute([w = w.get(), job] { w->deliver(*job); });
}

ms_status server::close(ms_conn_id conn, std::uint16_t code, std::string_view reason) {
  if (!valid_close_code(code)) return MS_INVALID;
  if (is_remote(conn)) return bus_->close(conn, code, reason), MS_OK;
  return on_connection(conn, [code, reason = std::string(reason)](websocket_session& s) {
    return s.close(code, reason) ? MS_OK : MS_GONE;
  });
}

ms_status server::set_attribute(ms_conn_id conn, std::string_view key, std::string_view value) {
  if (is_remote(conn)) return MS_NOT_FOUND;  // a connection's data stays on its host
  return on_connection(conn, [key = std::string(key), value = std::string(value)](websocket_session& s) {
    s.set_attribute(key, value);
    return MS_OK;
  });
}

ms_status server::get_attribute(ms_conn_id conn, std::string_view key, std::string& out) {
  if (is_remote(conn)) return MS_NOT_FOUND;  // a connection's data stays on its host
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  auto state = s->state();
  if (!state) return MS_NOT_FOUND;
  auto it = state->attributes.find(key);
  if (it == state->attributes.end()) return MS_NOT_FOUND;
  out = it->second;
  return MS_OK;
}

ms_status server::request(ms_conn_id conn, ms_request_field field, std::string_view key, std::string& out) {
  if (is_remote(conn)) return MS_NOT_FOUND;  // a connection's data stays on its host
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  auto value = s->request().field(field, key);
  if (!value) return MS_NOT_FOUND;
  out = std::move(*value);
  return MS_OK;
}

ms_status server::room_members(const plugin* asker, ms_conn_id conn, std::string_view room,
                               members_answer answer) {
  std::weak_ptr<plugin> owner;  // weak: the answer must not keep an old library loaded
  for (const auto& p : table()->plugins())
    if (p.get() == asker) owner = p;
  worker* reply_on = worker_for(conn);
  if (!reply_on) reply_on = workers_[0].get();
  auto reply = [this, owner, reply_on, answer = std::move(answer)](ms_status rc, std::vector<ms_conn_id> ids) {
    net::post(reply_on->context(), [this, owner, answer, rc, ids = std::move(ids)] {
      auto p = owner.lock();
      auto t = table();
      if (!p || std::find(t->plugins().begin(), t->plugins().end(), p) == t->plugins().end()) return;  // reloaded
      answer(rc, ids);
    });
  };
  if (bus_) {
    bus_->members(std::string(room), std::move(reply));
  } else {
    // Each worker lists its own members on its own thread (through its door);
    // the last to do so answers.
    struct gathering {
      std::mutex mutex;
      std::vector<ms_conn_id> ids;
      std::size_t workers_left;
      std::function<void(ms_status, std::vector<ms_conn_id>)> reply;
    };
    auto all = std::make_shared<gathering>();
    all->workers_left = workers_.size();
    all->reply = std::move(reply);
    for (auto& w : workers_)
      w->execute([w = w.get(), all, room = std::string(room)] {
        auto some = w->members_of(room);
        std::lock_guard lock(all->mutex);
        all->ids.insert(all->ids.end(), some.begin(), some.end());
        if (--all->workers_left == 0) all->reply(MS_OK, std::move(all->ids));
      });
  }
  return MS_OK;
}

std::optional<std::string> server::setting(std::string_view plugin, std::string_view key) {
  if (auto it = opts_.settings.find(fmt::format("{}.{}", plugin, key)); it != opts_.settings.end())
    return it->second;
  if (const char* value = std::getenv(setting_variable(plugin, key).c_str())) return std::string(value);
  return std::nullopt;
}

}  // namespace microsockets
