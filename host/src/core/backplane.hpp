// What connects this host's rooms and connections with other hosts'. The
// operations on connections and rooms (core/connections) tell it every
// membership change and broadcast, and hand it every call on a connection
// that lives on another host; they never ask whether there is one. Alone, a
// host has the local backplane (core/local_backplane.hpp): no other host,
// and room members are this host's. cluster/redis_bus shares rooms through
// Redis.
#pragma once

#include "core/worker.hpp"

#include <microsockets/abi.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

class backplane {
 public:
  virtual ~backplane() = default;

  virtual void start() {}
  virtual void stop() {}  // on worker 0's thread, at shutdown

  // A connection id of another host: calls on it go through here.
  virtual bool is_remote(ms_conn_id conn) const = 0;

  // This host's memberships and broadcasts, any thread, in the order they
  // happen on each thread.
  virtual void joined(ms_conn_id conn, std::string_view room) = 0;
  virtual void left(ms_conn_id conn, std::string_view room) = 0;
  virtual void gone(ms_conn_id conn) = 0;  // disconnected: left all its rooms
  virtual void published(std::shared_ptr<const fanout> job, std::string_view event, std::string_view payload,
                         bool is_json) = 0;

  // Calls on a connection of another host (is_remote), carried in the order made.
  virtual void emit(ms_conn_id conn, std::string_view event, std::string_view payload, bool is_json) = 0;
  virtual void close(ms_conn_id conn, std::uint16_t code, std::string_view reason) = 0;
  virtual void join(ms_conn_id conn, std::string_view room) = 0;
  virtual void leave(ms_conn_id conn, std::string_view room) = 0;

  // The members of `room` on every host; `answer` may run on any thread.
  using members_answer = std::function<void(ms_status, std::vector<ms_conn_id>)>;
  virtual void members(std::string room, members_answer answer) = 0;

  // For /healthz (a Redis is unreachable) and /metrics; any thread.
  virtual bool degraded() const { return false; }
  virtual std::string metrics() const { return {}; }
};

}  // namespace microsockets
