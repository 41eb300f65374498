// What plugins can ask of the host, behind the C table of host_api. The server
// implements it; every function is thread-safe.
#pragma once

#include <microsockets/abi.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

class plugin;

class host_services {
 public:
  virtual ~host_services() = default;

  virtual ms_status emit(ms_conn_id conn, std::string_view event, std::string_view payload,
                         bool payload_is_json) = 0;
  virtual ms_status join(ms_conn_id conn, std::string_view room) = 0;
  virtual ms_status leave(ms_conn_id conn, std::string_view room) = 0;
  virtual ms_status rooms(ms_conn_id conn, std::vector<std::string>& out) = 0;
  virtual ms_status broadcast(ms_conn_id from, std::string_view event, std::string_view payload,
                              bool payload_is_json, std::vector<std::string> rooms,
                              bool skip_self) = 0;
  virtual ms_status close(ms_conn_id conn, std::uint16_t code, std::string_view reason) = 0;
  virtual ms_status set_attribute(ms_conn_id conn, std::string_view key, std::string_view value) = 0;
  virtual ms_status get_attribute(ms_conn_id conn, std::string_view key, std::string& out) = 0;
  virtual ms_status request(ms_conn_id conn, ms_request_field field, std::string_view key,
                            std::string& out) = 0;
  // The members of `room` on every host (this host's alone without --redis).
  // Returns at once; `answer` runs later on the worker of `conn` (worker 0 for
  // a connection of another host or none), unless `asker` was reloaded meanwhile.
  using members_answer = std::function<void(ms_status, const std::vector<ms_conn_id>&)>;
  virtual ms_status room_members(const plugin* asker, ms_conn_id conn, std::string_view room,
                                 members_answer answer) = 0;
  // A plugin setting: --set plugin.key=value, else MICROSOCKETS_<PLUGIN>_<KEY>.
  virtual std::optional<std::string> setting(std::string_view plugin, std::string_view key) = 0;
};

}  // namespace microsockets
