#include "websocket_session.hpp"

#include "log.hpp"
#include "log_limiter.hpp"
#include "server.hpp"
#include "stats.hpp"
#include "worker.hpp"

namespace microsockets {

namespace {

// A write buffer larger than this after a burst is given back to the allocator.
constexpr std::size_t keep_buffer_bytes = 64 * 1024;

// Empties a buffer whose `sent` bytes went out. A small write gives its buffer
// back at once (a malloc is cheap next to the send), so idle connections hold
// none; a large one keeps it for the next turn's burst, up to keep_buffer_bytes.
void recycle(std::string& buffer, std::size_t sent) {
  if (sent < 512 || buffer.capacity() > keep_buffer_bytes) std::string().swap(buffer);
  else buffer.clear();
}

std::uint16_t close_code_for(error_code ec, const websocket::stream<output_stream>& ws) {
  if (ec == websocket::error::closed)  // a close frame without a code means 1005
    return ws.reason().code ? std::uint16_t(ws.reason().code) : std::uint16_t(websocket::close_code::no_status);
  if (ec == websocket::error::message_too_big) return websocket::close_code::too_big;
  if (ec == websocket::error::bad_frame_payload) return websocket::close_code::bad_payload;
  if (ec == websocket::condition::protocol_violation) return websocket::close_code::protocol_error;
  return 1006;  // closed without a close frame (RFC 6455 7.1.5)
}

}  // namespace

websocket_session::websocket_session(transport connection, worker& home, server& srv,
                                     request_info request, attributes attrs, connection_slot slot,
                                     std::string early_bytes)
    : ws_(std::move(connection), static_cast<output_stream::sink&>(*this)),
      home_(home),
      server_(srv),
      id_(home.next_id()),
      request_(std::move(request)),
      slot_(std::move(slot)) {
  if (!attrs.empty()) state_.store(std::make_shared<const connection_state>(connection_state{std::move(attrs), {}}));
  if (!early_bytes.empty()) ws_.next_layer().preload(std::move(early_bytes));
}

websocket_session::~websocket_session() {
  if (counted_open_) counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

void websocket_session::start(http::request<http::string_body> req, header_list response_headers,
                              std::string protocol) {
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.read_message_max(server_.opts().max_message_bytes);
  ws_.set_option(websocket::stream_base::decorator(
      [headers = std::move(response_headers), protocol = std::move(protocol)](websocket::response_type& res) {
        res.set(http::field::server, "microsockets");
        for (const auto& [name, value] : headers) res.set(name, value);
        if (!protocol.empty()) res.set(http::field::sec_websocket_protocol, protocol);
      }));
  ws_.async_accept(req, beast::bind_front_handler(&websocket_session::on_accept, shared_from_this()));
}

void websocket_session::on_accept(error_code ec) {
  if (ec) {
    log::debug("connection {}: handshake failed: {}", id_, ec.message());
    return;
  }
  error_code ignored;
  ws_.next_layer().socket().non_blocking(true, ignored);  // flush() never blocks (TLS writes are async)
  // The decorator's captured headers are of no more use: free them.
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type&) {}));
  // From here the worker's once-a-second sweep keeps time (check_idle):
  // Beast's per-connection timer would cost every connection a pending wait.
  ws_.set_option(websocket::stream_base::timeout{websocket::stream_base::none(), websocket::stream_base::none(), false});
  ws_.control_callback([this](websocket::frame_type, beast::string_view) {
    last_heard_ = home_.now();  // a ping, pong or close frame is a sign of life too
    pinged_ = false;
  });
  last_heard_ = home_.now();
  home_.add(shared_from_this());
  server_.connected(*this);
  counted_open_ = true;
  read();
}

void websocket_session::read() {
  ws_.async_read_some(net::buffer(read_chunk_),
                      beast::bind_front_handler(&websocket_session::on_read, shared_from_this()));
}

