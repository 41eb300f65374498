// One connection to one Redis: hiredis's async context driven by an Asio
// io_context through hiredis's five event hooks (no thread of its own), with
// AUTH, SELECT and a PING after each connect, and reconnection with backoff
// and full jitter until stop(). Everything here runs on the io_context's thread.
//
// Faults are bounded: every command has a deadline (replies come in order, so
// a FIFO of send times says which is late); past it the connection is dropped
// and made again. What waits for the connection (sent or not, unanswered) is
// counted in bytes, and cross-host messages past the bound are refused.
//
// hiredis owns the socket: its fd is wrapped in a stream_descriptor only to
// wait for readiness, and released, never closed, when hiredis lets go of it.
#pragma once

#include "base/net.hpp"
#include "cluster/redis_address.hpp"

#include <hiredis/async.h>

#include <chrono>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

class redis_connection {
 public:
  using clock = std::chrono::steady_clock;
  // A reply, or null when the connection went away before it came.
  using reply_handler = std::function<void(const redisReply*)>;

  struct limits {
    std::chrono::milliseconds timeout{2000};  // see options::redis_timeout_ms
    std::size_t max_pending = 8u << 20;       // see options::redis_max_pending_bytes
  };

  // select_db: false for a subscription connection (pub/sub ignores databases,
  // and a subscribed connection refuses SELECT).
  redis_connection(net::io_context& ioc, redis_address address, bool select_db, limits l);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  // Posted to the io_context, in the order things happen.
  std::function<void()> on_up;                     // ready: AUTH/SELECT accepted, PING answered
  std::function<void(std::string why)> on_down;    // lost, or an attempt failed
  std::function<void(const redisReply&)> on_push;  // (un)subscribe replies and messages

  void start();
  void stop();
  // Drops the connection now (or the attempt under way), to be made again with backoff.
  void restart(std::string why) { drop(std::move(why)); }
  bool up() const { return ready_; }
  const redis_address& address() const { return address_; }
  // Bytes of the commands sent or queued and not answered yet.
  std::size_t pending_bytes() const { return pending_bytes_; }

  enum class sent { ok, not_ready, backlog };
  // Queues a command. A bounded one (a cross-host message) is refused past
  // max_pending; the others (membership, heartbeats: small, and needed to keep
  // Redis right) up to twice that, past which the connection is made again.
  sent command(const std::vector<std::string_view>& args, reply_handler handler = {}, bool bounded = false);
  // SUBSCRIBE or UNSUBSCRIBE one channel; what Redis answers goes to on_push.
  bool subscription(std::string_view verb, std::string_view channel);

 private:
  struct waiting {
    clock::time_point sent;
    std::size_t bytes;
    reply_handler handler;
  };

  void connect();
  void connected();
  void ready();
  // Gives the connection up now (a missed deadline, a refused AUTH); retried later.
  void drop(std::string why);
  void lost(std::string why);
  void detach();  // hiredis is freeing the context
  // Waits for readiness once, then lets hiredis read or write; re-armed while it wants to.
  void arm(net::posix::descriptor_base::wait_type what);
  void retry_later();
  bool send(const std::vector<std::string_view>& args, redisCallbackFn* fn, std::deque<waiting>& fifo,
            reply_handler handler);
  void replied(std::deque<waiting>& fifo, const redisReply* reply);
  void watch_deadline();
  void check_deadline();

  net::io_context& ioc_;
  redis_address address_;
  bool select_db_;
  limits limits_;
  redisAsyncContext* ac_ = nullptr;
  net::posix::stream_descriptor fd_;
  net::steady_timer connect_timer_;
  net::steady_timer retry_timer_;
  net::steady_timer deadline_timer_;
  std::uint64_t generation_ = 0;  // bumped per context: stale waits are ignored
  bool connected_ = false;        // TCP up, AUTH/SELECT/PING may be in flight
  bool ready_ = false;            // they were answered: commands go
  bool reading_ = false, read_armed_ = false;
  bool writing_ = false, write_armed_ = false;
  bool retry_pending_ = false;
  bool deadline_armed_ = false;
  bool stopping_ = false;
  unsigned attempts_ = 0;  // failed in a row; reset once ready
  std::deque<waiting> replies_;        // commands, in the order sent
  std::deque<waiting> subscriptions_;  // (UN)SUBSCRIBE, one reply each
  std::size_t pending_bytes_ = 0;
  std::minstd_rand jitter_{std::random_device{}()};
};

}  // namespace microsockets
