#include "plugins/plugin_activity.hpp"

#include "plugins/plugin.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace microsockets {
namespace {

constinit thread_local plugin_activity slot;
std::atomic<const plugin_identity*> identities{nullptr};

}  // namespace

const plugin_identity* plugin_identity::of(std::string_view text) {
  text = text.substr(0, sizeof(plugin_identity::text) - 1);
  for (auto* i = identities.load(std::memory_order_acquire); i; i = i->next)
    if (text == i->text) return i;
  // Never freed: a signal handler or the watchdog may read it at any time.
  auto* made = new plugin_identity{};
  std::memcpy(made->text, text.data(), text.size());
  made->next = identities.load(std::memory_order_relaxed);
  while (!identities.compare_exchange_weak(made->next, made, std::memory_order_release, std::memory_order_relaxed)) {
  }
  return made;
}

std::string_view plugin_activity::mark::event_name() const {
  return {event.data(), std::size_t(std::find(event.begin(), event.end(), '\0') - event.begin())};
}

std::string plugin_activity::mark::describe() const {
  const auto e = event_name();
  return fmt::format("plugin {} {}{}{}{}", who ? who->text : "?", what ? what : "?", e.empty() ? "" : " for event '",
                     e, e.empty() ? "" : "'");
}

plugin_activity& plugin_activity::this_thread() { return slot; }

std::int64_t plugin_activity::now_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return std::int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

void plugin_activity::claim(const char* name) {
  std::strncpy(name_, name, sizeof name_ - 1);
  thread_ = ::pthread_self();
}

plugin_activity::mark plugin_activity::load() const {
  mark m;
  m.who = who_.load(std::memory_order_relaxed);
  m.what = what_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < event_.size(); ++i) {
    const std::uint64_t word = event_[i].load(std::memory_order_relaxed);
    std::memcpy(m.event.data() + 8 * i, &word, 8);
  }
  m.since_ns = since_ns_.load(std::memory_order_relaxed);
  m.call = call_.load(std::memory_order_relaxed);
  return m;
}

std::optional<plugin_activity::mark> plugin_activity::read() const {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const auto before = sequence_.load(std::memory_order_acquire);
    if (before & 1) continue;
    mark m = load();
    std::atomic_thread_fence(std::memory_order_acquire);
    if (sequence_.load(std::memory_order_relaxed) == before) return m;
  }
  return std::nullopt;
}

void plugin_activity::store(const mark& m) {
  const auto s = sequence_.load(std::memory_order_relaxed);
  sequence_.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  who_.store(m.who, std::memory_order_relaxed);
  what_.store(m.what, std::memory_order_relaxed);
  for (std::size_t i = 0; i < event_.size(); ++i) {
    std::uint64_t word;
    std::memcpy(&word, m.event.data() + 8 * i, 8);
    event_[i].store(word, std::memory_order_relaxed);
  }
  since_ns_.store(m.since_ns, std::memory_order_relaxed);
  call_.store(m.call, std::memory_order_relaxed);
  sequence_.store(s + 2, std::memory_order_release);
}

plugin_call::plugin_call(const plugin& p, const char* what, std::string_view event)
    : slot_(plugin_activity::this_thread()), outer_(slot_.load()) {
  plugin_activity::mark m;
  m.who = p.identity();
  m.what = what;
  event = event.substr(0, m.event.size());
  if (!event.empty()) std::memcpy(m.event.data(), event.data(), event.size());  // data() of an empty one may be null
  m.since_ns = plugin_activity::now_ns();
  m.call = slot_.next_call();
  slot_.store(m);
}

plugin_call::~plugin_call() { slot_.store(outer_); }

}  // namespace microsockets
