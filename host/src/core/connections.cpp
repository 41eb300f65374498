#include "core/connections.hpp"

#include "base/log.hpp"
#include "base/log_limiter.hpp"
#include "plugins/plugin_settings.hpp"
#include "websocket/close_code.hpp"
#include "websocket/envelope.hpp"
#include "websocket/websocket_session.hpp"

#include <algorithm>
#include <cstdlib>

namespace microsockets {

connections::connections(const std::vector<std::unique_ptr<worker>>& workers, std::uint32_t host_id,
                         const live_table& table, connection_limits limits, std::map<std::string, std::string> settings)
    : workers_(workers),
      host_id_(host_id),
      table_(table),
      limits_(limits),
      settings_(std::move(settings)),
      local_(workers) {}

worker* connections::worker_for(ms_conn_id id) const {
  const unsigned index = connection_id::worker_of(id);
  return id != 0 && index < workers_.size() && connection_id::host_of(id) == host_id_ ? workers_[index].get()
                                                                                      : nullptr;
}

std::shared_ptr<websocket_session> connections::find_session(ms_conn_id id) const {
  worker* w = worker_for(id);
  return w ? w->find_shared(id) : nullptr;
}

template <class Fn>
ms_status connections::on_connection(ms_conn_id id, Fn&& fn) {
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

ms_status connections::emit(ms_conn_id conn, std::string_view event, std::string_view payload, bool payload_is_json) {
  if (payload_is_json && !is_json(payload)) return MS_INVALID;
  if (bus_->is_remote(conn)) return bus_->emit(conn, event, payload, payload_is_json), MS_OK;
  auto rc = on_connection(conn, [frame = make_event_frame(event, payload, payload_is_json)](websocket_session& s) {
    return s.send(frame) ? MS_OK : MS_GONE;
  });
  if (rc == MS_GONE) log::debug("emit '{}' to closed connection {} ignored", event, conn);
  return rc;
}

ms_status connections::join(ms_conn_id conn, std::string_view room) {
  if (bus_->is_remote(conn)) return bus_->join(conn, room), MS_OK;  // its own host checks the limits
  if (auto refused = check_join(conn, room)) return *refused;
  return on_connection(conn, [this, w = worker_for(conn), room = std::string(room)](websocket_session& s) {
    if (w->join(s, room)) bus_->joined(s.id(), room);  // already a member: still MS_OK, it is one
    return MS_OK;
  });
}

std::optional<ms_status> connections::check_join(ms_conn_id conn, std::string_view room) {
  static log_limiter lines;
  auto refuse = [&](std::string_view why) {
    counters.rooms_refused.fetch_add(1, std::memory_order_relaxed);
    if (auto n = lines.allow())
      log::info("connection {}: join refused: {}{}", conn, why, log_limiter::suppressed_note(*n));
    return MS_REFUSED;
  };
  if (room.size() > limits_.max_room_name_bytes)
    return refuse(fmt::format("room name of {} bytes (limit {})", room.size(), limits_.max_room_name_bytes));
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  // From another thread the count may be a join or two behind: a bound, not an exact quota.
  if (auto why = worker_for(conn)->join_refusal(*s, room, limits_.max_rooms_per_connection,
                                                limits_.max_room_names_bytes))
    return refuse(*why);
  return std::nullopt;
}

ms_status connections::leave(ms_conn_id conn, std::string_view room) {
  if (bus_->is_remote(conn)) return bus_->leave(conn, room), MS_OK;
  return on_connection(conn, [this, w = worker_for(conn), room = std::string(room)](websocket_session& s) {
    if (!w->leave(s, room)) return MS_NOT_FOUND;
    bus_->left(s.id(), room);
    return MS_OK;
  });
}

ms_status connections::rooms(ms_conn_id conn, std::vector<std::string>& out) {
  if (bus_->is_remote(conn)) return MS_NOT_FOUND;
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  if (auto state = s->state()) out = state->rooms;
  return MS_OK;
}

ms_status connections::broadcast(ms_conn_id from, std::string_view event, std::string_view payload,
                                 bool payload_is_json, std::vector<std::string> rooms, bool skip_self) {
  if (payload_is_json && !is_json(payload)) return MS_INVALID;
  if (rooms.size() > limits_.max_broadcast_rooms) {
    counters.broadcasts_refused.fetch_add(1, std::memory_order_relaxed);
    static log_limiter lines;
    if (auto n = lines.allow())
      log::info("broadcast '{}' to {} rooms refused (limit {}){}", event, rooms.size(), limits_.max_broadcast_rooms,
                log_limiter::suppressed_note(*n));
    return MS_REFUSED;
  }
  auto job = std::make_shared<const fanout>(fanout{
      std::make_shared<const std::string>(make_event_frame(event, payload, payload_is_json)),
      std::move(rooms), skip_self ? from : 0});
  bus_->published(job, event, payload, payload_is_json);
  deliver_locally(std::move(job));
  return MS_OK;
}

void connections::deliver_locally(std::shared_ptr<const fanout> job) {
  for (auto& w : workers_) w->execute([w = w.get(), job] { w->deliver(*job); });
}

ms_status connections::close(ms_conn_id conn, std::uint16_t code, std::string_view reason) {
  if (!valid_close_code(code)) return MS_INVALID;
  if (bus_->is_remote(conn)) return bus_->close(conn, code, reason), MS_OK;
  return on_connection(conn, [code, reason = std::string(reason)](websocket_session& s) {
    return s.close(code, reason) ? MS_OK : MS_GONE;
  });
}

ms_status connections::set_attribute(ms_conn_id conn, std::string_view key, std::string_view value) {
  if (bus_->is_remote(conn)) return MS_NOT_FOUND;  // a connection's data stays on its host
  return on_connection(conn, [key = std::string(key), value = std::string(value)](websocket_session& s) {
    s.set_attribute(key, value);
    return MS_OK;
  });
}

ms_status connections::get_attribute(ms_conn_id conn, std::string_view key, std::string& out) {
  if (bus_->is_remote(conn)) return MS_NOT_FOUND;  // a connection's data stays on its host
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  auto state = s->state();
  if (!state) return MS_NOT_FOUND;
  auto it = state->attributes.find(key);
  if (it == state->attributes.end()) return MS_NOT_FOUND;
  out = it->second;
  return MS_OK;
}

ms_status connections::request(ms_conn_id conn, ms_request_field field, std::string_view key, std::string& out) {
  if (bus_->is_remote(conn)) return MS_NOT_FOUND;  // a connection's data stays on its host
  auto s = find_session(conn);
  if (!s) return MS_GONE;
  auto value = s->request().field(field, key);
  if (!value) return MS_NOT_FOUND;
  out = std::move(*value);
  return MS_OK;
}

ms_status connections::room_members(const plugin* asker, ms_conn_id conn, std::string_view room,
                                    members_answer answer) {
  std::weak_ptr<plugin> owner;  // weak: the answer must not keep an old library loaded
  for (const auto& p : table_.load()->plugins())
    if (p.get() == asker) owner = p;
  worker* reply_on = worker_for(conn);
  if (!reply_on) reply_on = workers_[0].get();
  bus_->members(std::string(room), [this, owner, reply_on, answer = std::move(answer)](ms_status rc,
                                                                                      std::vector<ms_conn_id> ids) {
    net::post(reply_on->context(), [this, owner, answer, rc, ids = std::move(ids)] {
      auto p = owner.lock();
      auto t = table_.load();
      if (!p || std::find(t->plugins().begin(), t->plugins().end(), p) == t->plugins().end()) return;  // reloaded
      answer(rc, ids);
    });
  });
  return MS_OK;
}

std::optional<std::string> connections::setting(std::string_view plugin, std::string_view key) {
  if (auto it = settings_.find(fmt::format("{}.{}", plugin, key)); it != settings_.end()) return it->second;
  if (const char* value = std::getenv(setting_variable(plugin, key).c_str())) return std::string(value);
  return std::nullopt;
}

}  // namespace microsockets