void websocket_session::on_read(error_code ec, std::size_t bytes) {
  if (ec) return finish(ec);
  last_heard_ = home_.now();
  pinged_ = false;
  std::string_view text(read_chunk_.data(), bytes);
  if (!ws_.is_message_done() || !message_.empty()) {
    message_.append(text);
    if (!ws_.is_message_done()) return read();
    text = message_;
  }
  home_.traffic().messages_in.add();
  home_.traffic().bytes_in.add(text.size());
  if (close_code_) {
    // Closing: nothing more is dispatched (a rate-limited flood stops here).
  } else if (!within_rate()) {
    close(websocket::close_code::policy_error, "message rate exceeded");
  } else if (ws_.got_binary()) {
    close(websocket::close_code::unknown_data, "binary messages are not supported");
  } else {
    server_.received(*this, text);
  }
  message_.clear();
  if (message_.capacity() > keep_buffer_bytes) std::string().swap(message_);
  read();
}

void websocket_session::finish(error_code ec) {
  if (finished_) return;
  finished_ = true;
  const std::uint16_t code = close_code_ ? close_code_ : close_code_for(ec, ws_);
  log::debug("connection {}: closed with {} ({})", id_, code, ec.message());
  auto self = shared_from_this();  // remove() drops the worker's reference
  // Output still queued (a half-closed peer that does not read) holds the fd
  // and memory only until the close timeout.
  if (waiting_writable_ || !pending_.empty()) begin_closing();
  home_.remove(*this);
  server_.disconnected(id_, code);
}

bool websocket_session::send(std::string_view frame) {
  if (close_code_ || finished_ || !ws_.is_open()) return false;  // nothing may follow a close frame
  if (!within_output_limit(frame.size())) {
    // What is queued stays (its first frame may be half sent): the client reads
    // up to here, then the close frame, and never a gap.
    close(websocket::close_code::try_again_later, "output limit exceeded");
    return false;
  }
  queue(frame);
  home_.traffic().messages_out.add();
  home_.traffic().bytes_out.add(frame.size());
  return true;
}

bool websocket_session::within_output_limit(std::size_t more) {
  const std::size_t limit = server_.opts().max_output_bytes;
  if (queued_bytes() + more <= limit) return true;
  counters.slow_consumers_closed.fetch_add(1, std::memory_order_relaxed);
  static log_limiter lines;
  if (auto n = lines.allow())
    log::warn("connection {} ({}): closing with 1013, it fell {} bytes behind (limit {}){}", id_, request_.remote(),
              queued_bytes() + more, limit, log_limiter::suppressed_note(*n));
  return false;
}

bool websocket_session::within_rate() {
  const auto& o = server_.opts();
  if (o.max_rate <= 0 || rate_.take(o.max_rate, o.max_rate_burst > 0 ? o.max_rate_burst : std::max(o.max_rate, 1.0)))
    return true;
  counters.rate_limited.fetch_add(1, std::memory_order_relaxed);
  static log_limiter lines;
  if (auto n = lines.allow())
    log::info("connection {} ({}): closing with 1008, over {} messages/s{}", id_, request_.remote(), o.max_rate,
              log_limiter::suppressed_note(*n));
  return false;
}

void websocket_session::begin_closing() {
  if (cut_timer_) return;
  cut_timer_ = std::make_unique<net::steady_timer>(ws_.get_executor(),
                                                   std::chrono::seconds(server_.opts().close_timeout_seconds));
  // A weak reference: the timer must not keep a connection that ends in time alive.
  cut_timer_->async_wait([weak = weak_from_this()](error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->cut();
  });
}

void websocket_session::cut() {
  counters.connections_cut.fetch_add(1, std::memory_order_relaxed);
  log::debug("connection {}: still closing after {} s, cut", id_, server_.opts().close_timeout_seconds);
  error_code ignored;
  // The pending read and write wait fail at once: finish() runs, the queue is
  // dropped, and the last reference goes with them.
  ws_.next_layer().socket().close(ignored);
}

void websocket_session::check_idle(std::uint32_t now, unsigned idle_timeout) {
  if (finished_ || close_code_ || cut_timer_) return;  // closing: the cut timer keeps time
  const std::uint32_t silent = now - last_heard_;
  if (pending_.empty() && pending_.capacity() && silent >= 1) std::string().swap(pending_);
  if (idle_timeout == 0) return;
  if (silent >= idle_timeout) {
    log::debug("connection {}: silent for {} s, closing", id_, silent);
    close(websocket::close_code::going_away, "idle timeout");
  } else if (silent * 2 >= idle_timeout && !pinged_ && ws_.is_open()) {
    pinged_ = true;
    ws_.async_ping({}, [self = shared_from_this()](error_code) {});
  }
}

