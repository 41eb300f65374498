// The connections' events, turned into plugin calls: the on_connect hooks
// decide an upgrade, each text message is parsed and dispatched through the
// middleware chain to its handler (a malformed one goes to on_error), and a
// disconnect runs on_disconnect after the backplane forgets the connection.
// Runs on the connection's worker thread.
#pragma once

#include "core/connections.hpp"
#include "http/http_context.hpp"
#include "plugins/live_table.hpp"

namespace microsockets {

class event_dispatch final : public upgrade_events {
 public:
  event_dispatch(const live_table& table, connections& ops) : table_(table), connections_(ops) {}

  void decide_upgrade(ms_handshake& hs) override;
  void keep_headers(request_info& info) override;
  void connected(websocket_session& s) override;
  void received(websocket_session& s, std::string_view text) override;
  void disconnected(ms_conn_id id, std::uint16_t code) override;

 private:
  const live_table& table_;
  connections& connections_;
};

}  // namespace microsockets
