#include "ops/systemd_notify.hpp"

#include "base/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace microsockets::systemd_notify {

bool send(std::string_view state) {
  namespace net = boost::asio;
  using unix_datagram = net::local::datagram_protocol;
  const char* variable = std::getenv("NOTIFY_SOCKET");
  if (!variable || (variable[0] != '/' && variable[0] != '@')) return false;
  std::string name(variable);
  if (name[0] == '@') name[0] = '\0';  // an abstract socket name, not a file
  boost::system::error_code ec;
  try {
    net::io_context io;
    unix_datagram::socket socket(io, unix_datagram());
    socket.send_to(net::buffer(state.data(), state.size()), unix_datagram::endpoint(name), 0, ec);
  } catch (const boost::system::system_error& e) {  // no socket, or a name too long
    ec = e.code();
  }
  if (ec) log::debug("cannot notify systemd at {}: {}", variable, ec.message());
  return !ec;
}

void ready() { send("READY=1"); }

void reloading() {
  // systemd 253 and later match a reload to its request by this timestamp.
  const auto now = std::chrono::steady_clock::now().time_since_epoch();  // CLOCK_MONOTONIC on Linux
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}",
                   std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
}

void stopping() { send("STOPPING=1"); }

}  // namespace microsockets::systemd_notify
