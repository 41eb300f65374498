// One event-loop thread: its io_context, the connections it owns and their
// rooms. Everything here runs on the worker's own thread except the calls
// marked "any thread".
//
// A loop turn runs every ready handler (bounded), hands each other worker
// what this turn queued for it in one post, then writes each connection that
// has output once: that is what batches many frames into one send.
//
// The door: every call on a connection or a room (emit, join, leave,
// broadcast, close, attributes) reaches its worker through execute(), and so
// does work from other hosts (a backplane's deliveries). There is one FIFO
// per (caller, target): a caller's tasks run in the order it made them.
#pragma once

#include "websocket/frame.hpp"
#include "base/net.hpp"
#include "net/readiness.hpp"
#include "core/rooms.hpp"
#include "base/stats.hpp"
#include "base/tuning.hpp"
#include "core/connection_id.hpp"
#include "websocket/session_events.hpp"

#include <microsockets/abi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace microsockets {

class plugin_activity;
class websocket_session;

// One broadcast: its frame, encoded once, and where it goes.
struct fanout {
  shared_frame frame;
  std::vector<std::string> rooms;
  ms_conn_id skip;  // the sender when it skips itself, else 0
};

class worker final : public session_home {
 public:
  using task = std::function<void()>;

  // idle_timeout: see options::idle_timeout_seconds. host_id: this host in a
  // cluster (redis_bus), 0 alone.
  worker(unsigned index, unsigned idle_timeout_seconds, std::uint32_t host_id = 0);
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  net::io_context& context() override { return ioc_; }
  unsigned index() const { return index_; }

  // Runs the loop on the calling thread until stop(): a turn after another.
  void run();
  // One turn: waits for a handler, runs the ready ones (bounded), hands other
  // workers what was queued for them, writes the output. A fuzz target drives
  // the loop with it.
  void run_turn();
  void stop() { ioc_.stop(); }  // any thread
  bool on_this_thread() const;
  // The worker whose thread this is, or null.
  static worker* current();

  // The one door into this worker; any thread. On this worker's thread fn
  // runs now; from another worker's thread it joins that worker's batch for
  // this one, posted at the end of its turn; from a thread that is no worker
  // (a plugin's own) it is posted here.
  template <class Fn>
  void execute(Fn&& fn) {
    if (on_this_thread()) fn();
    else if (worker* caller = current()) caller->queue_for(*this, task(std::forward<Fn>(fn)));
    else net::post(ioc_, std::forward<Fn>(fn));
  }

  // The next connection's id (core/connection_id.hpp).
  ms_conn_id next_id() override { return connection_id::make(host_id_, ++id_sequence_, index_); }

  void add(std::shared_ptr<websocket_session> session) override;
  void remove(websocket_session& session) override;  // and from all its rooms
  websocket_session* find(ms_conn_id id);   // this thread only
  // Any thread: a short lock on the id map, never a wait for this thread's work.
  std::shared_ptr<websocket_session> find_shared(ms_conn_id id);

  // Membership of one of this worker's connections; each publishes the
  // session's new room list. join: false if it was a member already;
  // leave: false if it was not one.
  bool join(websocket_session& s, std::string_view room);
  // Why `s` may not join `room`: it would be in more than `max_rooms`, or its
  // rooms' names would take more than `max_room_bytes`. Any thread.
  std::optional<std::string> join_refusal(websocket_session& s, std::string_view room, std::size_t max_rooms,
                                          std::size_t max_room_bytes);
  bool leave(websocket_session& s, std::string_view room);
  // Rooms with a member here, as last published; any thread.
  std::size_t room_count() const { return room_count_.load(std::memory_order_relaxed); }
  // Their names, published at most once a second (by the sweep), for /metrics
  // to count a room with members on several threads once; any thread.
  std::shared_ptr<const std::vector<std::string>> room_names() const { return room_names_.load(); }
  std::vector<ms_conn_id> members_of(std::string_view room);  // this thread only

  // Queues the frame to every local member of the rooms, except the skipped one.
  void deliver(const fanout& job);

  // Asks every connection to close with `code` (graceful shutdown).
  void close_all(std::uint16_t code, std::string_view reason);

  // The session has output; it is written at the end of this turn.
  void schedule_flush(std::shared_ptr<websocket_session> session) override;

  // Watches a connection's socket (see readiness).
  bool watch(int fd, readiness::handler& h) override { return readiness_.watch(fd, h); }
  bool rewatch(int fd, readiness::handler& h) override { return readiness_.rewatch(fd, h); }
  void unwatch(int fd) override { readiness_.unwatch(fd); }
  // Where connections read into: one buffer per worker, lent for one read
  // and its decoding, so an idle connection holds none.
  std::span<char> read_buffer() override { return {read_buffer_.get(), tuning::read_buffer_bytes}; }
  // Reads more of the session next turn (it reached a turn's bound).
  void read_later(std::shared_ptr<websocket_session> session) override { read_later_.push_back(std::move(session)); }
  // Keeps a session whose socket closed to the end of this turn.
  void retire(std::shared_ptr<websocket_session> session) override { retired_.push_back(std::move(session)); }

  // Seconds since the worker started, advanced once a second: a clock that
  // costs a load to read.
  std::uint32_t now() const override { return now_; }

  // What plugin code this worker's thread runs now, for the watchdog; null
  // until run() starts. Any thread.
  const plugin_activity* activity() const { return activity_.load(std::memory_order_acquire); }
  // Its connections, any thread (a short lock): shutdown waits for them.
  std::size_t session_count();

  // Messages and bytes in and out: written on this thread, read by any.
  struct traffic& traffic() override { return traffic_; }

 private:
  void flush_scheduled();
  // Once a second: pings quiet connections, closes silent ones, and gives
  // idle connections' buffers back. One timer per thread, not per connection.
  void sweep();
  void publish_room_names();
  // Adds fn to this worker's batch for `target`, posted at the end of the
  // turn: one wake-up of that thread per turn, not per call, and its
  // connections get the whole batch in one write. This thread only.
  void queue_for(worker& target, task fn);
  void post_queued();

  unsigned index_;
  std::uint32_t host_id_;
  net::io_context ioc_;
  std::uint64_t id_sequence_ = 0;
  net::steady_timer sweep_timer_;
  unsigned idle_timeout_;
  std::uint32_t now_ = 0;
  std::atomic<const plugin_activity*> activity_{nullptr};
  struct traffic traffic_;
  // Mutated on this thread under mutex_; read lock-free here, locked elsewhere.
  std::mutex mutex_;
  std::unordered_map<ms_conn_id, std::shared_ptr<websocket_session>> sessions_;
  room_map<websocket_session> rooms_;  // this thread only
  std::atomic<std::size_t> room_count_{0};
  std::atomic<std::shared_ptr<const std::vector<std::string>>> room_names_;
  bool room_names_stale_ = false;
  std::vector<std::shared_ptr<websocket_session>> to_flush_;
  std::vector<std::shared_ptr<websocket_session>> retired_;
  std::vector<std::shared_ptr<websocket_session>> read_later_;
  std::unique_ptr<char[]> read_buffer_;
  readiness readiness_;
  struct outbox {
    worker* target = nullptr;
    std::vector<task> tasks;
  };
  std::vector<outbox> outboxes_;  // by target worker index
};

}  // namespace microsockets
