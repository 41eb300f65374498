// A connection fed arbitrary bytes after a fixed handshake, read the way
// websocket_session reads: Beast's server-side websocket stream over the
// host's own output_stream (so pongs, close frames and the teardown go
// through the same layer as in the host), 64-byte read_some chunks assembled
// into messages, binary refused with 1003, each text message to the envelope
// parser. The bytes come from the other end of a socketpair, then EOF.
//
// Why not the real websocket_session: it needs a worker, a server and a
// plugin table, whose state would carry from one input to the next; what
// arbitrary frames reach is this stream and these few lines, and the issue
// "read path" replaces the stream anyway (a differential target goes beside).
#include "envelope.hpp"
#include "net.hpp"
#include "output_stream.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace microsockets;

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // a finding: libFuzzer saves the input
}

// Small, so that inputs of a few KiB reach "message too big" (1009).
constexpr std::size_t max_message = 1024;

// What the session is to its output_stream: a sink that takes every byte
// (here, counts and drops them) and drains at once.
class connection final : output_stream::sink {
 public:
  connection(tcp::socket socket) : ws_(std::move(socket), static_cast<output_stream::sink&>(*this)) {}

  void start(const http::request<http::string_body>& upgrade) {
    ws_.read_message_max(max_message);
    ws_.async_accept(upgrade, [this](error_code ec) {
      if (!ec) read();
    });
  }

 private:
  void append_control(net::const_buffer bytes) override { written_ += bytes.size(); }
  void async_drain(output_stream::drain_handler handler) override {
    net::post(ws_.get_executor(), [h = std::move(handler)]() mutable { std::move(h)(error_code{}); });
  }

  void read() {
    ws_.async_read_some(net::buffer(chunk_), [this](error_code ec, std::size_t bytes) { on_read(ec, bytes); });
  }

  // websocket_session::on_read, less the server.
  void on_read(error_code ec, std::size_t bytes) {
    if (ec) return;
    std::string_view text(chunk_.data(), bytes);
    if (!ws_.is_message_done() || !message_.empty()) {
      message_.append(text);
      check(message_.size() <= max_message);
      if (!ws_.is_message_done()) return read();
      text = message_;
    }
    if (ws_.got_binary()) close(websocket::close_code::unknown_data);
    else parse_envelope(text);
    message_.clear();
    read();
  }

  void close(websocket::close_code code) {
    if (closing_ || !ws_.is_open()) return;
    closing_ = true;
    ws_.async_close(code, [](error_code) {});
  }

  websocket::stream<output_stream> ws_;
  std::array<char, 64> chunk_;
  std::string message_;
  std::size_t written_ = 0;
  bool closing_ = false;
};

http::request<http::string_body> handshake() {
  http::request<http::string_body> req{http::verb::get, "/", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  return req;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto upgrade = handshake();
  if (size > 64 * 1024) return 0;  // stays within the socket buffer: one write, no blocking

  int fds[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  for (std::size_t sent = 0; sent < size;) {
    const ssize_t n = ::send(fds[1], data + sent, size - sent, MSG_NOSIGNAL);
    check(n > 0);
    sent += std::size_t(n);
  }
  ::shutdown(fds[1], SHUT_WR);  // the client sends nothing more

  // One loop for every input: a new one costs a dozen system calls, and the
  // memory Asio recycles per thread would make each input look like a leak.
  static net::io_context ioc;
  ioc.restart();
  {
    tcp::socket socket(ioc);
    socket.assign(tcp::v4(), fds[0]);
    connection conn(std::move(socket));
    conn.start(upgrade);
    ioc.run();  // ends when the connection has read to EOF and torn down
  }
  ::close(fds[1]);
  return 0;
}
