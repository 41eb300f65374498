// A connection fed arbitrary bytes after the handshake: the host's own
// websocket_session, on a worker of a real server (no plugins, so every
// well-formed message is answered with an error event), reading from one end
// of a socketpair. The fuzzer's bytes are written to the other end, then EOF.
// The loop is driven turn by turn until the session has closed its socket and
// is gone; one that never ends is a finding (libFuzzer's -timeout).
//
// Small limits, so that a few KiB of input reach "message too big" (1009) and
// the output bound (1013, e.g. by pings whose pongs are never read).
#include "ops/server.hpp"
#include "base/stats.hpp"
#include "websocket/websocket_handshake.hpp"
#include "websocket/websocket_session.hpp"
#include "core/worker.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>

using namespace microsockets;

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // a finding: libFuzzer saves the input
}

server& host() {
  static server* s = [] {
    options o;
    o.port = 0;
    o.log_level = log::level::error;
    o.max_message_bytes = 1024;
    o.max_output_bytes = 4096;
    char dir[] = "/tmp/microsockets-fuzz-XXXXXX";  // an empty plugins directory
    check(::mkdtemp(dir) != nullptr);
    o.plugins = dir;
    auto* srv = new server(std::move(o));  // lives as long as the process
    srv->start();
    std::filesystem::remove(dir);
    return srv;
  }();
  return *s;
}

// What the client reads; dropped.
void drain(int fd) {
  std::array<char, 16 * 1024> sink;
  while (::read(fd, sink.data(), sink.size()) > 0) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string response = switching_protocols("dGhlIHNhbXBsZSBub25jZQ==", {}, {});
  if (size > 64 * 1024) return 0;  // stays within the socket buffer: one write, no blocking
  server& srv = host();
  worker& w = srv.worker_at(0);

  int fds[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  for (std::size_t sent = 0; sent < size;) {
    const ssize_t n = ::send(fds[1], data + sent, size - sent, MSG_NOSIGNAL);
    check(n > 0);
    sent += std::size_t(n);
  }
  ::shutdown(fds[1], SHUT_WR);  // the client sends nothing more
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);  // as accept4 gives the host its sockets

  auto session = std::make_shared<websocket_session>(transport(accepted_socket(fds[0], {})), w, *srv.http().events, srv.http().session,
                                                     request_info("/", "fuzz"), websocket_session::attributes{});
  session->start(response, {});
  const auto id = session->id();
  std::weak_ptr<websocket_session> alive = session;
  session.reset();
  while (!alive.expired()) {
    w.run_turn();
    drain(fds[1]);
  }
  // Gone means gone everywhere: out of the open count and the worker's map.
  check(counters.connections_open.load() == 0);
  check(w.find_shared(id) == nullptr);
  ::close(fds[1]);
  return 0;
}
