#include "websocket_session.hpp"

#include "log.hpp"
#include "server.hpp"
#include "stats.hpp"
#include "worker.hpp"

namespace microsockets {

namespace {

// A write buffer larger than this after a burst is given back to the allocator.
constexpr std::size_t keep_buffer_bytes = 64 * 1024;

std::uint16_t close_code_for(error_code ec, const websocket::stream<output_stream>& ws) {
  if (ec == websocket::error::closed)  // a close frame without a code means 1005
    return ws.reason().code ? std::uint16_t(ws.reason().code) : std::uint16_t(websocket::close_code::no_status);
  if (ec == websocket::error::message_too_big) return websocket::close_code::too_big;
  if (ec == websocket::error::bad_frame_payload) return websocket::close_code::bad_payload;
  if (ec == websocket::condition::protocol_violation) return websocket::close_code::protocol_error;
  return 1006;  // closed without a close frame (RFC 6455 7.1.5)
}

}  // namespace

websocket_session::websocket_session(tcp::socket socket, worker& home, server& srv,
                                     request_info request, attributes attrs)
    : ws_(std::move(socket), static_cast<output_stream::sink&>(*this)),
      home_(home),
      server_(srv),
      id_(home.next_id()),
      request_(std::move(request)),
      attributes_(attrs.empty() ? nullptr : std::make_unique<attributes>(std::move(attrs))) {}

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
  ws_.next_layer().socket().non_blocking(true, ignored);  // flush() never blocks
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
  if (ws_.got_binary()) close(websocket::close_code::unknown_data, "binary messages are not supported");
  else server_.received(*this, text);
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
  home_.remove(*this);
  server_.disconnected(id_, code);
}

void websocket_session::send(std::string_view frame) {
  if (close_code_ || finished_ || !ws_.is_open()) return;  // nothing may follow a close frame
  const std::size_t limit = server_.opts().max_output_bytes;
  if (pending_.size() + frame.size() > limit) {
    counters.slow_consumers_closed.fetch_add(1, std::memory_order_relaxed);
    log::warn("connection {} ({}): closing with 1013, it fell {} bytes behind (limit {})", id_,
              request_.remote(), pending_.size() + frame.size(), limit);
    // What is queued stays (its first frame may be half sent): the client reads
    // up to here, then the close frame, and never a gap.
    close(websocket::close_code::try_again_later, "output limit exceeded");
    return;
  }
  queue(frame);
  home_.traffic().messages_out.add();
  home_.traffic().bytes_out.add(frame.size());
}

void websocket_session::check_idle(std::uint32_t now, unsigned idle_timeout) {
  // The peer has this long to answer our close frame before the socket is shut.
  constexpr std::uint32_t close_grace = 5;
  if (finished_) return;
  if (close_code_) {
    if (now - closing_since_ >= close_grace) {
      error_code ignored;
      ws_.next_layer().socket().close(ignored);  // the pending read fails: finish()
    }
    return;
  }
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

void websocket_session::close(std::uint16_t code, std::string_view reason) {
  if (close_code_ || finished_ || !ws_.is_open()) return;
  close_code_ = code;
  closing_since_ = home_.now();
  websocket::close_reason why(code);
  reason = reason.substr(0, websocket::reason_string::static_capacity);
  why.reason.assign(reason.data(), reason.size());
  ws_.async_close(why, [self = shared_from_this()](error_code ec) {
    if (ec) log::debug("connection {}: close: {}", self->id_, ec.message());
  });
}

void websocket_session::append_control(net::const_buffer bytes) {
  queue({static_cast<const char*>(bytes.data()), bytes.size()});
}

void websocket_session::queue(std::string_view bytes) {
  pending_.append(bytes);
  schedule_flush();
}

void websocket_session::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  home_.schedule_flush(shared_from_this());
}

void websocket_session::flush() {
  flush_scheduled_ = false;
  if (waiting_writable_ || pending_.empty()) return;
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
    // A small write gives its buffer back at once (a malloc is cheap next to
    // the send), so idle connections hold none; a large one keeps it for the
    // next turn's burst, up to keep_buffer_bytes.
    if (sent < 512 || pending_.capacity() > keep_buffer_bytes) std::string().swap(pending_);
    else pending_.clear();
  }
  drained(ec);
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
  if (waiting_writable_ || !pending_.empty()) {
    drained_ = std::move(handler);
    return;
  }
  net::post(ws_.get_executor(), [h = std::move(handler)]() mutable { std::move(h)(error_code{}); });
}

void websocket_session::set_attribute(std::string_view key, std::string_view value) {
  std::lock_guard lock(attributes_mutex_);
  if (!attributes_) attributes_ = std::make_unique<attributes>();
  attributes_->insert_or_assign(std::string(key), std::string(value));
}

std::optional<std::string> websocket_session::attribute(std::string_view key) {
  std::lock_guard lock(attributes_mutex_);
  if (!attributes_) return std::nullopt;
  if (auto it = attributes_->find(key); it != attributes_->end()) return it->second;
  return std::nullopt;
}

}  // namespace microsockets
