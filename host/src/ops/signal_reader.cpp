#include "ops/signal_reader.hpp"

#include <cerrno>
#include <csignal>
#include <system_error>

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace microsockets {
namespace {

sigset_t host_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  return set;
}

int open_signalfd() {
  const sigset_t set = host_signals();
  int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
  return fd;
}

}  // namespace

void signal_reader::block_host_signals() {
  const sigset_t set = host_signals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A program a plugin starts expects the default dispositions and mask.
  ::pthread_atfork(nullptr, nullptr, [] {
    const sigset_t set = host_signals();
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  });
}

signal_reader::signal_reader(net::io_context& ioc, std::function<void(int)> on_signal)
    : signals_(ioc, open_signalfd()), on_signal_(std::move(on_signal)) {
  wait();
}

void signal_reader::stop() {
  error_code ignored;
  signals_.close(ignored);
}

void signal_reader::wait() {
  signals_.async_wait(net::posix::stream_descriptor::wait_read, [this](error_code ec) {
    if (ec) return;  // stopped
    signalfd_siginfo info{};
    // Pending signals of one kind are one: a storm is read as a single signal.
    while (::read(signals_.native_handle(), &info, sizeof info) == sizeof info) on_signal_(int(info.ssi_signo));
    if (signals_.is_open()) wait();
  });
}

}  // namespace microsockets
