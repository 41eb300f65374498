// microsockets plugin SDK: the C++ face of abi.h.
//
// Header-only, standard library only. A plugin is one translation unit like:
//
//   #include <microsockets/plugin.hpp>
//   MICROSOCKETS_PLUGIN(chat) {
//     app.on("hello", [](microsockets::socket& ws) { ws.emit("hi", ws.payload()); });
//   }
//
// Exceptions never cross into the host: every callback is wrapped, and a throw
// becomes MS_FAILED with its message, which the host logs and counts. Every
// call returns the status the host gave (see abi.h: a call queued to another
// thread returns status::ok meaning "accepted"). Handlers run on the host's
// threads, several at once with --threads > 1, and must not block.
#pragma once

#include <microsockets/abi.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace microsockets {

enum class status { ok = MS_OK, gone = MS_GONE, invalid = MS_INVALID, failed = MS_FAILED,
                    not_found = MS_NOT_FOUND, refused = MS_REFUSED };

enum class log_level { debug = MS_LOG_DEBUG, info = MS_LOG_INFO, warn = MS_LOG_WARN,
                       error = MS_LOG_ERROR };

namespace detail {

inline ms_str str(std::string_view s) noexcept { return {s.data(), s.size()}; }
inline std::string_view view(ms_str s) noexcept { return {s.data, s.size}; }

inline void assign_string(void* user, ms_str value) {
  static_cast<std::string*>(user)->assign(value.data, value.size);
}
inline void append_string(void* user, ms_str value) {
  static_cast<std::vector<std::string>*>(user)->emplace_back(value.data, value.size);
}

// The last entry of the host table this wrapper calls: a host whose table
// reaches it has every function used here (the table only grows at the end).
inline bool host_has_everything(const ms_host_api* api) noexcept { return MS_HAS(api, report_error); }

// Runs plugin code; a throw is reported to the host and becomes MS_FAILED.
template <class Fn>
int guarded(const ms_host_api* api, ms_host* host, Fn&& fn) noexcept {
  try {
    fn();
    return MS_OK;
  } catch (const std::exception& e) {
    api->report_error(host, str(e.what()));
  } catch (...) {
    api->report_error(host, str("unknown exception"));
  }
  return MS_FAILED;
}

// Calls a host function that fills a string through a sink.
template <class Call>
std::optional<std::string> read_string(Call&& call) {
  std::string out;
  if (call(&assign_string, &out) != MS_OK) return std::nullopt;
  return out;
}

}  // namespace detail

// A connection's rooms, in join order, and the status of asking: a list (use
// it as a range, e.g. in broadcast) that also says why it may be empty.
struct room_list : std::vector<std::string> {
  microsockets::status status = microsockets::status::ok;
};

// A copyable, thread-safe handle to one connection. Keep it, and emit, join,
// broadcast or close later from any thread; once the connection is gone every
// call does nothing and returns status::gone.
class connection {
 public:
  connection() = default;
  connection(const ms_host_api* api, ms_host* host, ms_conn_id id) noexcept
      : api_(api), host_(host), id_(id) {}

  ms_conn_id id() const noexcept { return id_; }
  explicit operator bool() const noexcept { return id_ != 0; }

  // Sends `payload` as a JSON string; status::gone if the connection is
  // gone or closing.
  status emit(std::string_view event, std::string_view payload = "") const {
    return status(api_->emit(host_, id_, detail::str(event), detail::str(payload), 0));
  }
  // Sends `json` as the payload's JSON value; status::invalid if it is not JSON.
  status emit_json(std::string_view event, std::string_view json) const {
    return status(api_->emit(host_, id_, detail::str(event), detail::str(json), 1));
  }

