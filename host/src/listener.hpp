// Accepts connections and hands each to the next worker, round robin.
#pragma once

#include "net.hpp"

#include <memory>

namespace microsockets {

class server;

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens; throws boost::system::system_error if it cannot.
  listener(net::io_context& ioc, const tcp::endpoint& endpoint, server& srv);
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void run() { accept(); }
  void stop();  // any thread

 private:
  void accept();

  tcp::acceptor acceptor_;
  server& server_;
};

}  // namespace microsockets
