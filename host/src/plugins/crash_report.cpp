#include "plugins/crash_report.hpp"

#include "plugins/plugin_activity.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include <execinfo.h>
#include <unistd.h>

namespace microsockets::crash_report {
namespace {

constexpr int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
constexpr int max_frames = 64;

std::atomic<bool> watchdog_kill{false};
std::atomic<pthread_t> kill_target{};

// What follows to the end of on_fatal_signal runs only in a process that is
// dying of a signal, where gcov never writes its counts: crash.test.mjs tests
// it, line coverage cannot see it.
// GCOVR_EXCL_START
// A line built without allocating: appends, truncating at the end.
struct line {
  char text[1024];
  std::size_t size = 0;
  line& operator<<(const char* s) {
    while (s && *s && size < sizeof text) text[size++] = *s++;
    return *this;
  }
  line& chars(const char* s, std::size_t n) {
    for (std::size_t i = 0; i < n && s[i] && size < sizeof text; ++i) text[size++] = s[i];
    return *this;
  }
  line& number(long long n) {
    char digits[24];
    int i = 0;
    const bool negative = n < 0;
    unsigned long long u = negative ? 0ULL - static_cast<unsigned long long>(n) : static_cast<unsigned long long>(n);
    do digits[i++] = char('0' + u % 10); while ((u /= 10) && i < 20);
    if (negative) *this << "-";
    while (i > 0 && size < sizeof text) text[size++] = digits[--i];
    return *this;
  }
  line& hex(std::uintptr_t u) {
    char digits[2 * sizeof u];
    int i = 0;
    do digits[i++] = "0123456789abcdef"[u % 16]; while ((u /= 16) && i < int(sizeof digits));
    *this << "0x";
    while (i > 0 && size < sizeof text) text[size++] = digits[--i];
    return *this;
  }
  void write_to(int fd) const {
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd, text + done, size - done);
      if (n <= 0) return;
      done += std::size_t(n);
    }
  }
};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
  }
  return "a fatal signal";
}

void on_fatal_signal(int sig, siginfo_t* info, void*) {
  const int saved_errno = errno;
  const auto& slot = plugin_activity::this_thread();
  const auto m = slot.read_here();
  line out;
  out << "microsockets: fatal: " << signal_name(sig);
  if ((sig == SIGSEGV || sig == SIGBUS) && info) {
    out << " at address ";
    out.hex(reinterpret_cast<std::uintptr_t>(info->si_addr));
  }
  out << " on " << slot.name();
  if (m.busy()) {
    out << " in plugin " << (m.who ? m.who->text : "?") << " " << (m.what ? m.what : "?");
    if (m.event[0]) out << " for event '";
    out.chars(m.event.data(), m.event.size());
    if (m.event[0]) out << "'";
    out << ", running for ";
    out.number((plugin_activity::now_ns() - m.since_ns) / 1'000'000) << " ms";
  } else {
    out << " in the host (no plugin code was running on this thread)";
  }
  if (sig == SIGABRT && watchdog_kill.load() && ::pthread_equal(kill_target.load(), ::pthread_self()))
    out << "; sent by the watchdog (--watchdog-kill)";
  out << "; backtrace:\n";
  out.write_to(STDERR_FILENO);
  void* frames[max_frames];
  const int n = ::backtrace(frames, max_frames);
  ::backtrace_symbols_fd(frames, n, STDERR_FILENO);
  line end;
  end << "microsockets: end of backtrace, dying of " << signal_name(sig) << "\n";
  end.write_to(STDERR_FILENO);
  // As before we were here: the default action, a core dump where allowed.
  ::signal(sig, SIG_DFL);
  errno = saved_errno;
  ::raise(sig);  // delivered when this handler returns (the signal is blocked in it)
}
// GCOVR_EXCL_STOP

struct alternate_stack {
  std::unique_ptr<char[]> memory;
  ~alternate_stack() {
    if (!memory) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ::sigaltstack(&off, nullptr);
  }
};
thread_local alternate_stack own_stack;

}  // namespace

void install() {
  // backtrace() loads libgcc on its first call: that must not be in a crash.
  void* warm_up[1];
  ::backtrace(warm_up, 1);
  plugin_activity::this_thread().claim("main thread");
  prepare_thread();
  struct sigaction action {};
  action.sa_sigaction = on_fatal_signal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (int sig : fatal_signals) ::sigaction(sig, &action, nullptr);
}

void prepare_thread() {
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
  // Room for the handler and backtrace() (a few KiB) with a margin.
  const std::size_t size = std::max<std::size_t>(64 * 1024, std::size_t(::sysconf(_SC_SIGSTKSZ)));
  own_stack.memory = std::make_unique<char[]>(size);
  stack_t stack{};
  stack.ss_sp = own_stack.memory.get();
  stack.ss_size = size;
  if (::sigaltstack(&stack, nullptr) != 0) own_stack.memory.reset();
}

void killing(pthread_t thread) {
  kill_target.store(thread);
  watchdog_kill.store(true);
}

}  // namespace microsockets::crash_report
