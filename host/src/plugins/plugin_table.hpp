// One immutable generation of routing: every plugin's handlers, middleware and
// hooks. The server swaps generations atomically; an event being handled keeps
// its generation (and so its libraries) alive until it returns.
#pragma once

#include "plugins/plugin.hpp"
#include "base/string_hash.hpp"

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace microsockets {

class duration_histogram;

template <class Fn>
struct owned_callback {
  callback<Fn> cb;
  plugin* owner;
};

// A handler, and where the time of its events is counted.
struct event_handler : owned_callback<ms_on_event> {
  duration_histogram* timing;
};

class plugin_table {
 public:
  using event_handler = microsockets::event_handler;
  using middleware = owned_callback<ms_on_middleware>;

  struct refusal {
    std::shared_ptr<microsockets::plugin> refused;
    std::string reason;  // "event 'x' is already handled by plugin 'b' (20-b.so)"
  };

  // Takes plugins in load order. A plugin that claims an event (or the
  // fallback) another one already has is left out, and listed in `refused`
  // (logged if that is null). The plugins in `serving` claim theirs before
  // the others, so that no newcomer ever displaces one of them.
  static std::shared_ptr<const plugin_table> build(std::vector<std::shared_ptr<plugin>> plugins,
                                                   std::vector<refusal>* refused = nullptr,
                                                   const std::set<const plugin*>& serving = {});

  // The handler for `event`, else the fallback, else null.
  const event_handler* find(std::string_view event) const;
  const std::vector<middleware>& middleware_chain() const { return middleware_; }
  const std::vector<std::shared_ptr<plugin>>& plugins() const { return plugins_; }
  // The request headers a connection keeps after its upgrade (lower case,
  // sorted): null for every header, while a plugin has not said which it reads.
  const std::optional<std::vector<std::string>>& kept_headers() const { return kept_headers_; }

  // Calls fn(callback, plugin&) for every hook of one kind, in load order.
  template <class Member, class Fn>
  void for_each_hook(Member registrations::*hooks, Fn&& fn) const {
    for (const auto& p : plugins_)
      for (const auto& cb : p->regs().*hooks) fn(cb, *p);
  }

 private:
  // Registers p's events and fallback, or says why they clash with those already registered.
  std::string claim(plugin& p);
  static std::optional<std::vector<std::string>> kept_headers_of(const std::vector<std::shared_ptr<plugin>>& plugins);

  std::vector<std::shared_ptr<plugin>> plugins_;
  std::unordered_map<std::string, event_handler, string_hash, std::equal_to<>> events_;
  std::optional<event_handler> fallback_;
  std::vector<middleware> middleware_;
  std::optional<std::vector<std::string>> kept_headers_;
};

}  // namespace microsockets
