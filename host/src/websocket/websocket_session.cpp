#include "websocket/websocket_session.hpp"

#include "base/tuning.hpp"

#include "base/log.hpp"
#include "base/log_limiter.hpp"
#include "base/stats.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace microsockets {

namespace {


// Empties a buffer whose `sent` bytes went out. A small write gives its buffer
// back at once (a malloc is cheap next to the send), so idle connections hold
// none; a large one keeps it for the next turn's burst, up to tuning::keep_buffer_bytes.
void recycle(std::string& buffer, std::size_t sent) {
  if (sent < 512 || buffer.capacity() > tuning::keep_buffer_bytes) std::string().swap(buffer);
  else buffer.clear();
}

constexpr unsigned opcode_close = 0x8, opcode_ping = 0x9, opcode_pong = 0xa;
constexpr std::uint16_t no_status = 1005, abnormal = 1006;  // reported, never sent (RFC 6455 7.4.1)

// A close reason fits the frame's 125 bytes with its code, cut at a character boundary.
std::string_view fit_reason(std::string_view reason) {
  if (reason.size() <= 123) return reason;
  std::size_t n = 123;
  while (n > 0 && (std::uint8_t(reason[n]) & 0xc0) == 0x80) --n;
  return reason.substr(0, n);
}

}  // namespace

websocket_session::websocket_session(transport connection, session_home& home, session_events& events,
                                     const session_limits& limits, request_info request, attributes attrs,
                                     connection_slot slot)
    : home_(home), events_(events), limits_(limits), id_(home.next_id()), request_(std::move(request)), slot_(std::move(slot)) {
  if (auto* tls = std::get_if<std::unique_ptr<tls_layer>>(&connection)) {
    tls_ = std::move(*tls);
  } else {
    // From here the worker's readiness watches the socket. It is
    // non-blocking already: accept4 made it so.
    auto& plain = std::get<accepted_socket>(connection);
    watched_ = plain.watched;
    fd_ = plain.release();
  }
  if (!attrs.empty()) state_.store(std::make_shared<const connection_state>(connection_state{std::move(attrs), {}}));
}

websocket_session::~websocket_session() {
  // Only while the worker is stopping does a session end with its socket
  // open (self_ holds it until close_socket), and no event comes any more.
  if (fd_ >= 0) ::close(fd_);
  if (counted_open_) counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

void websocket_session::start(std::string response, std::string early_bytes) {
  if (fd_ < 0 && !tls_) return;  // the socket broke before it could be released
  self_ = shared_from_this();
  last_heard_ = home_.now();
  home_.add(self_);
  events_.connected(*this);
  counted_open_ = true;
  queue(response);
  if (tls_) {
    read_tls();
  } else if (!(watched_ ? home_.rewatch(fd_, *this) : home_.watch(fd_, *this))) {
    log::warn("connection {}: cannot watch its socket: {}", id_, std::strerror(errno));
    input_ended();
    return;
  }
  if (!early_bytes.empty()) received(early_bytes.data(), early_bytes.size());
}

// Input.

void websocket_session::on_ready(std::uint32_t events) {
  if (fd_ < 0) return;  // closed earlier in this turn
  if (waiting_writable_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    waiting_writable_ = false;
    flush();
  }
  // After a hang-up a short read no longer means drained: the EOF is next.
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) hung_up_ = true;
  if (fd_ >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) read_plain();
}

