#include "http/http_session.hpp"

#include "base/tuning.hpp"

#include "base/log.hpp"
#include "base/log_limiter.hpp"
#include "base/stats.hpp"
#include "http/handshake.hpp"
#include "http/origin_policy.hpp"
#include "http/static_files.hpp"
#include "net/proxy_trust.hpp"
#include "net/tls_context.hpp"
#include "websocket/websocket_handshake.hpp"
#include "websocket/websocket_session.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/algorithm/string/trim.hpp>
#include <boost/url/parse.hpp>

#include <cerrno>
#include <chrono>

#include <sys/socket.h>

namespace microsockets {
namespace {


http::response<http::string_body> text_response(const http::request<http::string_body>& req,
                                                http::status status, std::string body,
                                                std::string_view type = "text/plain; charset=utf-8") {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, "microsockets");
  res.set(http::field::content_type, type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::optional<std::string_view> header(const http::request<http::string_body>& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::nullopt : std::optional<std::string_view>(it->value());
}

std::string describe_peer(const tcp::endpoint& peer) {
  return fmt::format("{}:{}", peer.address().to_string(), peer.port());
}

request_info describe(const http::request<http::string_body>& req, const tcp::endpoint& peer, const proxy_trust& proxies) {
  request_info info(req.target(), proxies.client(peer, header(req, "X-Forwarded-For"), header(req, "Forwarded")));
  for (const auto& field : req) info.add_header(field.name_string(), field.value());
  return info;
}

// What a request's header alone says is wrong with it, as RFC 9112 answers
// it: a Host missing (HTTP/1.1) or repeated, 400; a transfer coding other
// than chunked, 501 (we cannot tell where its body ends); any body at all,
// 413, before a byte of it is read.
std::optional<http::status> header_refusal(const http::request_parser<http::string_body>& parser) {
  const auto& req = parser.get();
  const auto hosts = req.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && req.version() >= 11)) return http::status::bad_request;
  if (const auto codings = req.count(http::field::transfer_encoding)) {
    const auto value = boost::algorithm::trim_copy(std::string(req[http::field::transfer_encoding]));
    if (codings > 1 || !boost::algorithm::iequals(value, "chunked")) return http::status::not_implemented;
  }
  if (parser.chunked() || parser.content_length().value_or(0) > 0) return http::status::payload_too_large;
  return std::nullopt;
}

// The origin form (/path?query) of an absolute-form target
// (http://host/path?query), which RFC 9112 3.2.2 says a server must take;
// nothing for any other target.
std::optional<std::string> origin_form(std::string_view target) {
  auto uri = boost::urls::parse_absolute_uri(target);
  if (!uri || (!boost::algorithm::iequals(uri->scheme(), "http") && !boost::algorithm::iequals(uri->scheme(), "https")))
    return std::nullopt;
  std::string path = uri->encoded_path().empty() ? "/" : std::string(uri->encoded_path());
  if (uri->has_query()) path += fmt::format("?{}", std::string_view(uri->encoded_query()));
  return path;
}

// OpenSSL's verdict on a plain HTTP request sent to the TLS port.
bool is_plain_http(error_code ec) {
  return ec.category() == net::error::get_ssl_category() && ERR_GET_REASON(ec.value()) == SSL_R_HTTP_REQUEST;
}

}  // namespace

http_session::http_session(accepted_socket socket, session_home& home, const http_context& context,
                           connection_slot slot)
    : stream_(beast::tcp_stream(home.context())),
      peer_(socket.peer()),
      home_(home),
      context_(context),
      first_bytes_deadline_(home.context()),
      slot_(std::move(slot)),
      unadopted_(std::move(socket)) {}

template <class Fn>
void http_session::with_stream(Fn&& fn) {
  if (auto* tls = std::get_if<std::unique_ptr<tls_layer>>(&stream_)) fn((*tls)->stream);
  else fn(tcp_layer());
}

beast::tcp_stream& http_session::tcp_layer() {
  if (auto* tls = std::get_if<std::unique_ptr<tls_layer>>(&stream_)) return (*tls)->stream.next_layer();
  auto& plain = std::get<beast::tcp_stream>(stream_);
  if (unadopted_) {
    if (unadopted_->watched) home_.unwatch(unadopted_->fd());  // Asio waits for it from now on
    const int fd = unadopted_->release();
    unadopted_.reset();
    error_code ec;
    plain.socket().assign(peer_.protocol(), fd, ec);
    if (ec) ::close(fd);  // the reactor refused it: every operation on the closed socket fails
  }
  return plain;
}

