#include "plugins/host_api.hpp"

#include "base/log.hpp"
#include "base/log_limiter.hpp"
#include "base/stats.hpp"
#include "http/handshake.hpp"
#include "plugins/dispatcher.hpp"
#include "plugins/plugin_result.hpp"

#include <boost/algorithm/string/case_conv.hpp>

#include <algorithm>
#include <cctype>

namespace microsockets {
namespace {

std::string_view view(ms_str s) { return {s.data, s.size}; }
ms_str str(std::string_view s) { return {s.data(), s.size()}; }

// Registration is open only while the plugin's init runs.
template <class Fn>
int add(ms_host* h, Fn&& fn) {
  if (!h->plugin->registering()) return MS_REFUSED;
  fn(h->plugin->mutable_regs());
  return MS_OK;
}

host_services* services(ms_host* h) { return h->plugin->host(); }

// RFC 9110 5.1 and 5.5: a name is a token; a value holds no CR, LF or NUL
// (which would let a plugin's input split the response).
bool is_header_name(std::string_view name) {
  constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || specials.find(c) != std::string_view::npos;
  });
}
bool is_header_value(std::string_view value) { return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

int send_string(ms_status rc, const std::string& value, ms_str_sink sink, void* user) {
  if (rc == MS_OK) sink(user, str(value));
  return rc;
}

const ms_host_api table = {
    .abi_version = MS_ABI_VERSION,
    .size = sizeof(ms_host_api),

    // registration
    .register_name = [](ms_host* h, ms_str name) { return add(h, [&](registrations&) { h->plugin->set_name(std::string(view(name))); }); },
    .register_event = [](ms_host* h, ms_str event, ms_on_event fn, void* user) {
      if (!h->plugin->registering()) return int(MS_REFUSED);
      auto& events = h->plugin->mutable_regs().events;
      for (const auto& e : events)
        if (e.first == view(event)) return int(MS_INVALID);  // twice in one plugin
      events.emplace_back(std::string(view(event)), callback<ms_on_event>{fn, user});
      return int(MS_OK);
    },
    .register_fallback = [](ms_host* h, ms_on_event fn, void* user) {
      if (h->plugin->regs().fallback) return int(MS_INVALID);
      return add(h, [&](registrations& r) { r.fallback = callback<ms_on_event>{fn, user}; });
    },
    .register_middleware = [](ms_host* h, ms_on_middleware fn, void* user) { return add(h, [&](registrations& r) { r.middleware.push_back({fn, user}); }); },
    .register_startup = [](ms_host* h, ms_on_lifecycle fn, void* user) { return add(h, [&](registrations& r) { r.startup.push_back({fn, user}); }); },
    .register_shutdown = [](ms_host* h, ms_on_lifecycle fn, void* user) { return add(h, [&](registrations& r) { r.shutdown.push_back({fn, user}); }); },
    .register_connect = [](ms_host* h, ms_on_connect fn, void* user) { return add(h, [&](registrations& r) { r.connect.push_back({fn, user}); }); },
    .register_disconnect = [](ms_host* h, ms_on_disconnect fn, void* user) { return add(h, [&](registrations& r) { r.disconnect.push_back({fn, user}); }); },
    .register_error = [](ms_host* h, ms_on_error fn, void* user) { return add(h, [&](registrations& r) { r.error.push_back({fn, user}); }); },
    .register_state = [](ms_host* h, ms_on_save_state save, ms_on_restore_state restore, void* user) {
      return add(h, [&](registrations& r) { r.state = state_hooks{save, restore, user}; });
    },

    // the event being handled
    .call_connection = [](ms_call* c) { return c->conn; },
    .call_event = [](ms_call* c) { return str(c->event); },
    .call_payload = [](ms_call* c) { return str(c->payload); },
    .call_set_payload = [](ms_call* c, ms_str payload) {
      c->payload_storage.assign(payload.data, payload.size);
      c->payload = c->payload_storage;
      return int(MS_OK);
    },
    .call_next = [](ms_call* c) { return dispatch_next(c); },

    // the upgrade being decided
    .handshake_request = [](ms_handshake* hs, ms_request_field field, ms_str key, ms_str_sink sink, void* user) {
      auto value = hs->request->field(field, view(key));
      if (!value) return int(MS_NOT_FOUND);
      return send_string(MS_OK, *value, sink, user);
    },
    .handshake_reject = [](ms_handshake* hs, uint16_t status, ms_str reason) {
      if (status < 400 || status > 599) return int(MS_INVALID);
      hs->reject_status = status;
      hs->reject_reason = view(reason);
      return int(MS_OK);
    },
    .handshake_set_header = [](ms_handshake* hs, ms_str name, ms_str value) {
      if (!is_header_name(view(name)) || !is_header_value(view(value))) return int(MS_INVALID);
      hs->response_headers.emplace_back(view(name), view(value));
      return int(MS_OK);
    },
    .handshake_select_protocol = [](ms_handshake* hs, ms_str protocol) {
      // Only a protocol the client offered may be chosen (RFC 6455 4.2.2).
      auto offered = hs->request->field(MS_REQUEST_HEADER, "sec-websocket-protocol").value_or("");
      std::string_view rest = offered;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item == view(protocol)) {
          hs->protocol = item;
          return int(MS_OK);
        }
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
      return int(MS_INVALID);
    },
    .handshake_set_attribute = [](ms_handshake* hs, ms_str key, ms_str value) {
      hs->attributes.insert_or_assign(std::string(view(key)), std::string(view(value)));
      return int(MS_OK);
    },

    // connections
    .emit = [](ms_host* h, ms_conn_id c, ms_str event, ms_str payload, int is_json) {
      return int(services(h)->emit(c, view(event), view(payload), is_json != 0));
    },
    .join = [](ms_host* h, ms_conn_id c, ms_str room) { return int(services(h)->join(c, view(room))); },
    .leave = [](ms_host* h, ms_conn_id c, ms_str room) { return int(services(h)->leave(c, view(room))); },
    .rooms = [](ms_host* h, ms_conn_id c, ms_str_sink sink, void* user) {
      std::vector<std::string> rooms;
      auto rc = services(h)->rooms(c, rooms);
      for (const auto& r : rooms) sink(user, str(r));
      return int(rc);
    },
    .broadcast = [](ms_host* h, ms_conn_id from, ms_str event, ms_str payload, int is_json, const ms_str* rooms,
       size_t count, int skip_self) {
      std::vector<std::string> names;
      names.reserve(count);
      for (size_t i = 0; i < count; ++i) names.emplace_back(view(rooms[i]));
      return int(services(h)->broadcast(from, view(event), view(payload), is_json != 0,
                                        std::move(names), skip_self != 0));
    },
    .close = [](ms_host* h, ms_conn_id c, uint16_t code, ms_str reason) {
      return int(services(h)->close(c, code, view(reason)));
    },
    .set_attribute = [](ms_host* h, ms_conn_id c, ms_str key, ms_str value) {
      return int(services(h)->set_attribute(c, view(key), view(value)));
    },
    .get_attribute = [](ms_host* h, ms_conn_id c, ms_str key, ms_str_sink sink, void* user) {
      std::string value;
      return send_string(services(h)->get_attribute(c, view(key), value), value, sink, user);
    },
    .request = [](ms_host* h, ms_conn_id c, ms_request_field field, ms_str key, ms_str_sink sink, void* user) {
      std::string value;
      return send_string(services(h)->request(c, field, view(key), value), value, sink, user);
    },

    // the host
    .log = [](ms_host* h, int level, ms_str message) {
      level = std::clamp(level, int(MS_LOG_DEBUG), int(MS_LOG_ERROR));
      if (log::enabled(log::level(level)))
        log::write(log::level(level), view(message), h->plugin->name());
    },
    .config = [](ms_host* h, ms_str key, ms_str_sink sink, void* user) {
      auto value = services(h) ? services(h)->setting(h->plugin->name(), view(key)) : std::nullopt;
      if (!value) return int(MS_NOT_FOUND);
      return send_string(MS_OK, *value, sink, user);
    },
    .report_error = [](ms_host*, ms_str message) { report_error(view(message)); },

    // minor 1: membership across the cluster
    .room_members =
        [](ms_host* h, ms_conn_id c, ms_str room, ms_on_members done, void* user) {
          if (!done) return int(MS_INVALID);
          return int(services(h)->room_members(h->plugin, c, view(room),
                                               [p = h->plugin, done, user](ms_status rc, const std::vector<ms_conn_id>& ids) {
                                                 plugin_call running(*p, "room_members answer");
                                                 done(user, int(rc), ids.data(), ids.size());
                                               }));
        },

    // minor 2: request headers kept after the upgrade
    .register_kept_headers =
        [](ms_host* h, const ms_str* names, size_t count) {
          if (count && !names) return int(MS_INVALID);
          return add(h, [&](registrations& r) {
            if (!r.kept_headers) r.kept_headers.emplace();
            auto& kept = *r.kept_headers;
            for (size_t i = 0; i < count; ++i) kept.push_back(boost::algorithm::to_lower_copy(std::string(view(names[i]))));
          });
        },
};

}  // namespace

const ms_host_api& host_api_table() { return table; }

}  // namespace microsockets
