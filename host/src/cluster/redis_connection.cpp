#include "cluster/redis_connection.hpp"

#include "base/tuning.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace microsockets {
namespace {


redis_connection* owner(void* privdata) { return static_cast<redis_connection*>(privdata); }

std::string_view text(const redisReply& r) { return {r.str, r.len}; }

}  // namespace

redis_connection::redis_connection(net::io_context& ioc, redis_address address, bool select_db, limits l)
    : ioc_(ioc),
      address_(std::move(address)),
      select_db_(select_db),
      limits_(l),
      fd_(ioc),
      connect_timer_(ioc),
      retry_timer_(ioc),
      deadline_timer_(ioc) {}

redis_connection::~redis_connection() { stop(); }

void redis_connection::start() { connect(); }

void redis_connection::stop() {
  stopping_ = true;
  connect_timer_.cancel();
  retry_timer_.cancel();
  deadline_timer_.cancel();
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
  connect_timer_.expires_after(limits_.timeout);
  connect_timer_.async_wait([this, gen = generation_](error_code e) {
    if (e || gen != generation_ || connected_ || !ac_) return;
    drop("connect timed out");
  });
}

// TCP is up; the connection is ready once Redis has answered AUTH, SELECT and
// a PING (a paused Redis accepts connections but answers nothing).
void redis_connection::connected() {
  connect_timer_.cancel();
  connected_ = true;
  auto refused = [this](const char* what) {
    return [this, what](const redisReply* r) {
      if (r && r->type == REDIS_REPLY_ERROR) drop(fmt::format("{} refused: {}", what, text(*r)));
    };
  };
  auto on_reply = [](redisAsyncContext* ac, void* reply, void*) {
    auto* self = owner(ac->data);
    self->replied(self->replies_, static_cast<const redisReply*>(reply));
  };
  if (!address_.password.empty()) {
    if (address_.user.empty()) send({"AUTH", address_.password}, on_reply, replies_, refused("AUTH"));
    else send({"AUTH", address_.user, address_.password}, on_reply, replies_, refused("AUTH"));
  }
  if (select_db_ && address_.db != 0) send({"SELECT", std::to_string(address_.db)}, on_reply, replies_, refused("SELECT"));
  send({"PING"}, on_reply, replies_, [this](const redisReply* r) {
    if (!r || !connected_) return;
    if (r->type == REDIS_REPLY_ERROR) return drop(fmt::format("PING refused: {}", text(*r)));
    ready();
  });
}

void redis_connection::ready() {
  ready_ = true;
  attempts_ = 0;
  net::post(ioc_, [this, gen = generation_] {
    if (on_up && ready_ && gen == generation_) on_up();
  });
}

void redis_connection::drop(std::string why) {
  if (!ac_) return;
  lost(std::move(why));  // first, so that this is the reason told
  redisAsyncFree(ac_);   // hiredis defers it to the end of its callback when called from one
}

void redis_connection::lost(std::string why) {
  connected_ = ready_ = false;
  if (stopping_ || retry_pending_) return;
  retry_pending_ = true;
  net::post(ioc_, [this, why = std::move(why)]() mutable {
    if (on_down) on_down(std::move(why));
    retry_later();
  });
}

void redis_connection::retry_later() {
  const auto base = std::min<std::chrono::milliseconds>(tuning::longest_redis_retry, tuning::first_redis_retry * (1u << std::min(attempts_, 5u)));
  ++attempts_;
  const auto wait = std::uniform_int_distribution<std::int64_t>(0, base.count())(jitter_);
  retry_timer_.expires_after(std::chrono::milliseconds(wait));
  retry_timer_.async_wait([this](error_code ec) {
    if (ec || stopping_) return;
    retry_pending_ = false;
    if (!ac_) connect();
  });
}

