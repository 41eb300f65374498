#include "http_session.hpp"

#include "handshake.hpp"
#include "log.hpp"
#include "server.hpp"
#include "stats.hpp"
#include "websocket_session.hpp"
#include "worker.hpp"

#include <chrono>

namespace microsockets {
namespace {

constexpr auto request_timeout = std::chrono::seconds(30);
constexpr std::size_t max_request_body = 8 * 1024;

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

request_info describe(const http::request<http::string_body>& req, const tcp::socket& socket) {
  error_code ec;
  auto peer = socket.remote_endpoint(ec);
  request_info info(req.target(), ec ? std::string() : fmt::format("{}:{}", peer.address().to_string(), peer.port()));
  for (const auto& field : req) info.add_header(field.name_string(), field.value());
  return info;
}

}  // namespace

http_session::http_session(tcp::socket socket, worker& home, server& srv)
    : stream_(std::move(socket)), home_(home), server_(srv) {}

void http_session::run() { read(); }

void http_session::read() {
  parser_.emplace();
  parser_->body_limit(max_request_body);
  stream_.expires_after(request_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(error_code ec, std::size_t) {
  if (ec) {
    if (ec != http::error::end_of_stream && ec != beast::error::timeout)
      log::debug("http: bad request: {}", ec.message());
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    return;
  }
  auto req = parser_->release();
  if (websocket::is_upgrade(req)) return upgrade(std::move(req));

  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return respond(text_response(req, http::status::method_not_allowed, "method not allowed\n"));
  if (req.target() == "/healthz") return respond(text_response(req, http::status::ok, "ok\n"));
  if (req.target() == "/metrics")
    return respond(text_response(req, http::status::ok, server_.metrics(), "text/plain; version=0.0.4"));
  if (const auto* files = server_.files())
    if (auto found = files->resolve(req.target())) {
      if (found->redirect.empty()) return serve_file(req, *files, found->file);
      auto res = text_response(req, http::status::moved_permanently, "moved\n");
      res.set(http::field::location, found->redirect);
      return respond(std::move(res));
    }
  respond(text_response(req, http::status::not_found, "not found\n"));
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
  request_info info = describe(req, stream_.socket());
  ms_handshake hs;
  hs.request = &info;
  server_.decide_upgrade(hs);
  if (hs.reject_status) {
    counters.connections_rejected.fetch_add(1, std::memory_order_relaxed);
    log::debug("http: upgrade of {} from {} rejected with {}", info.path(), info.remote(), hs.reject_status);
    auto res = text_response(req, http::status(hs.reject_status), hs.reject_reason + "\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  stream_.expires_never();
  auto session = std::make_shared<websocket_session>(stream_.release_socket(), home_, server_,
                                                     std::move(info), std::move(hs.attributes));
  session->start(std::move(req), std::move(hs.response_headers), std::move(hs.protocol));
}

template <class Body>
void http_session::respond(http::response<Body> res) {
  const bool keep_alive = res.keep_alive();
  auto shared = std::make_shared<http::response<Body>>(std::move(res));
  http::async_write(stream_, *shared, [self = shared_from_this(), shared, keep_alive](error_code ec, std::size_t) {
    if (!ec && keep_alive) return self->read();
    self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  });
}

}  // namespace microsockets
