#include "listener.hpp"

#include "http_session.hpp"
#include "log.hpp"
#include "server.hpp"
#include "worker.hpp"

namespace microsockets {

listener::listener(net::io_context& ioc, const tcp::endpoint& endpoint, server& srv)
    : acceptor_(ioc), server_(srv) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    error_code ignored;
    self->acceptor_.close(ignored);
  });
}

void listener::accept() {
  worker& next = server_.next_worker();
  acceptor_.async_accept(next.context(), [self = shared_from_this(), &next](error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;  // stopped
    if (ec) {
      log::warn("accept failed: {}", ec.message());  // e.g. out of file descriptors
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      net::post(next.context(), [&next, srv = &self->server_, s = std::move(socket)]() mutable {
        std::make_shared<http_session>(std::move(s), next, *srv)->run();
      });
    }
    self->accept();
  });
}

}  // namespace microsockets