void redis_connection::detach() {
  ac_ = nullptr;
  connected_ = ready_ = false;
  reading_ = writing_ = read_armed_ = write_armed_ = false;
  ++generation_;
  error_code ec;
  fd_.cancel(ec);
  fd_.release();  // hiredis closes the socket itself
  // hiredis has answered its own callbacks with null by now; whatever is left had no reply.
  auto left = std::move(replies_);
  replies_.clear();
  subscriptions_.clear();
  pending_bytes_ = 0;
  for (auto& w : left)
    if (w.handler && !stopping_) w.handler(nullptr);
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

bool redis_connection::send(const std::vector<std::string_view>& args, redisCallbackFn* fn, std::deque<waiting>& fifo,
                            reply_handler handler) {
  if (!ac_) return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (auto a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  // hiredis only appends to its output buffer here (it writes when the socket is ready).
  const std::size_t before = sdslen(ac_->c.obuf);
  if (redisAsyncCommandArgv(ac_, fn, nullptr, int(argv.size()), argv.data(), lengths.data()) != REDIS_OK) return false;
  const std::size_t bytes = sdslen(ac_->c.obuf) - before;
  fifo.push_back({clock::now(), bytes, std::move(handler)});
  pending_bytes_ += bytes;
  watch_deadline();
  return true;
}

void redis_connection::replied(std::deque<waiting>& fifo, const redisReply* reply) {
  if (fifo.empty()) return;
  auto w = std::move(fifo.front());
  fifo.pop_front();
  pending_bytes_ -= std::min(pending_bytes_, w.bytes);
  if (w.handler && !stopping_) w.handler(reply);
}

auto redis_connection::command(const std::vector<std::string_view>& args, reply_handler handler, bool bounded) -> sent {
  if (!ready_ || !ac_) return sent::not_ready;
  if (pending_bytes_ >= limits_.max_pending * (bounded ? 1 : 2)) {
    if (!bounded) drop(fmt::format("over {} bytes unanswered", pending_bytes_));
    return sent::backlog;
  }
  auto on_reply = [](redisAsyncContext* ac, void* reply, void*) {
    auto* self = owner(ac->data);
    self->replied(self->replies_, static_cast<const redisReply*>(reply));
  };
  return send(args, on_reply, replies_, std::move(handler)) ? sent::ok : sent::not_ready;
}

bool redis_connection::subscription(std::string_view verb, std::string_view channel) {
  if (!ready_ || !ac_) return false;
  // hiredis calls a channel's callback for its (un)subscribe replies and its messages.
  auto on_reply = [](redisAsyncContext* ac, void* reply, void*) {
    auto* self = owner(ac->data);
    auto* r = static_cast<const redisReply*>(reply);
    if (!r || self->stopping_) return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->type == REDIS_REPLY_STRING &&
        text(*r->element[0]) != "message")
      self->replied(self->subscriptions_, nullptr);
    if (self->on_push) self->on_push(*r);
  };
  return send({verb, channel}, on_reply, subscriptions_, {});
}

// One timer for both FIFOs, set for the oldest command's deadline.
void redis_connection::watch_deadline() {
  if (deadline_armed_ || stopping_) return;
  std::optional<clock::time_point> oldest;
  for (auto* fifo : {&replies_, &subscriptions_})
    if (!fifo->empty() && (!oldest || fifo->front().sent < *oldest)) oldest = fifo->front().sent;
  if (!oldest) return;
  deadline_armed_ = true;
  deadline_timer_.expires_at(*oldest + limits_.timeout);
  deadline_timer_.async_wait([this](error_code ec) {
    if (ec || stopping_) return;
    deadline_armed_ = false;
    check_deadline();
  });
}

void redis_connection::check_deadline() {
  if (!ac_ || !connected_) return;
  auto overdue = [this] {
    const auto late = clock::now() - limits_.timeout;
    return (!replies_.empty() && replies_.front().sent <= late) ||
           (!subscriptions_.empty() && subscriptions_.front().sent <= late);
  };
  if (overdue()) {
    // The reply may be in the socket already (this loop was busy, or the
    // process was paused): read what is there before deciding.
    redisAsyncHandleRead(ac_);
    if (!ac_ || !connected_) return;
    if (overdue())
      return drop(fmt::format("no reply within {:.1f} s",
                              std::chrono::duration<double>(limits_.timeout).count()));
  }
  watch_deadline();
}

}  // namespace microsockets