  // status::ok also when it was a member already.
  status join(std::string_view room) const { return status(api_->join(host_, id_, detail::str(room))); }
  // status::not_found when it was not a member.
  status leave(std::string_view room) const { return status(api_->leave(host_, id_, detail::str(room))); }
  // status::gone (and no rooms) once the connection is gone.
  room_list rooms() const {
    room_list out;
    out.status = status(api_->rooms(host_, id_, &detail::append_string, static_cast<std::vector<std::string>*>(&out)));
    return out;
  }

  // The members of `room` on every host of the cluster (this host's alone
  // without --redis), asked on behalf of this connection. Never blocks:
  // done(status, std::vector<connection>) runs later on this connection's
  // worker thread, with status::refused and no members when Redis cannot be
  // reached; it never runs if this plugin is reloaded meanwhile. Returns
  // status::refused at once from a host older than ABI 1.1.
  template <class Fn>
  status room_members(std::string_view room, Fn done) const {
    if (!MS_HAS(api_, room_members)) return status::refused;
    struct pending {
      const ms_host_api* api;
      ms_host* host;
      Fn done;
    };
    auto* p = new pending{api_, host_, std::move(done)};
    auto answer = [](void* user, int rc, const ms_conn_id* ids, size_t count) {
      std::unique_ptr<pending> owned(static_cast<pending*>(user));
      std::vector<connection> members;
      members.reserve(count);
      for (size_t i = 0; i < count; ++i) members.emplace_back(owned->api, owned->host, ids[i]);
      try {
        owned->done(status(rc), std::move(members));
      } catch (const std::exception& e) {
        owned->api->log(owned->host, MS_LOG_ERROR, detail::str(std::string("room_members answer threw: ") + e.what()));
      } catch (...) {
        owned->api->log(owned->host, MS_LOG_ERROR, detail::str("room_members answer threw"));
      }
    };
    const int rc = api_->room_members(host_, id_, detail::str(room), answer, p);
    if (rc != MS_OK) delete p;
    return status(rc);
  }

  // Sends to every member of `rooms`, each once; skips this connection unless
  // skip_self is false.
  status broadcast(std::string_view event, std::string_view payload,
                   std::initializer_list<std::string_view> rooms, bool skip_self = true) const {
    return broadcast_to(event, payload, 0, rooms.begin(), rooms.end(), skip_self);
  }
  template <class Rooms>
  status broadcast(std::string_view event, std::string_view payload, const Rooms& rooms,
                   bool skip_self = true) const {
    return broadcast_to(event, payload, 0, std::begin(rooms), std::end(rooms), skip_self);
  }
  template <class Rooms>
  status broadcast_json(std::string_view event, std::string_view json, const Rooms& rooms,
                        bool skip_self = true) const {
    return broadcast_to(event, json, 1, std::begin(rooms), std::end(rooms), skip_self);
  }

  status close(std::uint16_t code = 1000, std::string_view reason = "") const {
    return status(api_->close(host_, id_, code, detail::str(reason)));
  }

  // Per-connection attributes, kept by the host: they survive a plugin reload.
  status set(std::string_view key, std::string_view value) const {
    return status(api_->set_attribute(host_, id_, detail::str(key), detail::str(value)));
  }
  std::optional<std::string> get(std::string_view key) const {
    return detail::read_string([&](ms_str_sink sink, void* out) {
      return api_->get_attribute(host_, id_, detail::str(key), sink, out);
    });
  }

  // The upgrade request.
  std::string path() const { return request(MS_REQUEST_PATH, {}).value_or(""); }
  std::string remote() const { return request(MS_REQUEST_REMOTE, {}).value_or(""); }
  std::optional<std::string> query(std::string_view key) const { return request(MS_REQUEST_QUERY, key); }
  // Absent after the upgrade when every plugin has said which it reads and
  // none named this one (app::keep_headers).
  std::optional<std::string> header(std::string_view name) const { return request(MS_REQUEST_HEADER, name); }

 protected:
  const ms_host_api* api_ = nullptr;
  ms_host* host_ = nullptr;

