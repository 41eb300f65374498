#include "core/event_dispatch.hpp"

#include "base/log.hpp"
#include "base/log_limiter.hpp"
#include "base/stats.hpp"
#include "http/handshake.hpp"
#include "plugins/dispatcher.hpp"
#include "plugins/plugin_activity.hpp"
#include "plugins/plugin_result.hpp"
#include "websocket/envelope.hpp"
#include "websocket/websocket_session.hpp"

namespace microsockets {

void event_dispatch::decide_upgrade(ms_handshake& hs) {
  auto t = table_.load();
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

void event_dispatch::keep_headers(request_info& info) {
  auto t = table_.load();
  if (const auto& kept = t->kept_headers()) info.keep_only_headers(*kept);
}

void event_dispatch::connected(websocket_session& s) {
  counters.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  counters.connections_open.fetch_add(1, std::memory_order_relaxed);
  log::debug("connection {} from {} on {}", s.id(), s.request().remote(), s.request().path());
}

void event_dispatch::received(websocket_session& s, std::string_view text) {
  auto t = table_.load();  // this generation serves the whole event
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

void event_dispatch::disconnected(ms_conn_id id, std::uint16_t code) {
  // connections_open drops when the session closes its fd.
  connections_.bus().gone(id);
  table_.load()->for_each_hook(&registrations::disconnect, [&](const auto& cb, plugin& p) {
    int rc;
    {
      plugin_call running(p, "on_disconnect");
      rc = cb.fn(cb.user, id, code);
    }
    check_plugin_result(rc, p, "on_disconnect");
  });
}

}  // namespace microsockets
