// The layer under Beast's websocket stream: reads go straight to the socket;
// writes (Beast's handshake response and control frames) are appended to the
// session's output buffer, the same buffer that data frames go to, so the two
// never interleave mid-frame and all of a turn's output leaves in one send.
//
// This leans on Beast writing each frame in a single async_write_some, which
// holds because this layer always takes every byte it is given.
#pragma once

#include "net.hpp"

#include <boost/asio/any_completion_handler.hpp>

#include <cstdint>
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

  output_stream(tcp::socket socket, sink& out) : socket_(std::move(socket)), sink_(&out) {}

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  tcp::socket& socket() noexcept { return socket_; }

  // Asio follows every successful read with a speculative one, which after a
  // short read can only say EAGAIN: two recvmsg calls per message. After a
  // short read this waits for readiness first instead, but only if the
  // reactor has not polled since that read (see worker::poll_count): an edge
  // it consumed meanwhile would never wake the wait.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& bufs) {
          const std::size_t wanted = net::buffer_size(bufs);
          if (drained_ && drained_at_ == poll_count()) return wait_then_read(bufs, wanted, std::move(handler));
          socket_.async_read_some(bufs, [this, wanted, h = std::move(handler)](error_code ec, std::size_t n) mutable {
            note_read(n, wanted);
            std::move(h)(ec, n);
          });
        },
        token, buffers);
  }

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
    s.socket_.shutdown(tcp::socket::shutdown_both, ec);
    s.socket_.close(ec);
  }
  template <class Handler>
  friend void async_teardown(beast::role_type, output_stream& s, Handler&& handler) {
    s.sink_->async_drain([&s, h = std::forward<Handler>(handler)](error_code ec) mutable {
      error_code ignored;
      s.socket_.shutdown(tcp::socket::shutdown_both, ignored);
      s.socket_.close(ignored);
      std::move(h)(ec);
    });
  }
  friend void beast_close_socket(output_stream& s) {
    error_code ignored;
    s.socket_.close(ignored);
  }

 private:
  static std::uint64_t poll_count();

  void note_read(std::size_t n, std::size_t wanted) {
    drained_ = n < wanted;
    drained_at_ = poll_count();
  }

  template <class MutableBuffers, class Handler>
  void wait_then_read(const MutableBuffers& buffers, std::size_t wanted, Handler&& handler) {
    socket_.async_wait(tcp::socket::wait_read, [this, buffers, wanted, h = std::forward<Handler>(handler)](
                                                   error_code ec) mutable {
      if (ec) return std::move(h)(ec, std::size_t(0));
      const std::size_t n = socket_.read_some(buffers, ec);
      if (ec == net::error::would_block) return wait_then_read(buffers, wanted, std::move(h));  // spurious
      note_read(n, wanted);
      std::move(h)(ec, n);
    });
  }

  tcp::socket socket_;
  sink* sink_;
  bool drained_ = false;         // the last read returned less than it asked for
  std::uint64_t drained_at_ = 0;  // poll_count() then
};

}  // namespace microsockets