 private:
  std::optional<std::string> request(ms_request_field field, std::string_view key) const {
    return detail::read_string([&](ms_str_sink sink, void* out) {
      return api_->request(host_, id_, field, detail::str(key), sink, out);
    });
  }

  template <class It>
  status broadcast_to(std::string_view event, std::string_view payload, int is_json, It first,
                      It last, bool skip_self) const {
    std::vector<ms_str> names;
    for (; first != last; ++first) names.push_back(detail::str(std::string_view(*first)));
    return status(api_->broadcast(host_, id_, detail::str(event), detail::str(payload), is_json,
                                  names.data(), names.size(), skip_self ? 1 : 0));
  }

  ms_conn_id id_ = 0;
};

// The connection whose event is being handled, with that event. Valid only
// inside the handler or middleware; copy handle() to keep the connection.
class socket : public connection {
 public:
  socket(const ms_host_api* api, ms_host* host, ms_call* call) noexcept
      : connection(api, host, api->call_connection(call)), call_(call) {}

  std::string_view event() const noexcept { return detail::view(api_->call_event(call_)); }
  std::string_view payload() const noexcept { return detail::view(api_->call_payload(call_)); }
  // For middleware: what the next middleware and the handler will see.
  status set_payload(std::string_view payload) const {
    return status(api_->call_set_payload(call_, detail::str(payload)));
  }
  connection handle() const noexcept { return *this; }

 private:
  friend class next;
  ms_call* call_;
};

// Given to middleware: calling it runs the rest of the chain and the handler.
// Not calling it stops the event; calling it twice does nothing the second time.
class next {
 public:
  explicit next(const socket& ws) noexcept : ws_(ws) {}
  status operator()() const { return status(ws_.api_->call_next(ws_.call_)); }

 private:
  const socket& ws_;
};

// An upgrade request being decided by on_connect.
class handshake {
 public:
  handshake(const ms_host_api* api, ms_host* host, ms_handshake* hs) noexcept
      : api_(api), host_(host), hs_(hs) {}

  std::string path() const { return request(MS_REQUEST_PATH, {}).value_or(""); }
  std::string remote() const { return request(MS_REQUEST_REMOTE, {}).value_or(""); }
  std::optional<std::string> query(std::string_view key) const { return request(MS_REQUEST_QUERY, key); }
  std::optional<std::string> header(std::string_view name) const { return request(MS_REQUEST_HEADER, name); }

  // Refuses the upgrade: the client gets this HTTP status and reason;
  // status::invalid unless 400 <= http_status <= 599.
  status reject(std::uint16_t http_status, std::string_view reason) const {
    return status(api_->handshake_reject(hs_, http_status, detail::str(reason)));
  }
  // A response header; status::invalid for a name that is not an HTTP token
  // or a value holding CR, LF or NUL.
  status set_header(std::string_view name, std::string_view value) const {
    return status(api_->handshake_set_header(hs_, detail::str(name), detail::str(value)));
  }
  // One of the protocols the client offered in Sec-WebSocket-Protocol.
  status select_protocol(std::string_view protocol) const {
    return status(api_->handshake_select_protocol(hs_, detail::str(protocol)));
  }
  // An attribute the connection will carry once accepted.
  status set(std::string_view key, std::string_view value) const {
    return status(api_->handshake_set_attribute(hs_, detail::str(key), detail::str(value)));
  }

 private:
  std::optional<std::string> request(ms_request_field field, std::string_view key) const {
    return detail::read_string([&](ms_str_sink sink, void* out) {
      return api_->handshake_request(hs_, field, detail::str(key), sink, out);
    });
  }

  const ms_host_api* api_;
  ms_host* host_;
  ms_handshake* hs_;
};

using handler = std::function<void(socket&)>;
using middleware = std::function<void(socket&, next&)>;

// What a plugin registers, inside MICROSOCKETS_PLUGIN's body. Registration
// errors (an event registered twice, registering after init) throw, which
// makes the host refuse the plugin with that message.
class app {
 public:
  void bind(const ms_host_api* api, ms_host* host) noexcept { api_ = api; host_ = host; }

