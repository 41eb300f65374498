#include "net/listener.hpp"

#include "base/tuning.hpp"

#include "base/log.hpp"
#include "base/stats.hpp"
#include "net/proxy_trust.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

namespace microsockets {
namespace {


int open_spare() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

// Asio opens without close-on-exec: a child a plugin starts (system(),
// popen()) would hold the listening socket open. (Accepted ones get it from accept4.)
void keep_from_children(int fd) { ::fcntl(fd, F_SETFD, FD_CLOEXEC); }

// Answers a connection over the limit and closes it, without reading: one
// non-blocking send, so a flood costs no more than the accept. A TLS port
// sends nothing: an answer there would need a handshake, the very cost a
// flood must not get, and plain text would only be a TLS error to the client.
void refuse(int fd, bool tls, metric& counter = counters.connections_refused) {
  constexpr std::string_view busy =
      "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  if (!tls) {
    [[maybe_unused]] auto sent = ::send(fd, busy.data(), busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  counter.fetch_add(1, std::memory_order_relaxed);
}

// Every worker is stuck in a plugin call: the /healthz answer, at once, to
// every new connection, rather than a wait as long as theirs.
void answer_stuck(int fd, bool tls, std::string_view health) {
  if (tls) return;
  const auto answer = fmt::format("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                                  "Content-Length: {}\r\n\r\n{}", health.size(), health);
  [[maybe_unused]] auto sent = ::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace

listener::listener(net::io_context& ioc, const tcp::endpoint& endpoint, listener_settings settings,
                   connection_sink& sink)
    : acceptor_(ioc),
      pause_(ioc),
      settings_(settings),
      sink_(sink),
      per_address_(std::make_shared<address_limits>(settings.max_connections_per_address)),
      spare_fd_(open_spare()) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
  acceptor_.non_blocking(true);  // shed_waiting() must never wait
  keep_from_children(acceptor_.native_handle());
}

listener::~listener() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

std::size_t listener::default_max_connections() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
  const std::size_t fds = limit.rlim_cur;
  return std::max(fds > 64 ? fds - 64 : 0, fds / 2);
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    error_code ignored;
    self->acceptor_.close(ignored);
    self->pause_.cancel();
  });
}

void listener::accept() {
  acceptor_.async_wait(tcp::acceptor::wait_read, [self = shared_from_this()](error_code ec) {
    if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;  // stopped
    if (ec) return self->on_failure(ec);
    self->accept_waiting();
  });
}

void listener::accept_waiting() {
  for (int i = 0; i < tuning::accepts_per_wake; ++i) {
    tcp::endpoint peer;
    socklen_t length = peer.capacity();
    const int fd = ::accept4(acceptor_.native_handle(), peer.data(), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // Gone before it was taken, or a network error the man page says to retry.
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == ENETDOWN || errno == ENETUNREACH ||
          errno == EHOSTDOWN || errno == EHOSTUNREACH || errno == ENONET || errno == ENOPROTOOPT || errno == EOPNOTSUPP)
        continue;
      return on_failure(error_code(errno, boost::system::system_category()));
    }
    peer.resize(length);
    backoff_ = {};
    admit(accepted_socket(fd, peer));  // the socket closes as it goes out of scope, if refused
  }
  accept();
}

void listener::admit(accepted_socket socket) {
  const bool tls = settings_.tls;
  if (std::size_t(counters.tcp_connections_open.load(std::memory_order_relaxed)) >= settings_.max_connections)
    return refuse(socket.fd(), tls);
  if (auto health = sink_.unavailable()) return answer_stuck(socket.fd(), tls, *health);
  const auto peer = socket.peer();
  // A trusted proxy (--trust-proxy) speaks for many clients: no per-address limit.
  auto slot = connection_slot::take(settings_.proxies->trusts(peer.address()) ? nullptr : per_address_, peer.address());
  if (!slot) {
    refuse(socket.fd(), tls, counters.connections_refused_per_address);
    if (auto n = per_address_lines_.allow())
      log::info("connection from {} refused: it has {} open (--max-connections-per-address){}",
                peer.address().to_string(), settings_.max_connections_per_address, log_limiter::suppressed_note(*n));
    return;
  }
  const int no_delay = 1;
  ::setsockopt(socket.fd(), IPPROTO_TCP, TCP_NODELAY, &no_delay, sizeof no_delay);
  sink_.take(std::move(socket), std::move(*slot));
}

void listener::on_failure(error_code ec) {
  counters.accept_failures.fetch_add(1, std::memory_order_relaxed);
  if (auto n = failure_lines_.allow())
    log::warn("accept failed: {}; pausing the listener{}", ec.message(), log_limiter::suppressed_note(*n));
  if (ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system) shed_waiting();
  backoff_ = backoff_.count() ? std::min(backoff_ * 2, tuning::longest_accept_pause) : tuning::first_accept_pause;
  pause_.expires_after(backoff_);
  pause_.async_wait([self = shared_from_this()](error_code e) {
    if (!e && self->acceptor_.is_open()) self->accept();
  });
}

void listener::shed_waiting() {
  // Bounded, so that a flood cannot hold the thread; the pause follows.
  constexpr int most = 256;
  if (spare_fd_ < 0) return;
  ::close(spare_fd_);
  for (int i = 0; i < most; ++i) {
    const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) break;  // none waiting (EAGAIN), or out of descriptors again
    refuse(fd, settings_.tls);
    ::close(fd);
  }
  spare_fd_ = open_spare();
}

}  // namespace microsockets
