#include "event_loop.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace loadgen {
namespace {

constexpr std::size_t read_chunk = 16 * 1024;

void frame_header(std::string& out, std::uint8_t opcode, std::size_t n) {
  out += char(0x80 | opcode);
  if (n < 126) {
    out += char(0x80 | n);
  } else if (n <= 0xffff) {
    out += char(0x80 | 126);
    out += char(n >> 8);
    out += char(n & 0xff);
  } else {
    out += char(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out += char((n >> shift) & 0xff);
  }
  out.append(4, '\0');  // masking key 0: the payload goes out as it is
}

}  // namespace

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

event_loop::event_loop(sockaddr_in server) : epoll_(::epoll_create1(EPOLL_CLOEXEC)), server_(server) {
  if (epoll_ < 0) throw std::runtime_error("epoll_create1 failed");
}

event_loop::~event_loop() { ::close(epoll_); }

connection& event_loop::connect(std::string path, int port) {
  sockaddr_in to = server_;
  if (port) to.sin_port = htons(std::uint16_t(port));
  auto c = std::make_unique<connection>();
  c->loop_ = this;
  c->path_ = std::move(path);
  c->fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(c->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = ::connect(c->fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if (rc < 0 && errno != EINPROGRESS) throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.ptr = c.get();
  c->writing_armed_ = true;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c->fd_, &ev);
  connections_.push_back(std::move(c));
  return *connections_.back();
}

bool event_loop::run_until(const std::function<bool()>& done, std::int64_t timeout_ms,
                           const std::function<void()>& tick) {
  const auto deadline = now_us() + timeout_ms * 1000;
  epoll_event events[512];
  while (!done()) {
    const auto left = (deadline - now_us()) / 1000;
    if (left <= 0) return false;
    int n = ::epoll_wait(epoll_, events, 512, int(std::min<std::int64_t>(left, 50)));
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<connection*>(events[i].data.ptr);
      if (c->state_ == connection::state::closed) continue;
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) c->on_readable();
      if (c->state_ != connection::state::closed && (events[i].events & EPOLLOUT)) c->on_writable();
    }
    if (tick) tick();
  }
  return true;
}

void event_loop::sweep() {
  std::erase_if(connections_, [](const auto& c) { return c->current() == connection::state::closed; });
}

void connection::want_write(bool on) {
  if (on == writing_armed_ || fd_ < 0) return;
  writing_armed_ = on;
  epoll_event ev{};
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  ev.data.ptr = this;
  ::epoll_ctl(loop_->epoll_, EPOLL_CTL_MOD, fd_, &ev);
}

void connection::queue_text(std::string_view text) {
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
  frame_header(out_, 0x1, text.size());
  out_ += text;
}

void connection::send_text(std::string_view text) {
  queue_text(text);
  flush();
}

void connection::flush() {
  if (state_ != state::open) return;
  while (out_sent_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) break;
      return fail(std::strerror(errno));
    }
    out_sent_ += std::size_t(n);
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
  want_write(out_sent_ < out_.size());
}

void connection::close_now() {
  if (state_ == state::closed) return;
  if (state_ == state::open) {
    std::string frame;
    frame_header(frame, 0x8, 2);
    frame += char(1000 >> 8);
    frame += char(1000 & 0xff);
    (void)::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL);
  }
  linger reset{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd_);
  fd_ = -1;
  state_ = state::closed;
}

void connection::fail(std::string_view why) {
  if (state_ == state::closed) return;
  ::close(fd_);
  fd_ = -1;
  state_ = state::closed;
  if (on_close) on_close(*this, why);
}

void connection::on_writable() {
  if (state_ == state::connecting) {
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error) return fail(std::strerror(error));
    state_ = state::handshaking;
    std::string request = "GET " + path_ +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                          loop_->extra_headers_ + "\r\n";
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size()))
      return fail("could not send the upgrade request");
    want_write(false);
    return;
  }
  flush();
}

void connection::on_readable() {
  // Each chunk is handled before the next is read, so the buffer stays one
  // chunk and a partial frame however much the socket holds: reading all of a
  // deep backlog first made the generator's cost grow with the backlog
  // (zeroing, copying and page faults of a growing buffer), which a server
  // that fans out faster than the generator reads filled.
  for (;;) {
    if (in_.size() < in_used_ + read_chunk) in_.resize(in_used_ + read_chunk);
    ssize_t n = ::recv(fd_, in_.data() + in_used_, in_.size() - in_used_, 0);
    if (n == 0) return fail("closed by the server");
    if (n < 0) {
      if (errno == EAGAIN) break;
      return fail(std::strerror(errno));
    }
    in_used_ += std::size_t(n);
    if (!consume()) return;
    if (std::size_t(n) < read_chunk) break;
  }
}

bool connection::consume() {
  if (state_ == state::handshaking) {
    std::string_view head(in_.data(), in_used_);
    auto end = head.find("\r\n\r\n");
    if (end == std::string_view::npos) return true;  // more to come
    if (!head.starts_with("HTTP/1.1 101")) {
      fail(std::string(head.substr(0, head.find('\r'))));
      return false;
    }
    in_.erase(0, end + 4);
    in_used_ -= end + 4;
    state_ = state::open;
    if (on_open) on_open(*this);
    if (state_ != state::open) return false;
  }
  parse_frames();
  return state_ != state::closed;
}

void connection::parse_frames() {
  std::size_t at = 0;
  while (state_ == state::open) {
    const std::size_t left = in_used_ - at;
    if (left < 2) break;
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + at);
    const unsigned opcode = p[0] & 0x0f;
    std::size_t len = p[1] & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
      if (left < 4) break;
      len = (std::size_t(p[2]) << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (left < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
    }
    if (left < header + len) break;
    std::string_view payload(in_.data() + at + header, len);
    at += header + len;
    if (opcode == 0x1) {
      if (on_text) on_text(*this, payload);
    } else if (opcode == 0x8) {
      unsigned code = len >= 2 ? (unsigned(std::uint8_t(payload[0])) << 8) | std::uint8_t(payload[1]) : 1005;
      fail("close frame " + std::to_string(code));
    } else if (opcode == 0x9) {
      std::string pong;
      frame_header(pong, 0xA, payload.size());
      pong += payload;
      out_ += pong;
      flush();
    }
  }
  if (state_ == state::closed) return;
  // Keep the unparsed tail at the front.
  std::memmove(in_.data(), in_.data() + at, in_used_ - at);
  in_used_ -= at;
  if (in_.size() > 4 * read_chunk && in_used_ < read_chunk) in_.resize(read_chunk);
}

}  // namespace loadgen