void websocket_session::read_plain() {
  if (fd_ < 0) return;
  messages_left_ = tuning::messages_per_turn;
  if (paused_) {  // first the bytes held when the last turn's bound was reached
    paused_ = false;
    received(nullptr, 0);
    if (fd_ < 0) return;
  }
  const auto buffer = home_.read_buffer();
  std::size_t bytes_left = tuning::bytes_per_turn;
  while (!paused_) {
    const ssize_t n = ::recv(fd_, buffer.data(), std::min(buffer.size(), bytes_left), 0);
    if (n > 0) {
      received(buffer.data(), std::size_t(n));
      if (fd_ < 0) return;
      // Frames that are no message (pings, pongs, fragments) count in bytes.
      if ((bytes_left -= std::size_t(n)) == 0) paused_ = true;
      else if (std::size_t(n) < buffer.size() && !hung_up_) break;  // drained: the next bytes are a new edge
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return input_ended();  // EOF, or the connection broke
  }
  if (paused_) home_.read_later(shared_from_this());
}

void websocket_session::read_tls() {
  tls_->stream.async_read_some(net::buffer(tls_->decrypted), [self = shared_from_this()](error_code ec, std::size_t n) {
    if (!self->self_) return;  // closed
    if (n > 0) self->received(self->tls_->decrypted.data(), n);
    if (!self->self_) return;
    if (ec) return self->input_ended();
    self->read_tls();
  });
}

void websocket_session::received(char* data, std::size_t size) {
  last_heard_ = home_.now();
  pinged_ = false;
  if (stage_ >= stage::finished) return;  // read and dropped until the peer closes
  const auto r = reader_.read(data, size, limits_.max_message_bytes,
                              [this](frame_kind kind, std::string_view payload) { return on_frame(kind, payload); });
  if (const auto empty = reader_.take_empty_fragments(); empty && !close_code_ && !within_rate(false, empty))
    close(1008, "frame rate exceeded");
  if (!r.error) return;
  static log_limiter lines;
  if (auto n = lines.allow())
    log::debug("connection {} ({}): failed with {}: {}{}", id_, request_.remote(), r.error, r.why,
               log_limiter::suppressed_note(*n));
  if (!close_code_) close_code_ = r.error;
  if (stage_ == stage::open) queue_close(r.error, r.why);
  finish(close_code_);
}

bool websocket_session::on_frame(frame_kind kind, std::string_view payload) {
  switch (kind) {
    case frame_kind::text:
    case frame_kind::binary:
      on_message(kind, payload);
      if (!tls_ && --messages_left_ == 0) {
        paused_ = true;  // the rest is held for the next turn
        return false;
      }
      break;
    case frame_kind::ping:
    case frame_kind::pong:
      if (close_code_) break;  // closing: no pong is owed, and nothing more is counted
      if (!within_rate(false)) close(1008, "frame rate exceeded");
      else if (kind == frame_kind::ping) queue_control(opcode_pong, payload);
      break;
    case frame_kind::close:
      on_close_frame(payload);
      return false;
  }
  return stage_ < stage::finished;
}

void websocket_session::on_message(frame_kind kind, std::string_view text) {
  home_.traffic().messages_in.add();
  home_.traffic().bytes_in.add(text.size());
  if (close_code_) return;  // closing: nothing more is dispatched (a rate-limited flood stops here)
  if (!within_rate(true)) close(1008, "message rate exceeded");
  else if (kind == frame_kind::binary) close(1003, "binary messages are not supported");
  else events_.received(*this, text);
}

void websocket_session::on_close_frame(std::string_view body) {
  const std::uint16_t code =
      body.size() >= 2 ? std::uint16_t((std::uint8_t(body[0]) << 8) | std::uint8_t(body[1])) : no_status;
  // The answer echoes the code (RFC 6455 5.5.1); this side's own close, if it
  // sent one first, was the answer already.
  if (stage_ == stage::open) queue_close(code, {});
  finish(close_code_ ? close_code_ : code);
}

void websocket_session::input_ended() {
  input_ended_ = true;
  finish(close_code_ ? close_code_ : abnormal);  // no close frame: 1006 (RFC 6455 7.1.5)
  progress();
}

// Output.

bool websocket_session::send(std::string_view frame) {
  if (stage_ != stage::open) return false;  // nothing may follow a close frame
  if (!within_output_limit(frame.size())) {
    // What is queued stays (its first frame may be half sent): the client reads
    // up to here, then the close frame, and never a gap.
    close(1013, "output limit exceeded");
    return false;
  }
  queue(frame);
  home_.traffic().messages_out.add();
  home_.traffic().bytes_out.add(frame.size());
  return true;
}

bool websocket_session::queue_control(unsigned opcode, std::string_view payload) {
  // Control frames count against the bound too: a client that pings and
  // never reads would otherwise queue pongs without end.
  if (!over_output_ && !within_output_limit(2 + payload.size())) {
    over_output_ = true;
    close(1013, "output limit exceeded");
    return false;
  }
  const char header[2] = {char(0x80 | opcode), char(payload.size())};
  queue({header, 2});
  queue(payload);
  return true;
}

void websocket_session::queue_close(std::uint16_t code, std::string_view reason) {
  // Always queued, past any limit: the peer must learn why. 1005 is sent as no code.
  stage_ = stage::closing;
  if (code == no_status || code == abnormal) {
    const char frame[2] = {char(0x80 | opcode_close), 0};
    return queue({frame, 2});
  }
  reason = fit_reason(reason);
  const char header[4] = {char(0x80 | opcode_close), char(2 + reason.size()), char(code >> 8), char(code & 0xff)};
  queue({header, 4});
  queue(reason);
}

bool websocket_session::close(std::uint16_t code, std::string_view reason) {
  if (stage_ != stage::open) return false;
  close_code_ = code;
  begin_closing();
  queue_close(code, reason);
  return true;
}

void websocket_session::queue(std::string_view bytes) {
  pending_.append(bytes);
  schedule_flush();
}

std::size_t websocket_session::queued_bytes() const { return pending_.size() + (tls_ ? tls_->sending.size() : 0); }

void websocket_session::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  home_.schedule_flush(shared_from_this());
}