  void on(std::string_view event, handler fn) {
    auto* kept = keep(std::move(fn));
    check(api_->register_event(host_, detail::str(event), &app::run_handler, kept), "on", event);
  }
  // Handles events that no plugin has a handler for.
  void fallback(handler fn) {
    check(api_->register_fallback(host_, &app::run_handler, keep(std::move(fn))), "fallback", "");
  }
  // Middleware around every handler, in plugin load order, then registration order.
  void before_on(middleware fn) {
    check(api_->register_middleware(host_, &app::run_middleware, keep(std::move(fn))), "before_on", "");
  }

  void on_startup(std::function<void()> fn) {
    check(api_->register_startup(host_, &app::run_lifecycle, keep(std::move(fn))), "on_startup", "");
  }
  void on_shutdown(std::function<void()> fn) {
    check(api_->register_shutdown(host_, &app::run_lifecycle, keep(std::move(fn))), "on_shutdown", "");
  }
  void on_connect(std::function<void(handshake&)> fn) {
    check(api_->register_connect(host_, &app::run_connect, keep(std::move(fn))), "on_connect", "");
  }
  void on_disconnect(std::function<void(connection, std::uint16_t close_code)> fn) {
    check(api_->register_disconnect(host_, &app::run_disconnect, keep(std::move(fn))), "on_disconnect", "");
  }
  // A message that was not dispatched: not JSON, not an object, no string event.
  void on_error(std::function<void(connection, std::string_view reason)> fn) {
    check(api_->register_error(host_, &app::run_error, keep(std::move(fn))), "on_error", "");
  }
  // Hot reload: `save` runs in the old version, `restore` in the new one with
  // what `save` returned.
  void on_reload(std::function<std::string()> save, std::function<void(std::string_view)> restore) {
    auto* kept = keep(reload_hooks{std::move(save), std::move(restore)});
    check(api_->register_state(host_, &app::run_save, &app::run_restore, kept), "on_reload", "");
  }

  // The request headers this plugin reads after the upgrade (socket::header,
  // connection::header); `keep_headers({})` for none. Until every plugin
  // loaded has said which it reads, each connection keeps every header of its
  // upgrade for its whole life; once all have, it keeps only those named (an
  // idle connection is that much smaller), and the others read as absent.
  // on_connect sees every header either way. A host older than ABI 1.2 keeps
  // them all and ignores this.
  void keep_headers(std::initializer_list<std::string_view> names) {
    if (!MS_HAS(api_, register_kept_headers)) return;
    std::vector<ms_str> strs;
    for (auto name : names) strs.push_back(detail::str(name));
    check(api_->register_kept_headers(host_, strs.data(), strs.size()), "keep_headers", "");
  }

  // A setting: `--set <plugin>.<key>=value` or MICROSOCKETS_<PLUGIN>_<KEY>.
  std::optional<std::string> config(std::string_view key) const {
    return detail::read_string([&](ms_str_sink sink, void* out) {
      return api_->config(host_, detail::str(key), sink, out);
    });
  }

  // A handle to any connection by id, e.g. one remembered from on_disconnect.
  connection connection_of(ms_conn_id id) const noexcept { return {api_, host_, id}; }

  void log(log_level level, std::string_view message) const {
    api_->log(host_, int(level), detail::str(message));
  }

 private:
  struct reload_hooks {
    std::function<std::string()> save;
    std::function<void(std::string_view)> restore;
  };
  template <class Fn>
  struct bound {
    app* owner;
    Fn fn;
  };

  template <class Fn>
  bound<Fn>* keep(Fn fn) {
    auto kept = std::make_shared<bound<Fn>>(bound<Fn>{this, std::move(fn)});
    kept_.push_back(kept);
    return kept.get();
  }

