// One WebSocket connection: Beast does the handshake, reading, ping/pong and
// close; data frames are appended to an output buffer that the worker writes
// once per loop turn, bounded by max_output_bytes. That write is a plain
// non-blocking send: only when the kernel's buffer is full does the session
// wait for the socket to become writable, so a turn costs no completion
// handler per connection.
//
// Lifetime: owned by its worker's connection map from accept until the read
// loop ends (finish), and by any operation in flight. All members are touched
// on the worker's thread only, except what it publishes for other threads to
// read: the immutable request and the connection_state.
#pragma once

#include "connection_slot.hpp"
#include "net.hpp"
#include "output_stream.hpp"
#include "rate_limit.hpp"
#include "request_info.hpp"

#include <microsockets/abi.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace microsockets {

class server;
class worker;

// What other threads may read of a connection without waiting for its
// worker: replaced whole by the worker on every change (copy, change,
// publish), so a reader holds a consistent snapshot.
struct connection_state {
  std::map<std::string, std::string, std::less<>> attributes;
  std::vector<std::string> rooms;  // in join order
};

class websocket_session final : public std::enable_shared_from_this<websocket_session>,
                                private output_stream::sink {
 public:
  using attributes = decltype(connection_state::attributes);
  using header_list = std::vector<std::pair<std::string, std::string>>;

  // `connection`: the upgraded socket, or TLS over it; `early_bytes`: what
  // the HTTP reader read past the upgrade request.
  websocket_session(transport connection, worker& home, server& srv, request_info request, attributes attrs,
                    connection_slot slot = {}, std::string early_bytes = {});
  ~websocket_session();

  // Completes the upgrade of `req`, then reads until the connection ends.
  void start(http::request<http::string_body> req, header_list response_headers, std::string protocol);

  ms_conn_id id() const { return id_; }
  const request_info& request() const { return request_; }  // immutable: any thread

  // Queues an encoded frame; false if the connection is closing (nothing
  // may follow a close frame). Past the output limit the client is closed
  // with 1013 and this frame is not queued.
  bool send(std::string_view frame);
  // Starts the close handshake; false (and nothing done) if it had started.
  bool close(std::uint16_t code, std::string_view reason);
  // Writes the queued output (called by the worker at the end of a turn).
  void flush();

  // Called once a second by the worker: ping, close or free buffers as the
  // connection's silence warrants (see options::idle_timeout_seconds).
  void check_idle(std::uint32_t now, unsigned idle_timeout);

  // The last published state; null while it has no attributes and no rooms
  // (most idle connections). Any thread.
  std::shared_ptr<const connection_state> state() const { return state_.load(std::memory_order_acquire); }
  // Copies the state, lets `change` edit the copy, publishes it. Worker's thread.
  template <class Change>
  void change_state(Change&& change) {
    auto next = state_.load(std::memory_order_relaxed);
    auto copy = next ? std::make_shared<connection_state>(*next) : std::make_shared<connection_state>();
    change(*copy);
    if (copy->attributes.empty() && copy->rooms.empty()) copy.reset();
    state_.store(std::move(copy), std::memory_order_release);
  }
  void set_attribute(std::string_view key, std::string_view value);  // worker's thread

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

  // Limits (issue 9).
  bool within_output_limit(std::size_t more);  // false (and counted) past max_output_bytes
  bool within_rate();  // false (and counted) for a message over --max-rate
  void begin_closing();  // from here the connection has close_timeout_seconds left
  void cut();

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
  bool pinged_ = false;
  bool finished_ = false;

  // Limits (issue 9).
  connection_slot slot_;
  rate_limit rate_;
  std::unique_ptr<net::steady_timer> cut_timer_;  // armed once closing begins
  bool over_output_ = false;
  bool counted_open_ = false;  // in connections_open until destroyed, when its fd is gone

  std::atomic<std::shared_ptr<const connection_state>> state_;
};

}  // namespace microsockets