void websocket_session::flush() {
  flush_scheduled_ = false;
  if (!self_) return pending_.clear();  // closed
  if (waiting_writable_ || pending_.empty()) return;
  if (tls_) return flush_tls();
  ssize_t sent;
  do sent = ::send(fd_, pending_.data(), pending_.size(), MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return write_failed();
  const auto n = std::size_t(std::max<ssize_t>(sent, 0));
  if (n < pending_.size()) {
    // The kernel's buffer is full: the rest waits for the next output edge.
    pending_.erase(0, n);
    waiting_writable_ = true;
    return;
  }
  recycle(pending_, n);
  progress();
}

void websocket_session::flush_tls() {
  // OpenSSL encrypts into Asio's record buffer, which goes out in one or more
  // sends: an async write, with this turn's output set aside so that later
  // output can queue behind it.
  waiting_writable_ = true;
  tls_->sending.swap(pending_);
  net::async_write(tls_->stream, net::buffer(tls_->sending), [self = shared_from_this()](error_code ec, std::size_t sent) {
    self->waiting_writable_ = false;
    recycle(self->tls_->sending, sent);
    if (ec) return self->write_failed();
    if (!self->pending_.empty()) return self->schedule_flush();
    self->progress();
  });
}

void websocket_session::write_failed() {
  // The peer is gone: nothing queued can reach it.
  pending_.clear();
  waiting_writable_ = false;
  if (!input_ended_) input_ended();
  else progress();
}

// The end.

void websocket_session::finish(std::uint16_t code) {
  if (stage_ >= stage::finished) return;
  stage_ = stage::finished;
  log::debug("connection {}: closed with {}", id_, code);
  // Draining the output and the peer's answer take at most the close timeout.
  begin_closing();
  home_.remove(*this);
  events_.disconnected(id_, code);
  progress();
}

void websocket_session::progress() {
  if (!self_ || stage_ < stage::finished || output_pending()) return;
  if (input_ended_) return close_socket();
  if (stage_ == stage::shut) return;
  stage_ = stage::shut;
  if (tls_) {
    // close_notify without waiting for the peer's (as nginx does), then the end.
    return async_close_notify(*tls_, [self = shared_from_this()](error_code) { self->close_socket(); });
  }
  // The peer reads our last frame, then the EOF, and closes its side: the
  // socket closes at that EOF, without a reset that could lose the frame.
  ::shutdown(fd_, SHUT_WR);
}

void websocket_session::close_socket() {
  if (!self_) return;
  cut_timer_.reset();
  if (tls_) {
    error_code ignored;
    tls_->stream.next_layer().socket().close(ignored);
  } else {
    home_.unwatch(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  // The descriptor is gone, so are its places in the gauges now, though a TLS
  // stream's aborted operations still hold this object for a few handlers.
  slot_.release();
  if (std::exchange(counted_open_, false)) counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
  pending_.clear();
  // The worker keeps this object to the end of the turn, whose readiness
  // batch may still name it.
  home_.retire(std::move(self_));
}

// Limits.

bool websocket_session::within_output_limit(std::size_t more) {
  const std::size_t limit = limits_.max_output_bytes;
  if (queued_bytes() + more <= limit) return true;
  counters.slow_consumers_closed.fetch_add(1, std::memory_order_relaxed);
  static log_limiter lines;
  if (auto n = lines.allow())
    log::warn("connection {} ({}): closing with 1013, it fell {} bytes behind (limit {}){}", id_, request_.remote(),
              queued_bytes() + more, limit, log_limiter::suppressed_note(*n));
  return false;
}

bool websocket_session::within_rate(bool message, std::uint32_t frames) {
  // With --max-rate every frame a peer sends takes from it; without, only
  // the frames that are no message do, from --max-control-rate.
  const auto& o = limits_;
  const bool messages_limited = o.max_rate > 0;
  const double rate = messages_limited ? o.max_rate : message ? 0 : o.max_control_rate;
  if (rate <= 0) return true;
  const double burst = messages_limited && o.max_rate_burst > 0 ? o.max_rate_burst : std::max(rate, 1.0);
  if (rate_.take(rate, burst, frames)) return true;
  counters.rate_limited.fetch_add(1, std::memory_order_relaxed);
  static log_limiter lines;
  if (auto n = lines.allow())
    log::info("connection {} ({}): closing with 1008, over {} {}/s{}", id_, request_.remote(), rate,
              messages_limited ? "messages" : "control or empty frames", log_limiter::suppressed_note(*n));
  return false;
}

void websocket_session::begin_closing() {
  if (cut_timer_ || !self_) return;
  cut_timer_ = std::make_unique<net::steady_timer>(home_.context(),
                                                   std::chrono::seconds(limits_.close_timeout_seconds));
  // A weak reference: the timer must not keep a connection that ends in time alive.
  cut_timer_->async_wait([weak = weak_from_this()](error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->cut();
  });
}

void websocket_session::cut() {
  counters.connections_cut.fetch_add(1, std::memory_order_relaxed);
  log::debug("connection {}: still closing after {} s, cut", id_, limits_.close_timeout_seconds);
  input_ended_ = true;
  finish(close_code_ ? close_code_ : abnormal);
  pending_.clear();
  waiting_writable_ = false;
  close_socket();
}

void websocket_session::check_idle(std::uint32_t now, unsigned idle_timeout) {
  if (stage_ != stage::open || cut_timer_) return;  // closing: the cut timer keeps time
  const std::uint32_t silent = now - last_heard_;
  if (pending_.empty() && pending_.capacity() && silent >= 1) std::string().swap(pending_);
  if (idle_timeout == 0) return;
  if (silent >= idle_timeout) {
    log::debug("connection {}: silent for {} s, closing", id_, silent);
    close(1001, "idle timeout");
  } else if (silent * 2 >= idle_timeout && !pinged_) {
    pinged_ = true;
    queue_control(opcode_ping, {});
  }
}

void websocket_session::set_attribute(std::string_view key, std::string_view value) {
  change_state([&](connection_state& state) { state.attributes.insert_or_assign(std::string(key), std::string(value)); });
}

}  // namespace microsockets