void http_session::run() {
  // A TLS handshake's time runs from accept, the wait for a first byte included.
  const bool tls = context_.tls != nullptr;
  if (!tls && read_arrived()) return;
  const bool in_readiness = !tls && home_.watch(unadopted_->fd(), *this);
  if (in_readiness) unadopted_->watched = true;
  first_bytes_deadline_.expires_after(tls ? context_.tls_handshake_timeout
                                          : tuning::request_timeout);
  first_bytes_deadline_.async_wait([self = shared_from_this(), tls](error_code ec) {
    // Cancelled, or the first bytes came first: the stream's own timeouts go on from there.
    if (ec || !self->waiting_) return;
    if (tls) self->handshake_failed(beast::error::timeout);
    if (self->unadopted_) return self->drop_unadopted();  // the last owner of the session lets go
    self->tcp_layer().socket().close(ec);  // ends the wait below
  });
  if (in_readiness) return;
  // Readability costs nothing but the reactor's entry: the parser, the read
  // buffer and the TLS state wait for bytes (2.7 KiB a silent plain
  // connection with them, 1.5 without; 75 KiB with TLS's).
  tcp_layer().socket().async_wait(tcp::socket::wait_read,
                                  beast::bind_front_handler(&http_session::on_first_bytes, shared_from_this()));
}

