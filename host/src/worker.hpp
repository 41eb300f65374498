// One event-loop thread: its io_context, the connections it owns and their
// rooms. Everything here runs on the worker's own thread except the calls
// marked "any thread", which go through the mutex or are posted over.
//
// A loop turn runs every ready handler (bounded), then writes each connection
// that has output once: that is what batches many frames into one send.
#pragma once

#include "frame.hpp"
#include "net.hpp"
#include "rooms.hpp"
#include "stats.hpp"

#include <microsockets/abi.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace microsockets {

class websocket_session;

// One broadcast: its frame, encoded once, and where it goes.
struct fanout {
  shared_frame frame;
  std::vector<std::string> rooms;
  ms_conn_id skip;  // the sender when it skips itself, else 0
};

class worker {
 public:
  // idle_timeout: see options::idle_timeout_seconds.
  worker(unsigned index, unsigned idle_timeout_seconds);
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  net::io_context& context() { return ioc_; }
  unsigned index() const { return index_; }

  // Runs the loop on the calling thread until stop().
  void run();
  void stop() { ioc_.stop(); }  // any thread
  bool on_this_thread() const;
  // The worker whose thread this is, or null.
  static worker* current();

  // Runs fn now if called on this worker's thread, else queues it here. Any thread.
  template <class Fn>
  void execute(Fn&& fn) {
    if (on_this_thread()) fn();
    else net::post(ioc_, std::forward<Fn>(fn));
  }

  // Connection ids carry their worker's index in the low byte.
  ms_conn_id next_id() { return (++id_sequence_ << 8) | index_; }
  static unsigned worker_of(ms_conn_id id) { return unsigned(id & 0xff); }

  void add(std::shared_ptr<websocket_session> session);
  void remove(websocket_session& session);  // and from all its rooms
  websocket_session* find(ms_conn_id id);   // this thread only
  std::shared_ptr<websocket_session> find_shared(ms_conn_id id);  // any thread
  std::size_t connection_count();  // any thread

  bool join(websocket_session& s, std::string_view room);
  bool leave(websocket_session& s, std::string_view room);
  std::vector<std::string> rooms_of(websocket_session& s);  // any thread
  std::size_t room_count();                                  // any thread
  void add_room_names(std::unordered_set<std::string>& names);  // any thread

  // Queues the frame to every local member of the rooms, except the skipped one.
  void deliver(const fanout& job);
  // Hands `job` to `target` at the end of this turn, in one post with the
  // turn's other jobs for it: one wake-up of that thread per turn, not per
  // broadcast, and its members get the whole batch in one write. This thread only.
  void forward(worker& target, std::shared_ptr<const fanout> job);

  // Asks every connection to close with `code` (graceful shutdown).
  void close_all(std::uint16_t code, std::string_view reason);

  // The session has output; it is written at the end of this turn.
  void schedule_flush(std::shared_ptr<websocket_session> session);

  // Seconds since the worker started, advanced once a second: a clock that
  // costs a load to read.
  std::uint32_t now() const { return now_; }

  // Messages and bytes in and out: written on this thread, read by any.
  struct traffic& traffic() { return traffic_; }

 private:
  void flush_scheduled();
  // Once a second: pings quiet connections, closes silent ones, and gives
  // idle connections' buffers back. One timer per thread, not per connection.
  void sweep();
  void post_forwarded();

  unsigned index_;
  net::io_context ioc_;
  std::uint64_t id_sequence_ = 0;
  net::steady_timer sweep_timer_;
  unsigned idle_timeout_;
  std::uint32_t now_ = 0;
  struct traffic traffic_;
  // Mutated on this thread under mutex_; read lock-free here, locked elsewhere.
  std::mutex mutex_;
  std::unordered_map<ms_conn_id, std::shared_ptr<websocket_session>> sessions_;
  room_map<websocket_session> rooms_;
  std::vector<std::shared_ptr<websocket_session>> to_flush_;
  struct outbox {
    worker* target = nullptr;
    std::vector<std::shared_ptr<const fanout>> jobs;
  };
  std::vector<outbox> outboxes_;  // by target worker index
};

}  // namespace microsockets