bool websocket_session::close(std::uint16_t code, std::string_view reason) {
  if (close_code_ || finished_ || !ws_.is_open()) return false;
  close_code_ = code;
  begin_closing();
  websocket::close_reason why(code);
  reason = reason.substr(0, websocket::reason_string::static_capacity);
  why.reason.assign(reason.data(), reason.size());
  ws_.async_close(why, [self = shared_from_this()](error_code ec) {
    if (ec) log::debug("connection {}: close: {}", self->id_, ec.message());
  });
  return true;
}

void websocket_session::append_control(net::const_buffer bytes) {
  // Beast's own frames count against the bound too: a client that pings and
  // never reads would otherwise queue pongs without end. The frame itself is
  // kept (Beast counts it written); the close follows once Beast is done.
  if (!close_code_ && !over_output_ && !within_output_limit(bytes.size())) {
    over_output_ = true;
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->close(websocket::close_code::try_again_later, "output limit exceeded");
    });
  }
  queue({static_cast<const char*>(bytes.data()), bytes.size()});
}

void websocket_session::queue(std::string_view bytes) {
  pending_.append(bytes);
  schedule_flush();
}

std::size_t websocket_session::queued_bytes() {
  const tls_layer* tls = ws_.next_layer().tls();
  return pending_.size() + (tls ? tls->sending.size() : 0);
}

void websocket_session::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  home_.schedule_flush(shared_from_this());
}

void websocket_session::flush() {
  flush_scheduled_ = false;
  if (waiting_writable_ || pending_.empty()) return;
  if (tls_layer* tls = ws_.next_layer().tls()) return flush_tls(*tls);
  error_code ec;
  const std::size_t sent = ws_.next_layer().socket().write_some(net::buffer(pending_), ec);
  if (ec == net::error::would_block) ec = {};
  if (ec) {
    pending_.clear();  // the read side sees the broken socket and finishes
  } else if (sent < pending_.size()) {
    // The kernel's buffer is full: keep the rest until the socket drains.
    pending_.erase(0, sent);
    waiting_writable_ = true;
    ws_.next_layer().socket().async_wait(tcp::socket::wait_write,
                                         [self = shared_from_this()](error_code e) { self->on_writable(e); });
    return;
  } else {
    recycle(pending_, sent);
  }
  drained(ec);
}

void websocket_session::flush_tls(tls_layer& tls) {
  // OpenSSL encrypts into Asio's record buffer, which goes out in one or more
  // sends: an async write, with this turn's output set aside so that later
  // output can queue behind it.
  waiting_writable_ = true;
  tls.sending.swap(pending_);
  net::async_write(tls.stream, net::buffer(tls.sending), [self = shared_from_this(), &tls](error_code ec, std::size_t sent) {
    self->waiting_writable_ = false;
    recycle(tls.sending, sent);
    if (ec) self->pending_.clear();  // the read side sees the broken stream and finishes
    if (!self->pending_.empty()) return self->schedule_flush();
    self->drained(ec);
  });
}

void websocket_session::on_writable(error_code ec) {
  waiting_writable_ = false;
  if (ec) {
    pending_.clear();
    return drained(ec);
  }
  flush();
}

void websocket_session::drained(error_code ec) {
  if (!drained_) return;
  auto handler = std::move(*drained_);
  drained_.reset();
  std::move(handler)(ec);
}

void websocket_session::async_drain(output_stream::drain_handler handler) {
  begin_closing();  // Beast's teardown: a close handshake or a protocol error
  if (waiting_writable_ || !pending_.empty()) {
    drained_ = std::move(handler);
    return;
  }
  net::post(ws_.get_executor(), [h = std::move(handler)]() mutable { std::move(h)(error_code{}); });
}

void websocket_session::set_attribute(std::string_view key, std::string_view value) {
  change_state([&](connection_state& state) { state.attributes.insert_or_assign(std::string(key), std::string(value)); });
}

}  // namespace microsockets
