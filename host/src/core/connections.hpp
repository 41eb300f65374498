// The operations plugins call on connections and rooms (host_services: emit,
// join, leave, broadcast, close, attributes, room members, settings), on top
// of the workers. A call reaches a connection's worker through its door
// (worker::execute), or, for a connection of another host, the backplane;
// every membership change and broadcast is told to the backplane too.
#pragma once

#include "core/backplane.hpp"
#include "core/local_backplane.hpp"
#include "core/worker.hpp"
#include "plugins/host_services.hpp"
#include "plugins/live_table.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace microsockets {

class websocket_session;

// The limits of the operations (see options.hpp for each one's why).
struct connection_limits {
  std::size_t max_room_name_bytes = 256;
  std::size_t max_rooms_per_connection = 0;
  std::size_t max_room_names_bytes = 16 * 1024;
  std::size_t max_broadcast_rooms = 1000;
};

class connections final : public host_services {
 public:
  // `settings`: --set plugin.key=value.
  connections(const std::vector<std::unique_ptr<worker>>& workers, std::uint32_t host_id, const live_table& table,
              connection_limits limits, std::map<std::string, std::string> settings);

  // The backplane every operation tells; the local one until the host has another.
  void use(backplane& bus) { bus_ = &bus; }
  backplane& bus() const { return *bus_; }

  // Hands a broadcast to the members of its rooms on every worker of this
  // host, through each worker's door, so it keeps its place among the calling
  // thread's other calls. Any thread.
  void deliver_locally(std::shared_ptr<const fanout> job);

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
  // A plugin's write on a connection, through its worker's door: fn(session)
  // -> ms_status runs now on the connection's thread and its status is the
  // call's; from elsewhere it is queued, and the call returns MS_OK (accepted)
  // unless the connection is already gone.
  template <class Fn>
  ms_status on_connection(ms_conn_id id, Fn&& fn);
  worker* worker_for(ms_conn_id id) const;
  // The connection, from any thread, for reads of what it published; null once it is gone.
  std::shared_ptr<websocket_session> find_session(ms_conn_id id) const;
  // MS_REFUSED past --max-room-name or the per-connection room limits (counted).
  std::optional<ms_status> check_join(ms_conn_id conn, std::string_view room);

  const std::vector<std::unique_ptr<worker>>& workers_;
  const std::uint32_t host_id_;
  const live_table& table_;
  const connection_limits limits_;
  const std::map<std::string, std::string> settings_;
  local_backplane local_;
  backplane* bus_ = &local_;
};

}  // namespace microsockets
