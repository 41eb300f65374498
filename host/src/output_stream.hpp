// The layer under Beast's websocket stream: reads go straight to the socket;
// writes (Beast's handshake response and control frames) are appended to the
// session's output buffer, the same buffer that data frames go to, so the two
// never interleave mid-frame and all of a turn's output leaves in one send.
//
// This leans on Beast writing each frame in a single async_write_some, which
// holds because this layer always takes every byte it is given.
//
// Over TLS, reads come decrypted from the TLS stream, and the session encrypts
// its output buffer when it flushes; this layer is the same for both.
#pragma once

#include "net.hpp"
#include "transport.hpp"

#include <boost/asio/any_completion_handler.hpp>

#include <string>
#include <utility>

namespace microsockets {

class output_stream {
 public:
  using executor_type = tcp::socket::executor_type;
  using drain_handler = net::any_completion_handler<void(error_code)>;

  // Where written bytes go: the session that owns this stream.
  class sink {
   public:
    virtual void append_control(net::const_buffer bytes) = 0;
    // Completes once everything appended so far has been sent.
    virtual void async_drain(drain_handler handler) = 0;

   protected:
    ~sink() = default;
  };

  output_stream(transport t, sink& out) : transport_(std::move(t)), sink_(&out) {}

  executor_type get_executor() noexcept { return socket().get_executor(); }
  tcp::socket& socket() noexcept { return socket_of(transport_); }
  // The TLS layer, or null on a plain connection.
  tls_layer* tls() noexcept {
    auto* tls = std::get_if<std::unique_ptr<tls_layer>>(&transport_);
    return tls ? tls->get() : nullptr;
  }

  // Asio follows each read with a speculative one that usually says EAGAIN.
  // Waiting for readiness instead costs an epoll_ctl per wait (Asio re-arms
  // its edge-triggered registration), which measured no faster.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& bufs) {
          if (early_.empty()) {
            if (tls_layer* t = tls()) return t->stream.async_read_some(bufs, std::move(handler));
            return std::get<tcp::socket>(transport_).async_read_some(bufs, std::move(handler));
          }
          const std::size_t n = net::buffer_copy(bufs, net::buffer(early_));
          early_.erase(0, n);
          if (early_.empty()) std::string().swap(early_);
          net::post(get_executor(), beast::bind_front_handler(std::move(handler), error_code{}, n));
        },
        token, buffers);
  }

  // Bytes that came in the same packet as the upgrade request (a first
  // frame): the HTTP reader has them, so reads return them before the socket's.
  void preload(std::string bytes) { early_ = std::move(bytes); }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& bufs) {
          std::size_t n = 0;
          for (net::const_buffer b : beast::buffers_range_ref(bufs)) {
            sink_->append_control(b);
            n += b.size();
          }
          net::post(get_executor(), beast::bind_front_handler(std::move(handler), error_code{}, n));
        },
        token, buffers);
  }

  // Beast's teardown customisation points (found by argument-dependent lookup).
  friend void teardown(beast::role_type, output_stream& s, error_code& ec) {
    s.socket().shutdown(tcp::socket::shutdown_both, ec);
    s.socket().close(ec);
  }
  template <class Handler>
  friend void async_teardown(beast::role_type, output_stream& s, Handler&& handler) {
    s.sink_->async_drain([&s, h = std::forward<Handler>(handler)](error_code ec) mutable {
      auto close = [&s, h = std::move(h)](error_code ec) mutable {
        error_code ignored;
        s.socket().shutdown(tcp::socket::shutdown_both, ignored);
        s.socket().close(ignored);
        std::move(h)(ec);
      };
      if (tls_layer* t = s.tls(); t && !ec)
        return async_close_notify(*t, [ec, close = std::move(close)](error_code) mutable { std::move(close)(ec); });
      close(ec);
    });
  }
  friend void beast_close_socket(output_stream& s) {
    error_code ignored;
    s.socket().close(ignored);
  }

 private:
  transport transport_;
  sink* sink_;
  std::string early_;
};

}  // namespace microsockets
