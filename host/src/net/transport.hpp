// A connection's byte stream: plain TCP, or TLS over it (--tls-cert). The
// listener's port speaks one or the other, never both (as uWebSockets' SSLApp).
//
// TLS is Asio's ssl::stream over Debian's OpenSSL. An idle TLS connection
// measured 75 KiB against 3.9 for a plain one: Asio's two 17 KiB record
// buffers and OpenSSL's state. The plain path pays one variant check per read
// and per flush.
#pragma once

#include "base/net.hpp"
#include "net/accepted_socket.hpp"

#include <boost/asio/ssl.hpp>

#include <array>
#include <memory>
#include <string>
#include <variant>

namespace microsockets {

namespace ssl = net::ssl;

// TLS over one connection, allocated when its first bytes arrive (not at
// accept: a silent connection must cost next to nothing) and handed from the
// HTTP session to the WebSocket session. Its TCP stream keeps Beast's timeouts for
// the handshake and the HTTP request.
struct tls_layer {
  tls_layer(tcp::socket socket, ssl::context& context) : stream(beast::tcp_stream(std::move(socket)), context) {}

  ssl::stream<beast::tcp_stream> stream;
  // Output being encrypted and sent; what queues meanwhile waits for the next write.
  std::string sending;
  // Where decrypted input is read to (a plain connection borrows its worker's buffer).
  std::array<char, 16 * 1024> decrypted;
};

// What an open WebSocket connection reads from and writes to: a plain
// socket's descriptor, which no Asio reactor watches, or TLS.
using transport = std::variant<accepted_socket, std::unique_ptr<tls_layer>>;

// Sends TLS's close_notify without waiting for the peer's (as nginx does): the
// WebSocket close handshake has already said that the data is complete, and a
// peer that never answers must not hold the connection open.
template <class Handler>
void async_close_notify(tls_layer& tls, Handler&& handler) {
  SSL* ssl = tls.stream.native_handle();
  SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
  tls.stream.async_shutdown(std::forward<Handler>(handler));
}

}  // namespace microsockets
