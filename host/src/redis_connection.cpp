#include "redis_connection.hpp"

#include "log.hpp"

#include <algorithm>
#include <memory>

namespace microsockets {
namespace {

// Loopback answers at once; a silent network must not hold the retry loop.
constexpr auto connect_timeout = std::chrono::seconds(2);
// Retries wait 100 ms doubling up to 2 s, each scaled by a random 0.5-1.5 so
// that hosts cut off together do not all come back in the same millisecond.
constexpr auto first_retry = std::chrono::milliseconds(100);
constexpr auto longest_retry = std::chrono::milliseconds(2000);

redis_connection* owner(void* privdata) { return static_cast<redis_connection*>(privdata); }

}  // namespace

redis_connection::redis_connection(net::io_context& ioc, redis_address address, bool select_db)
    : ioc_(ioc), address_(std::move(address)), select_db_(select_db), fd_(ioc), connect_timer_(ioc), retry_timer_(ioc) {}

redis_connection::~redis_connection() { stop(); }

void redis_connection::start() { connect(); }

void redis_connection::stop() {
  stopping_ = true;
  connect_timer_.cancel();
  retry_timer_.cancel();
  if (ac_) redisAsyncFree(ac_);  // calls pending reply handlers with null, then cleanup
}

void redis_connection::connect() {
  ac_ = redisAsyncConnect(address_.host.c_str(), address_.port);
  if (!ac_ || ac_->err) {
    std::string why = ac_ ? ac_->errstr : "out of memory";
    if (ac_) redisAsyncFree(ac_);
    ac_ = nullptr;
    return lost(std::move(why));
  }
  ac_->data = this;
  ac_->ev.data = this;
  ac_->ev.addRead = [](void* p) { owner(p)->reading_ = true, owner(p)->arm(net::posix::descriptor_base::wait_read); };
  ac_->ev.delRead = [](void* p) { owner(p)->reading_ = false; };
  ac_->ev.addWrite = [](void* p) { owner(p)->writing_ = true, owner(p)->arm(net::posix::descriptor_base::wait_write); };
  ac_->ev.delWrite = [](void* p) { owner(p)->writing_ = false; };
  ac_->ev.cleanup = [](void* p) { owner(p)->detach(); };
  redisAsyncSetConnectCallback(ac_, [](const redisAsyncContext* ac, int status) {
    if (status == REDIS_OK) owner(ac->data)->connected();
    else owner(ac->data)->lost(ac->errstr);  // hiredis frees the context next
  });
  redisAsyncSetDisconnectCallback(ac_, [](const redisAsyncContext* ac, int status) {
    owner(ac->data)->lost(status == REDIS_OK ? "closed" : ac->errstr);
  });
  error_code ec;
  fd_.assign(ac_->c.fd, ec);
  if (ec) {
    redisAsyncFree(ac_);
    return lost(ec.message());
  }
  // The connect completes when the socket becomes writable.
  writing_ = true;
  arm(net::posix::descriptor_base::wait_write);
  connect_timer_.expires_after(connect_timeout);
  connect_timer_.async_wait([this, gen = generation_](error_code e) {
    if (e || gen != generation_ || connected_ || !ac_) return;
    redisAsyncFree(ac_);
    lost("connect timed out");
  });
}

void redis_connection::connected() {
  connect_timer_.cancel();
  connected_ = true;
  attempts_ = 0;
  auto refused = [this](const char* what) {
    return [this, what](const redisReply* r) {
      if (!r || r->type != REDIS_REPLY_ERROR || !ac_) return;
      log::error("redis {}: {} refused: {}", address_.label(), what, std::string_view(r->str, r->len));
      redisAsyncDisconnect(ac_);  // retried with backoff: the server may be fixed meanwhile
    };
  };
  if (!address_.password.empty()) {
    if (address_.user.empty()) command({"AUTH", address_.password}, refused("AUTH"));
    else command({"AUTH", address_.user, address_.password}, refused("AUTH"));
  }
  if (select_db_ && address_.db != 0) {
    const auto db = std::to_string(address_.db);
    command({"SELECT", db}, refused("SELECT"));
  }
  net::post(ioc_, [this] {
    if (on_up && connected_) on_up();
  });
}

void redis_connection::lost(std::string why) {
  connected_ = false;
  if (stopping_ || retry_pending_) return;
  retry_pending_ = true;
  net::post(ioc_, [this, why = std::move(why)]() mutable {
    if (on_down) on_down(std::move(why));
    retry_later();
  });
}

void redis_connection::retry_later() {
  const auto base = std::min<std::chrono::milliseconds>(longest_retry, first_retry * (1u << std::min(attempts_, 6u)));
  ++attempts_;
  const double scale = std::uniform_real_distribution<double>(0.5, 1.5)(jitter_);
  retry_timer_.expires_after(std::chrono::milliseconds(std::int64_t(double(base.count()) * scale)));
  retry_timer_.async_wait([this](error_code ec) {
    if (ec || stopping_) return;
    retry_pending_ = false;
    if (!ac_) connect();
  });
}

void redis_connection::detach() {
  ac_ = nullptr;
  connected_ = false;
  reading_ = writing_ = read_armed_ = write_armed_ = false;
  ++generation_;
  error_code ec;
  fd_.cancel(ec);
  fd_.release();  // hiredis closes the socket itself
}

void redis_connection::arm(net::posix::descriptor_base::wait_type what) {
  const bool read = what == net::posix::descriptor_base::wait_read;
  bool& armed = read ? read_armed_ : write_armed_;
  if (armed || !ac_) return;
  armed = true;
  fd_.async_wait(what, [this, what, read, gen = generation_](error_code ec) {
    if (gen != generation_) return;
    (read ? read_armed_ : write_armed_) = false;
    const bool& wanted = read ? reading_ : writing_;
    if (ec == net::error::operation_aborted || !wanted || !ac_) return;
    (read ? redisAsyncHandleRead : redisAsyncHandleWrite)(ac_);  // may free the context: generation_ changes
    if (gen == generation_ && wanted) arm(what);
  });
}

bool redis_connection::command(const std::vector<std::string_view>& args, reply_handler handler) {
  if (!connected_ || !ac_) return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (auto a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* kept = handler ? new reply_handler(std::move(handler)) : nullptr;
  auto on_reply = [](redisAsyncContext* ac, void* reply, void* privdata) {
    std::unique_ptr<reply_handler> h(static_cast<reply_handler*>(privdata));
    if (!owner(ac->data)->stopping_) (*h)(static_cast<const redisReply*>(reply));
  };
  if (redisAsyncCommandArgv(ac_, kept ? +on_reply : nullptr, kept, int(argv.size()), argv.data(), lengths.data()) !=
      REDIS_OK) {
    delete kept;
    return false;
  }
  return true;
}

bool redis_connection::subscription(std::string_view verb, std::string_view channel) {
  if (!connected_ || !ac_) return false;
  const char* argv[] = {verb.data(), channel.data()};
  const std::size_t lengths[] = {verb.size(), channel.size()};
  auto on_reply = [](redisAsyncContext* ac, void* reply, void*) {
    auto* self = owner(ac->data);
    if (reply && !self->stopping_ && self->on_push) self->on_push(*static_cast<const redisReply*>(reply));
  };
  return redisAsyncCommandArgv(ac_, on_reply, nullptr, 2, argv, lengths) == REDIS_OK;
}

}  // namespace microsockets
