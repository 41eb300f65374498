// The cluster backplane: rooms shared by several hosts through Redis pub/sub.
//
// A host subscribes to a room's channel while it has a local member of that
// room (on any of its workers), publishes each local broadcast for the other
// hosts, and delivers what they publish to its own members: a broadcast to
// one room on that room's channel, one to several rooms once per Redis that
// holds any of them, on a channel every host listens to, the rooms listed once
// (their bytes bounded by --max-room-names-bytes and --max-broadcast-rooms). Calls
// on a handle of a connection of another host travel on that host's channel.
// Hosts exchange messages (event, payload, rooms), never frames: what comes
// from Redis is checked, and encoded here, once per host.
// Room membership is kept in Redis (a hash per room: connection -> lease) and
// read through a per-lease liveness key, so a dead host's members vanish when
// its key expires. A host takes a new lease, and writes its members again,
// whenever its connection was made again or its key had lapsed (a pause): the
// old lease's entries, ghosts included, expire with the old key.
// Rooms are spread over several Redis by a hash of the name.
//
// Threads: the public functions may be called from any thread; they hand
// their work to the home io_context (worker 0's), where everything else runs:
// one subscription and one command connection per Redis, no locks.
#pragma once

#include "core/backplane.hpp"
#include "core/connection_id.hpp"
#include "plugins/host_services.hpp"
#include "base/log_limiter.hpp"
#include "base/net.hpp"
#include "cluster/redis_address.hpp"
#include "cluster/redis_connection.hpp"
#include "cluster/redis_message.hpp"
#include "core/rooms.hpp"
#include "core/worker.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

struct redisReply;

namespace microsockets {

struct redis_bus_settings {
  redis_connection::limits connection;  // --redis-timeout, --redis-max-pending
  redis_message_limits messages;        // --max-message, --max-room-name
};

class redis_bus final : public backplane {
 public:
  // deliver: fans a broadcast from another host out to this host's workers
  // (called on the home thread). services: runs calls that other hosts make on
  // this host's connections.
  redis_bus(net::io_context& home, std::vector<redis_address> addresses, std::uint32_t host_id,
            host_services& services, std::function<void(std::shared_ptr<const fanout>)> deliver,
            redis_bus_settings settings);
  ~redis_bus() override;

  void start() override;
  void stop() override;  // home thread

  bool is_remote(ms_conn_id conn) const override {
    return conn != 0 && connection_id::host_of(conn) != host_id_;
  }

  // Hooks from the host, any thread, in the order they happen on each thread.
  void joined(ms_conn_id conn, std::string_view room) override;
  void left(ms_conn_id conn, std::string_view room) override;
  void gone(ms_conn_id conn) override;  // disconnected: left all its rooms
  // A local broadcast, for the other hosts: encoded on the calling thread.
  void published(std::shared_ptr<const fanout> job, std::string_view event, std::string_view payload,
                 bool is_json) override;

  // A call on a connection of another host, carried to it in the order made.
  void emit(ms_conn_id conn, std::string_view event, std::string_view payload, bool is_json) override;
  void close(ms_conn_id conn, std::uint16_t code, std::string_view reason) override;
  void join(ms_conn_id conn, std::string_view room) override;
  void leave(ms_conn_id conn, std::string_view room) override;

  // The members of `room` on every live host; `answer` runs on the home thread,
  // with MS_REFUSED when that room's Redis cannot be reached.
  void members(std::string room, members_answer answer) override;

  // Any thread.
  bool degraded() const override { return shards_up_.load() < shard_count_; }
  std::string metrics() const override;

 private:
  struct shard;
  enum class sub_state { none, subscribing, subscribed, unsubscribing };
  struct channel {
    bool wanted = false;
    sub_state state = sub_state::none;
  };
  // Why a cross-host message was not sent (redis_dropped_total{reason}).
  enum drop_reason { unreachable, backlog, unanswered, too_big, reasons };

  template <class Fn>
  void at_home(Fn&& fn);
  shard& shard_of(std::string_view name);
  void want(shard& s, const std::string& channel, bool wanted);
  void reconcile(shard& s, const std::string& channel);
  void set_state(channel& c, sub_state state);
  void subscription_reply(shard& s, const redisReply& reply);
  void received(std::string_view text);
  void member_left(ms_conn_id conn, const std::string& room);
  void send_to_host(ms_conn_id conn, char kind, const std::vector<std::string_view>& fields);
  void publish(shard& s, const std::string& channel, std::string_view message);
  void dropped(drop_reason why, std::uint64_t n = 1);
  void connection_changed(shard& s, std::string why);
  void register_members(shard& s);
  void heartbeat();
  bool seen_before(std::string key);

  net::io_context& home_;
  std::uint32_t host_id_;
  std::string host_hex_;
  host_services& services_;
  std::function<void(std::shared_ptr<const fanout>)> deliver_;
  redis_bus_settings settings_;
  std::vector<std::unique_ptr<shard>> shards_;
  const unsigned shard_count_;
  net::steady_timer heartbeat_timer_;
  std::atomic<std::uint64_t> sequence_{0};
  bool stopped_ = false;

  // This host's members, all workers together: who to (un)subscribe for and
  // what to register again after Redis comes back empty.
  std::unordered_map<std::string, std::unordered_set<ms_conn_id>, string_hash, std::equal_to<>> rooms_;
  std::unordered_map<ms_conn_id, std::vector<std::string>> rooms_of_;

  // Messages to several rooms arrive once per room's channel: ids remembered a while.
  std::unordered_set<std::string> seen_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> seen_order_;

  // Bytes of cross-host messages handed to the home thread and not yet queued
  // on a connection: bounded like a connection's own backlog.
  std::atomic<std::size_t> in_transit_{0};

  log_limiter invalid_lines_, stale_lines_, drop_lines_, lapse_lines_;

  std::atomic<unsigned> shards_up_{0};
  std::atomic<std::int64_t> subscribed_{0};  // channels Redis has confirmed
  std::atomic<std::uint64_t> published_{0}, received_{0}, received_own_{0}, received_invalid_{0}, received_stale_{0}, lost_{0},
      rewritten_{0};
  std::array<std::atomic<std::uint64_t>, reasons> dropped_{};
};

}  // namespace microsockets
