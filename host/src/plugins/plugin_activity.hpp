// What plugin code each thread runs now: "plugin X, event or hook Y, since T".
// Two readers must name it without a lock: the watchdog, from the control
// thread, and the crash handler, a signal handler on the thread itself that
// must not allocate.
//
// Each thread has one slot, written by that thread only: a plugin_call marks
// it for the length of one call into plugin code and puts the outer mark back
// when it returns (a middleware's next() runs the handler inside it). Another
// thread takes a consistent copy through a sequence count (a seqlock); every
// field is an atomic or points at something that lives as long as the process
// (a plugin_identity, a string literal), so a copy is never a dangling read.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <pthread.h>

namespace microsockets {

class plugin;

// A library version's name in fault reports, "'name' (path, modified TIME)",
// written once at load and kept for the life of the process. The same file
// and time share one, so their number is that of versions deployed, not of
// reloads. Any thread.
struct plugin_identity {
  static const plugin_identity* of(std::string_view text);
  char text[240];
  const plugin_identity* next;  // all of them, in a list that keeps them reachable
};

class plugin_activity {
 public:
  static constexpr std::size_t event_bytes = 48;  // a longer event name is cut there
  struct mark {
    const plugin_identity* who = nullptr;
    const char* what = nullptr;  // "handler", "on_connect": a literal
    std::array<char, event_bytes> event{};  // NUL-padded; empty for a hook
    std::int64_t since_ns = 0;  // 0: no plugin code runs
    std::uint64_t call = 0;     // changes with every call
    bool busy() const { return since_ns != 0; }
    std::string_view event_name() const;
    // "plugin 'x' (file, modified T) handler for event 'e'"
    std::string describe() const;
  };

  // The calling thread's slot. Constant-initialized: a signal handler may touch it.
  static plugin_activity& this_thread();
  // CLOCK_MONOTONIC_COARSE, in ns: a few ns to read on the hot path, and its
  // 1-4 ms steps are far below what the watchdog looks for.
  static std::int64_t now_ns();

  // Names the thread ("worker 1") and records it for pthread_kill; its own thread.
  void claim(const char* name);
  const char* name() const { return name_; }
  pthread_t thread() const { return thread_; }

  // Another thread's copy; nullopt if the slot changed during every try.
  std::optional<mark> read() const;
  // The crash handler's read, on this thread.
  mark read_here() const { return load(); }

 private:
  friend class plugin_call;
  mark load() const;
  void store(const mark& m);
  std::uint64_t next_call() { return ++calls_; }

  std::atomic<std::uint32_t> sequence_{0};  // odd while a mark is written
  std::atomic<const plugin_identity*> who_{nullptr};
  std::atomic<const char*> what_{nullptr};
  std::array<std::atomic<std::uint64_t>, event_bytes / 8> event_{};
  std::atomic<std::int64_t> since_ns_{0};
  std::atomic<std::uint64_t> call_{0};
  std::uint64_t calls_ = 0;
  char name_[24] = "thread";
  pthread_t thread_{};
};

// Marks the calling thread's slot while plugin code runs: construct it just
// before the call, on the stack.
class plugin_call {
 public:
  plugin_call(const plugin& p, const char* what, std::string_view event = {});
  ~plugin_call();
  plugin_call(const plugin_call&) = delete;
  plugin_call& operator=(const plugin_call&) = delete;

 private:
  plugin_activity& slot_;
  plugin_activity::mark outer_;
};

}  // namespace microsockets
