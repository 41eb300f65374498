// One HTTP connection until it upgrades: reads requests, lets the on_connect
// hooks decide an upgrade, serves /healthz, /metrics and the --static files,
// 404 for the rest. Requests over the limits get 431 (headers), 414 (target),
// 400 if malformed or without exactly one Host, as nginx answers them;
// disallowed origins 403. Only the header is read: nothing served takes a
// body, so one announced gets 413 unread, a transfer coding but chunked 501.
// With --tls-cert it does the TLS handshake first, then the same. Nothing
// but the socket is allocated before the first bytes arrive (the TLS state
// is 75 KiB); a TLS handshake must be done --tls-handshake-timeout after accept.
#pragma once

#include "base/net.hpp"
#include "http/http_context.hpp"
#include "net/connection_slot.hpp"
#include "net/readiness.hpp"
#include "net/transport.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <variant>

namespace microsockets {

class static_files;

class http_session final : public std::enable_shared_from_this<http_session>, readiness::handler {
 public:
  // `home`: the loop the socket runs on, where the connection stays after the upgrade.
  http_session(accepted_socket socket, session_home& home, const http_context& context, connection_slot slot = {});
  void run();

 private:
  // Plain: reads a request that has already arrived, or closes a connection
  // that ended without one; false when there is nothing yet.
  bool read_arrived();
  // Plain: the first bytes are awaited in the worker's readiness, which then
  // goes on watching the WebSocket connection (no Asio registration).
  void on_ready(std::uint32_t events) override;
  // Closes a socket that never entered Asio's reactor.
  void drop_unadopted();
  void new_parser();
  void read_header();
  void on_first_bytes(error_code ec);
  void on_handshake(error_code ec);
  void handshake_failed(error_code ec);  // counted, and logged at most once a second
  void read();
  void on_read(error_code ec, std::size_t bytes);
  void upgrade(http::request<http::string_body> req);
  // The connection as the WebSocket session takes it, out of Asio's reactor
  // if it was in it (a plain socket) or with its TLS stream.
  transport release_transport();
  void serve_file(const http::request<http::string_body>& req, const static_files& files,
                  const std::filesystem::path& file);
  template <class Body>
  void respond(http::response<Body> res);
  // A request that cannot be served (431, 414, 400, 413): answered, then closed.
  void refuse(http::status status);
  // After our last response: read and drop what the client still sends, for a
  // moment, so that closing does not reset the connection before it reads the answer.
  void linger();
  void drop_input();
  // Calls fn with the stream HTTP goes over: the TCP stream, or TLS over it.
  template <class Fn>
  void with_stream(Fn&& fn);
  // The TCP stream; a plain socket enters Asio's reactor here, on first use.
  beast::tcp_stream& tcp_layer();
  void end();  // no more requests: close the sending side

  using stream_type = std::variant<beast::tcp_stream, std::unique_ptr<tls_layer>>;
  stream_type stream_;
  tcp::endpoint peer_;
  session_home& home_;
  const http_context& context_;
  net::steady_timer first_bytes_deadline_;  // until the first bytes
  bool waiting_ = true;                     // for them
  beast::flat_buffer buffer_;
  // Allocated per request, so that a silent connection does without its 280 bytes.
  std::unique_ptr<http::request_parser<http::string_body>> parser_;
  // Header bytes parsed before read_header (by read_arrived), for on_read's count.
  std::size_t parsed_before_ = 0;
  connection_slot slot_;
  // A plain socket Asio does not watch yet: a request that has arrived and
  // upgrades goes to the worker's readiness without ever entering Asio's
  // reactor (an epoll_ctl ADD and DEL fewer).
  std::optional<accepted_socket> unadopted_;
};

}  // namespace microsockets