bool http_session::read_arrived() {
  // A client sends its request as soon as it is connected: by the time the
  // worker takes the connection, the request has usually arrived. One recv
  // then replaces a readiness wait (an epoll_ctl), a timer, and Asio's
  // switch to non-blocking mode (an ioctl) before its own read: three of the
  // upgrade's 19 syscalls. Into the worker's buffer first, so that a
  // connection with nothing to read yet still holds no buffer of its own.
  const auto spare = home_.read_buffer();
  const ssize_t n = ::recv(unadopted_->fd(), spare.data(), spare.size(), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;  // wait for it
  if (n <= 0) {  // closed (or reset) without a byte
    drop_unadopted();
    return true;
  }
  buffer_.commit(net::buffer_copy(buffer_.prepare(std::size_t(n)), net::buffer(spare.data(), std::size_t(n))));
  // Parsed here: Beast's read would first put the socket in Asio's reactor.
  new_parser();
  error_code ec;
  const auto used = parser_->put(buffer_.data(), ec);
  buffer_.consume(used);
  if (ec != http::error::need_more) {
    on_read(ec, used);
    return true;
  }
  parsed_before_ = used;
  read_header();
  return true;
}

void http_session::on_ready(std::uint32_t events) {
  if (!waiting_ || !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;  // writable: nothing yet
  auto self = shared_from_this();  // the deadline's handler holds it, until cancelled
  if (!read_arrived()) return;
  waiting_ = false;
  first_bytes_deadline_.cancel();
}

void http_session::drop_unadopted() {
  if (unadopted_->watched) home_.unwatch(unadopted_->fd());
  unadopted_.reset();
}

void http_session::on_first_bytes(error_code ec) {
  auto& socket = tcp_layer().socket();
  if (ec || !socket.is_open()) return;  // cut by the deadline
  waiting_ = false;
  const auto deadline = first_bytes_deadline_.expiry();
  first_bytes_deadline_.cancel();
  // Plain: read at once (a connection closed without a byte reads its end
  // there). TLS: a handshake is begun only for a connection that sent bytes.
  if (!context_.tls) return read();
  if (socket.available(ec) == 0 || ec) return socket.close(ec);  // closed (or reset) without a byte: nothing began
  stream_ = std::make_unique<tls_layer>(std::get<beast::tcp_stream>(stream_).release_socket(), *context_.tls->current());
  tcp_layer().expires_at(deadline);
  std::get<std::unique_ptr<tls_layer>>(stream_)->stream.async_handshake(
      ssl::stream_base::server, beast::bind_front_handler(&http_session::on_handshake, shared_from_this()));
}

void http_session::handshake_failed(error_code ec) {
  const bool timeout = ec == beast::error::timeout;
  (timeout ? counters.tls_handshakes_timed_out : counters.tls_handshakes_failed).fetch_add(1, std::memory_order_relaxed);
  static log_limiter cut_lines, failure_lines;
  if (auto n = (timeout ? cut_lines : failure_lines).allow())
    log::info("tls: handshake with {} {}{}", describe_peer(peer_),
              timeout ? fmt::format("cut after --tls-handshake-timeout ({} s)", context_.tls_handshake_timeout.count())
                      : fmt::format("failed: {}", ec.message()),
              log_limiter::suppressed_note(*n));
}

void http_session::on_handshake(error_code ec) {
  if (!ec) return read();
  handshake_failed(ec);
  if (!is_plain_http(ec)) return tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
  // As nginx does: say so in plain HTTP, which that client can read.
  auto res = std::make_shared<http::response<http::string_body>>(http::status::bad_request, 11);
  res->set(http::field::server, "microsockets");
  res->set(http::field::content_type, "text/plain; charset=utf-8");
  res->keep_alive(false);
  res->body() = "this port speaks TLS: use https:// or wss://\n";
  res->prepare_payload();
  http::async_write(tcp_layer(), *res, [self = shared_from_this(), res](error_code ec, std::size_t) {
    self->tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
  });
}

void http_session::read() {
  new_parser();
  read_header();
}

void http_session::new_parser() {
  parser_ = std::make_unique<http::request_parser<http::string_body>>();
  parser_->header_limit(tuning::max_header_bytes);
  parser_->body_limit(0);
}

void http_session::read_header() {
  tcp_layer().expires_after(tuning::request_timeout);
  // The header only: nothing served takes a body, so none is ever read (a
  // chunked body that never ends grew the host by 550 MB in 5 s when it was).
  with_stream([&](auto& stream) {
    http::async_read_header(stream, buffer_, *parser_,
                            beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  });
}

void http_session::on_read(error_code ec, std::size_t header_bytes) {
  header_bytes += std::exchange(parsed_before_, 0);
  if (ec == http::error::header_limit) {
    // Too long: the request line (414) or the fields after it (431)? The
    // parser has the target once it has read the whole request line (and
    // dropped it from buffer_, so the buffer cannot tell).
    const auto target = parser_->get().target();
    return refuse(target.empty() || target.size() > tuning::max_target_bytes ? http::status::uri_too_long
                                                                      : http::status::request_header_fields_too_large);
  }
  // Beast's own check of a Content-Length against the limit of 0.
  if (ec == http::error::body_limit) return refuse(http::status::payload_too_large);
  if (ec && ec.category() == error_code(http::error::bad_method).category() && ec != http::error::end_of_stream &&
      ec != http::error::partial_message)
    return refuse(http::status::bad_request);
  if (ec) {  // the peer went, or was too slow
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
    return;
  }
  if (parser_->get().target().size() > tuning::max_target_bytes) return refuse(http::status::uri_too_long);
  // Beast's header limit counts the bytes it has not parsed yet: the fields
  // it parsed from a first, larger read (read_arrived's) escape it. The whole
  // header's size does not.
  if (header_bytes > tuning::max_header_bytes) return refuse(http::status::request_header_fields_too_large);
  if (auto status = header_refusal(*parser_)) return refuse(*status);
  auto req = parser_->release();
  if (auto path = origin_form(req.target())) req.target(*path);
  if (websocket::is_upgrade(req)) return upgrade(std::move(req));

  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return respond(text_response(req, http::status::method_not_allowed, "method not allowed\n"));
  const auto path = req.target().substr(0, req.target().find('?'));  // a query changes nothing here
  if (path == "/healthz") {
    auto health = context_.health();
    return respond(text_response(req, health.healthy ? http::status::ok : http::status::service_unavailable, health.body));
  }
  if (path == "/metrics")
    return respond(text_response(req, http::status::ok, context_.metrics(), "text/plain; version=0.0.4"));
  if (const auto* files = context_.files)
    if (auto found = files->resolve(req.target())) {
      if (found->redirect.empty()) return serve_file(req, *files, found->file);
      auto res = text_response(req, http::status::moved_permanently, "moved\n");
      res.set(http::field::location, found->redirect);
      return respond(std::move(res));
    }
  respond(text_response(req, http::status::not_found, "not found\n"));
}

transport http_session::release_transport() {
  if (unadopted_) {  // never in Asio's reactor
    transport connection(std::move(*unadopted_));
    unadopted_.reset();
    return connection;
  }
  if (auto* tls = std::get_if<std::unique_ptr<tls_layer>>(&stream_)) {
    (*tls)->stream.next_layer().expires_never();
    return transport(std::move(*tls));
  }
  auto& plain = std::get<beast::tcp_stream>(stream_);
  plain.expires_never();
  error_code ec;
  const int fd = plain.release_socket().release(ec);  // out of Asio's reactor
  return transport(accepted_socket(ec ? -1 : fd, peer_));
}

void http_session::serve_file(const http::request<http::string_body>& req, const static_files& files,
                              const std::filesystem::path& file) {
  http::file_body::value_type body;
  error_code ec;
  body.open(file.c_str(), beast::file_mode::scan, ec);
  if (ec) return respond(text_response(req, http::status::not_found, "not found\n"));
  const auto version = static_files::version_of(body.file().native_handle());
  const bool unchanged =
      static_files::not_modified(version, req[http::field::if_none_match], req[http::field::if_modified_since]);
  const auto size = body.size();
  auto headers = [&](auto& res) {
    res.set(http::field::server, "microsockets");
    res.set(http::field::etag, version.etag);
    res.set(http::field::last_modified, version.last_modified);
    res.set(http::field::cache_control, "no-cache");  // why: static_files.hpp
    if (!unchanged) {
      res.set(http::field::content_type, files.content_type(file));
      res.content_length(size);
    }
    res.keep_alive(req.keep_alive());
  };
  if (unchanged || req.method() == http::verb::head) {
    http::response<http::empty_body> res{unchanged ? http::status::not_modified : http::status::ok, req.version()};
    headers(res);
    return respond(std::move(res));
  }
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                      std::make_tuple(http::status::ok, req.version())};
  headers(res);
  respond(std::move(res));
}

void http_session::upgrade(http::request<http::string_body> req) {
  if (!context_.origins->allows(header(req, "Origin"))) {
    counters.origins_refused.fetch_add(1, std::memory_order_relaxed);
    static log_limiter lines;
    if (auto n = lines.allow())
      log::info("http: upgrade from origin '{}' refused with 403{}", header(req, "Origin").value_or(""),
                log_limiter::suppressed_note(*n));
    auto res = text_response(req, http::status::forbidden, "origin not allowed\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  if (auto refusal = upgrade_refusal(req)) {
    auto res = text_response(req, *refusal, *refusal == http::status::upgrade_required
                                                ? "this server speaks WebSocket version 13\n"
                                                : "no valid Sec-WebSocket-Key\n");
    if (*refusal == http::status::upgrade_required) res.set(http::field::sec_websocket_version, "13");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  request_info info = describe(req, peer_, *context_.proxies);
  ms_handshake hs;
  hs.request = &info;
  context_.events->decide_upgrade(hs);
  if (hs.reject_status) {
    counters.connections_rejected.fetch_add(1, std::memory_order_relaxed);
    log::debug("http: upgrade of {} from {} rejected with {}", info.path(), info.remote(), hs.reject_status);
    auto res = text_response(req, http::status(hs.reject_status), hs.reject_reason + "\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  context_.events->keep_headers(info);
  transport connection = release_transport();
  // A first frame sent in the same packet as the request is already in buffer_.
  auto session = std::make_shared<websocket_session>(std::move(connection), home_, *context_.events, context_.session,
                                                     std::move(info),
                                                     std::move(hs.attributes), std::move(slot_));
  session->start(switching_protocols(req[http::field::sec_websocket_key], hs.response_headers, hs.protocol),
                 beast::buffers_to_string(buffer_.data()));
}

template <class Body>
void http_session::respond(http::response<Body> res) {
  const bool keep_alive = res.keep_alive();
  auto shared = std::make_shared<http::response<Body>>(std::move(res));
  with_stream([&](auto& stream) {
    http::async_write(stream, *shared, [self = shared_from_this(), shared, keep_alive](error_code ec, std::size_t) {
      if (!ec && keep_alive) return self->read();
      if (ec) return self->tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
      self->end();
      // Over plain TCP, read and drop what follows so the answer is not reset away.
      if (std::holds_alternative<beast::tcp_stream>(self->stream_)) self->linger();
    });
  });
}

void http_session::refuse(http::status status) {
  counters.http_errors.fetch_add(1, std::memory_order_relaxed);
  static log_limiter lines;
  if (auto n = lines.allow()) log::debug("http: refused with {}{}", unsigned(status), log_limiter::suppressed_note(*n));
  http::response<http::string_body> res{status, 11};
  res.set(http::field::server, "microsockets");
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.keep_alive(false);
  res.body() = std::string(http::obsolete_reason(status)) + "\n";
  res.prepare_payload();
  respond(std::move(res));
}

void http_session::linger() {
  tcp_layer().expires_after(tuning::linger_time);
  drop_input();
}

void http_session::drop_input() {
  buffer_.clear();
  tcp_layer().async_read_some(buffer_.prepare(4096), [self = shared_from_this()](error_code ec, std::size_t) {
    if (!ec) self->drop_input();  // until the peer closes, or tuning::linger_time is up
  });
}

void http_session::end() {
  auto shutdown = [self = shared_from_this()](error_code) {
    error_code ignored;
    self->tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
  };
  if (auto* tls = std::get_if<std::unique_ptr<tls_layer>>(&stream_)) return async_close_notify(**tls, shutdown);
  shutdown({});
}

}  // namespace microsockets
