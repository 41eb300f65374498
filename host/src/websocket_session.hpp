// One WebSocket connection: Beast does the handshake, reading, ping/pong and
// close; data frames are appended to an output buffer that the worker writes
// once per loop turn, bounded by max_output_bytes. That write is a plain
// non-blocking send: only when the kernel's buffer is full does the session
// wait for the socket to become writable, so a turn costs no completion
// handler per connection.
//
// Lifetime: owned by its worker's connection map from accept until the read
// loop ends (finish), and by any operation in flight. All members but the
// attributes (guarded by attributes_mutex_) are touched on the worker's thread only.
#pragma once

#include "net.hpp"
#include "output_stream.hpp"
#include "request_info.hpp"

#include <microsockets/abi.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace microsockets {

class server;
class worker;

class websocket_session final : public std::enable_shared_from_this<websocket_session>,
                                private output_stream::sink {
 public:
  using attributes = std::map<std::string, std::string, std::less<>>;
  using header_list = std::vector<std::pair<std::string, std::string>>;

  // `connection`: the upgraded socket, or TLS over it.
  websocket_session(transport connection, worker& home, server& srv, request_info request, attributes attrs);

  // Completes the upgrade of `req`, then reads until the connection ends.
  void start(http::request<http::string_body> req, header_list response_headers, std::string protocol);

  ms_conn_id id() const { return id_; }
  const request_info& request() const { return request_; }  // immutable: any thread

  // Queues an encoded frame. Past the output limit the client is closed with 1013.
  void send(std::string_view frame);
  // Starts the close handshake; later calls do nothing.
  void close(std::uint16_t code, std::string_view reason);
  // Writes the queued output (called by the worker at the end of a turn).
  void flush();

  // Called once a second by the worker: ping, close or free buffers as the
  // connection's silence warrants (see options::idle_timeout_seconds).
  void check_idle(std::uint32_t now, unsigned idle_timeout);

  void set_attribute(std::string_view key, std::string_view value);  // any thread
  std::optional<std::string> attribute(std::string_view key);        // any thread

 private:
  void append_control(net::const_buffer bytes) override;
  void async_drain(output_stream::drain_handler handler) override;

  void queue(std::string_view bytes);
  // Bytes queued and not yet taken by the kernel (over TLS, also those being encrypted and sent).
  std::size_t queued_bytes();
  void flush_tls(tls_layer& tls);
  void schedule_flush();
  void on_writable(error_code ec);
  void on_accept(error_code ec);
  void read();
  void on_read(error_code ec, std::size_t bytes);
  void finish(error_code ec);
  void drained(error_code ec);

  websocket::stream<output_stream> ws_;
  worker& home_;
  server& server_;
  const ms_conn_id id_;
  const request_info request_;
  // Messages are read in small pieces: an idle connection holds no read
  // buffer but this one, and a larger message is assembled in message_.
  std::array<char, 64> read_chunk_;
  std::string message_;

  std::string pending_;  // queued, not yet accepted by the kernel
  bool waiting_writable_ = false;  // or, over TLS, a write in flight
  bool flush_scheduled_ = false;
  std::optional<output_stream::drain_handler> drained_;  // a teardown waiting for the output

  std::uint16_t close_code_ = 0;  // the code we closed with, if we did
  std::uint32_t last_heard_ = 0;  // worker::now() of the last frame received
  std::uint32_t closing_since_ = 0;
  bool pinged_ = false;
  bool finished_ = false;

  std::mutex attributes_mutex_;
  std::unique_ptr<attributes> attributes_;  // most connections never set one
};

}  // namespace microsockets
