// One WebSocket connection after the upgrade. The host reads and writes the
// frames itself (RFC 6455 sections 5 to 7, frame_reader): on a plain
// connection the socket is released from Asio's reactor and its worker's
// readiness says when to read and write; over TLS the same frames are read
// from the decrypted stream. Data frames are appended to an output buffer
// that the worker writes once per loop turn, bounded by max_output_bytes: a
// plain non-blocking send, so a turn costs no completion handler per
// connection.
//
// While idle a connection holds its socket, this object and its published
// state: read and write buffers exist only while there are bytes.
//
// Lifetime: owned by its worker's connection map from the upgrade until the
// connection ends (finish), and by itself until its socket is closed. All
// members are touched on the worker's thread only, except what it publishes
// for other threads to read: the immutable request and the connection_state.
#pragma once

#include "net/connection_slot.hpp"
#include "websocket/frame_reader.hpp"
#include "base/net.hpp"
#include "base/rate_limit.hpp"
#include "net/readiness.hpp"
#include "websocket/request_info.hpp"
#include "websocket/session_events.hpp"
#include "net/transport.hpp"

#include <microsockets/abi.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace microsockets {

// What other threads may read of a connection without waiting for its
// worker: replaced whole by the worker on every change (copy, change,
// publish), so a reader holds a consistent snapshot.
struct connection_state {
  std::map<std::string, std::string, std::less<>> attributes;
  std::vector<std::string> rooms;  // in join order
  std::size_t room_bytes = 0;      // the names' bytes together (--max-room-names-bytes)
};

class websocket_session final : public std::enable_shared_from_this<websocket_session>,
                                private readiness::handler {
 public:
  using attributes = decltype(connection_state::attributes);

  // `connection`: the upgraded socket (non-blocking already), or TLS over it.
  websocket_session(transport connection, session_home& home, session_events& events, const session_limits& limits,
                    request_info request, attributes attrs, connection_slot slot = {});
  ~websocket_session();

  // Sends the 101 response, then reads until the connection ends, starting
  // with `early_bytes`: what the HTTP reader read past the upgrade request.
  void start(std::string response, std::string early_bytes);

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
  // Reads what a plain connection's socket has, up to a turn's bound (called
  // on readiness, and by the worker for a read it deferred to this turn).
  void read_plain();

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
    if (copy->attributes.empty() && copy->rooms.empty()) copy.reset();  // room_bytes is 0 then
    state_.store(std::move(copy), std::memory_order_release);
  }
  void set_attribute(std::string_view key, std::string_view value);  // worker's thread

 private:
  // Input.
  void on_ready(std::uint32_t events) override;
  void read_tls();
  void received(char* data, std::size_t size);
  bool on_frame(frame_kind kind, std::string_view payload);
  void on_message(frame_kind kind, std::string_view text);
  void on_close_frame(std::string_view body);
  void input_ended();  // EOF or a broken connection

  // Output.
  void queue(std::string_view bytes);
  bool queue_control(unsigned opcode, std::string_view payload);  // ping or pong, within the output limit
  void queue_close(std::uint16_t code, std::string_view reason);
  std::size_t queued_bytes() const;  // not yet taken by the kernel (over TLS, also those being sent)
  bool output_pending() const { return waiting_writable_ || !pending_.empty(); }
  void flush_tls();
  void schedule_flush();
  void write_failed();

  // The end: the disconnect is reported once (finish), then the output drains,
  // the sending side is shut, and the socket closes at EOF or at the cut.
  void finish(std::uint16_t code);
  void progress();
  void close_socket();

  // Limits.
  bool within_output_limit(std::size_t more);  // false (and counted) past max_output_bytes
  // False (and counted) for `frames` frames over --max-rate, or, when they
  // are no message (`message` false), over --max-control-rate.
  bool within_rate(bool message, std::uint32_t frames = 1);
  void begin_closing();  // from here the connection has close_timeout_seconds left
  void cut();

  session_home& home_;
  session_events& events_;
  const session_limits& limits_;
  const ms_conn_id id_;
  const request_info request_;
  bool watched_ = false;             // by the HTTP session, until start() takes its events over
  int fd_ = -1;                      // a plain connection's socket, until closed
  std::unique_ptr<tls_layer> tls_;   // or TLS over it
  frame_reader reader_;
  std::string pending_;  // queued, not yet accepted by the kernel
  std::shared_ptr<websocket_session> self_;  // while the socket is open

  // The connection's life, in order; the socket closes after the last (self_
  // is null from then), at the peer's EOF, a write failure or the cut.
  enum class stage : std::uint8_t {
    open,      // messages both ways
    closing,   // this side's close frame is queued (nothing may follow it); the peer's is awaited
    finished,  // the disconnect was reported: input is read and dropped, the output drains
    shut,      // the sending side is shut (FIN, or TLS close_notify); the peer's EOF is awaited
  };
  stage stage_ = stage::open;
  bool input_ended_ = false;      // the peer's EOF, or the connection broke: the socket may close
  std::uint16_t close_code_ = 0;  // the code this side closed with, if it did

  // Reading and writing, whatever the stage.
  std::uint32_t last_heard_ = 0;  // session_home::now() of the last bytes received
  bool pinged_ = false;
  bool hung_up_ = false;          // the peer will send nothing more
  bool paused_ = false;           // this turn's bound was reached; bytes may be held
  std::uint16_t messages_left_ = 0;  // in this turn
  bool waiting_writable_ = false;  // or, over TLS, a write in flight
  bool flush_scheduled_ = false;
  bool over_output_ = false;
  bool counted_open_ = false;  // in connections_open until its fd is closed

  // Limits: the per-address slot, the rate, the closing deadline.
  connection_slot slot_;
  rate_limit rate_;
  std::unique_ptr<net::steady_timer> cut_timer_;  // armed once closing begins

  std::atomic<std::shared_ptr<const connection_state>> state_;
};

}  // namespace microsockets
