// One HTTP connection until it upgrades: reads requests, lets the on_connect
// hooks decide an upgrade, serves /healthz, /metrics and the --static files,
// 404 for the rest.
#pragma once

#include "net.hpp"

#include <filesystem>
#include <memory>
#include <optional>

namespace microsockets {

class server;
class static_files;
class worker;

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket socket, worker& home, server& srv);
  void run();

 private:
  void read();
  void on_read(error_code ec, std::size_t bytes);
  void upgrade(http::request<http::string_body> req);
  void serve_file(const http::request<http::string_body>& req, const static_files& files,
                  const std::filesystem::path& file);
  template <class Body>
  void respond(http::response<Body> res);

  beast::tcp_stream stream_;
  worker& home_;
  server& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace microsockets