  static void check(int rc, std::string_view what, std::string_view event) {
    if (rc == MS_OK) return;
    std::string message(what);
    if (!event.empty()) message.append(" \"").append(event).append("\"");
    message.append(rc == MS_REFUSED ? ": registration is only allowed during init"
                                    : ": the host refused this registration");
    throw std::runtime_error(message);
  }

  template <class Fn>
  static int run(void* user, auto&& body) noexcept {
    auto* b = static_cast<bound<Fn>*>(user);
    return detail::guarded(b->owner->api_, b->owner->host_, [&] { body(*b); });
  }
  static int run_handler(void* user, ms_call* call) noexcept {
    return run<handler>(user, [call](auto& b) {
      socket ws(b.owner->api_, b.owner->host_, call);
      b.fn(ws);
    });
  }
  static int run_middleware(void* user, ms_call* call) noexcept {
    return run<middleware>(user, [call](auto& b) {
      socket ws(b.owner->api_, b.owner->host_, call);
      next n(ws);
      b.fn(ws, n);
    });
  }
  static int run_lifecycle(void* user) noexcept {
    return run<std::function<void()>>(user, [](auto& b) { b.fn(); });
  }
  static int run_connect(void* user, ms_handshake* hs) noexcept {
    return run<std::function<void(handshake&)>>(user, [hs](auto& b) {
      handshake h(b.owner->api_, b.owner->host_, hs);
      b.fn(h);
    });
  }
  static int run_disconnect(void* user, ms_conn_id id, std::uint16_t code) noexcept {
    return run<std::function<void(connection, std::uint16_t)>>(user, [id, code](auto& b) {
      b.fn(b.owner->connection_of(id), code);
    });
  }
  static int run_error(void* user, ms_conn_id id, ms_str reason) noexcept {
    return run<std::function<void(connection, std::string_view)>>(user, [id, reason](auto& b) {
      b.fn(b.owner->connection_of(id), detail::view(reason));
    });
  }
  static int run_save(void* user, ms_str_sink sink, void* sink_user) noexcept {
    return run<reload_hooks>(user, [=](auto& b) {
      if (!b.fn.save) return;
      std::string blob = b.fn.save();
      sink(sink_user, detail::str(blob));
    });
  }
  static int run_restore(void* user, ms_str blob) noexcept {
    return run<reload_hooks>(user, [blob](auto& b) {
      if (b.fn.restore) b.fn.restore(detail::view(blob));
    });
  }

  const ms_host_api* api_ = nullptr;
  ms_host* host_ = nullptr;
  std::vector<std::shared_ptr<void>> kept_;
};

namespace detail {

inline int init(app& the_app, const ms_host_api* api, ms_host* host, std::string_view name,
                void (*setup)(app&)) noexcept {
  if (!host_has_everything(api)) return MS_REFUSED;  // an older host: report_error may be missing too
  the_app.bind(api, host);
  return guarded(api, host, [&] {
    if (api->register_name(host, str(name)) != MS_OK) throw std::runtime_error("name refused");
    setup(the_app);
  });
}

}  // namespace detail
}  // namespace microsockets

#define MICROSOCKETS_EXPORT extern "C" __attribute__((visibility("default")))

// Defines a plugin named `name`; the braces that follow are its setup, with
// `app` in scope. The app lives as long as the library stays loaded.
#define MICROSOCKETS_PLUGIN(name)                                                        \
  static void microsockets_plugin_setup(::microsockets::app& app);                       \
  static ::microsockets::app microsockets_plugin_app;                                    \
  MICROSOCKETS_EXPORT const std::uint32_t microsockets_abi_version = MS_ABI_VERSION;     \
  MICROSOCKETS_EXPORT int microsockets_plugin_init(const ms_host_api* api, ms_host* host) { \
    return ::microsockets::detail::init(microsockets_plugin_app, api, host, #name,      \
                                        &microsockets_plugin_setup);                     \
  }                                                                                      \
  static void microsockets_plugin_setup([[maybe_unused]] ::microsockets::app& app)
