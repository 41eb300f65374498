// A single-threaded epoll loop of minimal RFC 6455 client connections: the
// load generator's engine. Lean on purpose, so the server under test, not the
// generator, is what saturates: one read buffer per connection, frames parsed
// in place, client frames masked with a zero key (valid, and free to apply).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <netinet/in.h>

namespace loadgen {

class event_loop;

class connection {
 public:
  enum class state { connecting, handshaking, open, closed };

  // Text messages, after the upgrade.
  std::function<void(connection&, std::string_view text)> on_text;
  // The upgrade completed.
  std::function<void(connection&)> on_open;
  // Closed or failed; `why` says which.
  std::function<void(connection&, std::string_view why)> on_close;

  void send_text(std::string_view text);
  // Appends many frames before one write (see flush).
  void queue_text(std::string_view text);
  void flush();
  // Sends a close frame and resets the connection (no TIME_WAIT on either side).
  void close_now();

  state current() const { return state_; }
  std::size_t unsent() const { return out_.size() - out_sent_; }
  std::uint64_t id = 0;   // for the workload
  int tag = 0;            // for the workload

 private:
  friend class event_loop;
  void on_readable();
  void on_writable();
  bool consume();  // handles what was read; false once closed
  void parse_frames();
  void fail(std::string_view why);
  void want_write(bool on);

  event_loop* loop_ = nullptr;
  int fd_ = -1;
  state state_ = state::connecting;
  std::string path_;
  std::string in_;
  std::size_t in_used_ = 0;
  std::string out_;
  std::size_t out_sent_ = 0;
  bool writing_armed_ = false;
};

class event_loop {
 public:
  explicit event_loop(sockaddr_in server);
  ~event_loop();

  // Header lines ("Name: value\r\n" each) added to every upgrade request.
  void set_extra_headers(std::string lines) { extra_headers_ = std::move(lines); }

  // Starts a connection to `path` (on `port` of the server's address when
  // given: members spread over several hosts); its callbacks may be set right after.
  connection& connect(std::string path, int port = 0);
  // Runs until `done` returns true or `timeout_ms` passes; false on timeout.
  // `tick`, if given, runs after each batch of ready connections.
  bool run_until(const std::function<bool()>& done, std::int64_t timeout_ms,
                 const std::function<void()>& tick = {});
  // Forgets closed connections.
  void sweep();
  std::size_t size() const { return connections_.size(); }
  std::vector<std::unique_ptr<connection>>& connections() { return connections_; }

 private:
  friend class connection;
  int epoll_;
  sockaddr_in server_;
  std::string extra_headers_;
  std::vector<std::unique_ptr<connection>> connections_;
};

std::int64_t now_us();

}  // namespace loadgen
