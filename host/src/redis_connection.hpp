// One connection to one Redis: hiredis's async context driven by an Asio
// io_context through hiredis's five event hooks (no thread of its own), with
// AUTH and SELECT after each connect, and reconnection with backoff and jitter
// until stop(). Everything here runs on the io_context's thread.
//
// hiredis owns the socket: its fd is wrapped in a stream_descriptor only to
// wait for readiness, and released, never closed, when hiredis lets go of it.
#pragma once

#include "net.hpp"
#include "redis_address.hpp"

#include <hiredis/async.h>

#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

class redis_connection {
 public:
  // A reply, or null when the connection went away before it came.
  using reply_handler = std::function<void(const redisReply*)>;

  // select_db: false for a subscription connection (pub/sub ignores databases,
  // and a subscribed connection refuses SELECT).
  redis_connection(net::io_context& ioc, redis_address address, bool select_db);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  // Posted to the io_context, in the order things happen.
  std::function<void()> on_up;                     // connected, AUTH/SELECT queued
  std::function<void(std::string why)> on_down;    // lost, or a connect attempt failed
  std::function<void(const redisReply&)> on_push;  // (un)subscribe replies and messages

  void start();
  void stop();
  bool up() const { return connected_; }
  const redis_address& address() const { return address_; }

  // Queues a command; false (nothing sent) when not connected.
  bool command(const std::vector<std::string_view>& args, reply_handler handler = {});
  // SUBSCRIBE or UNSUBSCRIBE one channel; what Redis answers goes to on_push.
  bool subscription(std::string_view verb, std::string_view channel);

 private:
  void connect();
  void connected();
  void lost(std::string why);
  void detach();  // hiredis is freeing the context
  // Waits for readiness once, then lets hiredis read or write; re-armed while it wants to.
  void arm(net::posix::descriptor_base::wait_type what);
  void retry_later();

  net::io_context& ioc_;
  redis_address address_;
  bool select_db_;
  redisAsyncContext* ac_ = nullptr;
  net::posix::stream_descriptor fd_;
  net::steady_timer connect_timer_;
  net::steady_timer retry_timer_;
  std::uint64_t generation_ = 0;  // bumped per context: stale waits are ignored
  bool connected_ = false;
  bool reading_ = false, read_armed_ = false;
  bool writing_ = false, write_armed_ = false;
  bool retry_pending_ = false;
  bool stopping_ = false;
  unsigned attempts_ = 0;
  std::minstd_rand jitter_{std::random_device{}()};
};

}  // namespace microsockets
