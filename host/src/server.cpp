#include "server.hpp"

#include "dispatcher.hpp"
#include "envelope.hpp"
#include "frame.hpp"
#include "handshake.hpp"
#include "host_api.hpp"
#include "listener.hpp"
#include "log.hpp"
#include "plugin_watcher.hpp"
#include "signal_reader.hpp"
#include "stats.hpp"
#include "websocket_session.hpp"
#include "worker.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <unordered_set>

namespace microsockets {
namespace fs = std::filesystem;
namespace {

// Clients get this long to answer the 1001 close before the host exits anyway.
constexpr auto shutdown_grace = std::chrono::seconds(5);


bool valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

}  // namespace

server::server(options opts) : opts_(std::move(opts)) {
  log::set_level(opts_.log_level);
  log::set_format(opts_.log_format);
  for (unsigned i = 0; i < opts_.threads; ++i)
    workers_.push_back(std::make_unique<worker>(i, opts_.idle_timeout_seconds));
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

  directory_.emplace(opts_.plugins, *this);
  auto loaded = directory_->load();
  if (loaded->plugins().empty()) log::warn("no plugins loaded from '{}'", opts_.plugins.string());
  table_.store(std::move(loaded));

  error_code ec;
  auto address = net::ip::make_address(opts_.host, ec);
  if (ec) throw startup_error(fmt::format("'{}' is not an IP address", opts_.host));
  try {
    listener_ = std::make_shared<listener>(workers_[0]->context(), tcp::endpoint(address, opts_.port), *this);
  } catch (const boost::system::system_error& e) {
    throw startup_error(fmt::format("cannot listen on {}:{}: {}", opts_.host, opts_.port, e.code().message()));
  }
  log::info("listening on ws://{}:{} with {} thread{}", opts_.host, local_endpoint().port(), workers_.size(),
            workers_.size() == 1 ? "" : "s");
  if (files_) log::info("serving {} at http://{}:{}/", opts_.static_dir->string(), opts_.host, local_endpoint().port());
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
    log::info("SIGHUP received, reloading changed plugins");
    reload();
    return;
  }
  log::info("{} received, shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
  shutdown();
}

void server::run() {
  try {
    signals_ = std::make_unique<signal_reader>(workers_[0]->context(), [this](int signal) { on_signal(signal); });
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
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers_.size(); ++i) threads.emplace_back([w = workers_[i].get()] { w->run(); });
  workers_[0]->run();
  for (auto& t : threads) t.join();
  log::info("stopped");
}

void server::stop() {
  net::post(workers_[0]->context(), [this] { shutdown(); });
}

void server::shutdown() {
  if (stopping_.exchange(true)) return;
  if (signals_) signals_->stop();
  if (watcher_) watcher_->stop();
  listener_->stop();
  for (auto& w : workers_)
    w->execute([w = w.get()] { w->close_all(websocket::close_code::going_away, "server shutting down"); });
  shutdown_timer_ = std::make_unique<net::steady_timer>(workers_[0]->context());
  wait_for_sessions(std::chrono::steady_clock::now() + shutdown_grace);
}

void server::wait_for_sessions(std::chrono::steady_clock::time_point deadline) {
  if (counters.connections_open.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    shutdown_timer_->expires_after(std::chrono::milliseconds(10));
    shutdown_timer_->async_wait([this, deadline](error_code) { wait_for_sessions(deadline); });
    return;
  }
  for (const auto& p : table()->plugins()) p->stop();
  for (auto& w : workers_) w->stop();
}

std::string server::metrics() {
  worker_totals totals;
  for (auto& w : workers_) totals.add(w->traffic());
  if (workers_.size() == 1) {
    totals.rooms = workers_[0]->room_count();
  } else {  // a room with members on several threads counts once
    std::unordered_set<std::string> names;
    for (auto& w : workers_) w->add_room_names(names);
    totals.rooms = names.size();
  }
  return counters.render(totals);
}

worker& server::next_worker() { return *workers_[next_worker_++ % workers_.size()]; }

void server::decide_upgrade(ms_handshake& hs) {
  auto t = table();
  for (const auto& p : t->plugins())
    for (const auto& cb : p->regs().connect) {
      if (!check_plugin_result(cb.fn(cb.user, &hs), *p, "on_connect")) {
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
    log::debug("connection {}: not dispatched: {}", s.id(), why);
    t->for_each_hook(&registrations::error, [&](const auto& cb, plugin& p) {
      check_plugin_result(cb.fn(cb.user, s.id(), ms_str{why.data(), why.size()}), p, "on_error");
    });
    return;
  }
  const auto& message = std::get<envelope>(parsed);
  dispatch(*t, s.id(), message.event, message.payload);
}

void server::disconnected(ms_conn_id id, std::uint16_t code) {
  counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
  table()->for_each_hook(&registrations::disconnect, [&](const auto& cb, plugin& p) {
    check_plugin_result(cb.fn(cb.user, id, code), p, "on_disconnect");
  });
}

worker* server::worker_for(ms_conn_id id) {
  const unsigned index = worker::worker_of(id);
  return id != 0 && index < workers_.size() ? workers_[index].get() : nullptr;
}

std::shared_ptr<websocket_session> server::find_session(ms_conn_id id) {
  worker* w = worker_for(id);
  return w ? w->find_shared(id) : nullptr;
}

template <class Fn>
ms_status server::with_session(ms_conn_id id, Fn&& fn) {
  worker* w = worker_for(id);
  if (!w) return MS_GONE;
  if (w->on_this_thread()) {
    websocket_session* s = w->find(id);
    if (!s) return MS_GONE;
    fn(*s);
    return MS_OK;
  }
  if (!w->find_shared(id)) return MS_GONE;
  net::post(w->context(), [w, id, fn = std::forward<Fn>(fn)]() mutable {
    if (websocket_session* s = w->find(id)) fn(*s);
  });
  return MS_OK;
}

ms_status server::emit(ms_conn_id conn, std::string_view event, std::string_view payload, bool payload_is_json) {
  if (payload_is_json && !is_json(payload)) return MS_INVALID;
  auto rc = with_session(conn, [frame = make_event_frame(event, payload, payload_is_json)](
                                   websocket_session& s) { s.send(frame); });
  if (rc == MS_GONE) log::debug("emit '{}' to closed connection {} ignored", event, conn);
  return rc;
}

ms_status server::join(ms_conn_id conn, std::string_view room) {
  return with_session(conn, [w = worker_for(conn), room = std::string(room)](websocket_session& s) { w->join(s, room); });
}

ms_status server::leave(ms_conn_id conn, std::string_view room) {
  return with_session(conn, [w = worker_for(conn), room = std::string(room)](websocket_session& s) { w->leave(s, room); });
}

ms_status server::rooms(ms_conn_id conn, std::vector<std::string>& out) {
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  out = worker_for(conn)->rooms_of(*s);
  return MS_OK;
}

ms_status server::broadcast(ms_conn_id from, std::string_view event, std::string_view payload, bool payload_is_json,
                            std::vector<std::string> rooms, bool skip_self) {
  if (payload_is_json && !is_json(payload)) return MS_INVALID;
  auto job = std::make_shared<const fanout>(fanout{
      std::make_shared<const std::string>(make_event_frame(event, payload, payload_is_json)),
      std::move(rooms), skip_self ? from : 0});
  worker* here = worker::current();
  for (auto& w : workers_) {
    if (w.get() == here) w->deliver(*job);
    else if (here) here->forward(*w, job);
    else net::post(w->context(), [w = w.get(), job] { w->deliver(*job); });  // from a plugin's own thread
  }
  return MS_OK;
}

ms_status server::close(ms_conn_id conn, std::uint16_t code, std::string_view reason) {
  if (!valid_close_code(code)) return MS_INVALID;
  return with_session(conn, [code, reason = std::string(reason)](websocket_session& s) { s.close(code, reason); });
}

ms_status server::set_attribute(ms_conn_id conn, std::string_view key, std::string_view value) {
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  s->set_attribute(key, value);
  return MS_OK;
}

ms_status server::get_attribute(ms_conn_id conn, std::string_view key, std::string& out) {
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  auto value = s->attribute(key);
  if (!value) return MS_NOT_FOUND;
  out = std::move(*value);
  return MS_OK;
}

ms_status server::request(ms_conn_id conn, ms_request_field field, std::string_view key, std::string& out) {
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  auto value = s->request().field(field, key);
  if (!value) return MS_NOT_FOUND;
  out = std::move(*value);
  return MS_OK;
}

std::optional<std::string> server::setting(std::string_view plugin, std::string_view key) {
  if (auto it = opts_.settings.find(fmt::format("{}.{}", plugin, key)); it != opts_.settings.end())
    return it->second;
  if (const char* value = std::getenv(setting_variable(plugin, key).c_str())) return std::string(value);
  return std::nullopt;
}

}  // namespace microsockets
