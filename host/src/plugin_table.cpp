#include "plugin_table.hpp"

#include "log.hpp"

namespace microsockets {

std::shared_ptr<const plugin_table> plugin_table::build(std::vector<std::shared_ptr<plugin>> plugins) {
  auto table = std::make_shared<plugin_table>();
  for (auto& p : plugins) {
    const registrations& r = p->regs();
    std::string conflict;
    for (const auto& [event, cb] : r.events)
      if (auto it = table->events_.find(event); it != table->events_.end()) {
        conflict = fmt::format("event '{}' is already handled by plugin {}", event, it->second.owner->label());
        break;
      }
    if (conflict.empty() && r.fallback && table->fallback_)
      conflict = fmt::format("the fallback is already set by plugin {}", table->fallback_->owner->label());
    if (!conflict.empty()) {
      log::error("refusing plugin {}: {}", p->label(), conflict);
      continue;
    }
    for (const auto& [event, cb] : r.events) table->events_.emplace(event, event_handler{cb, p.get()});
    if (r.fallback) table->fallback_ = event_handler{*r.fallback, p.get()};
    for (const auto& cb : r.middleware) table->middleware_.push_back({cb, p.get()});
    table->plugins_.push_back(std::move(p));
  }
  return table;
}

const plugin_table::event_handler* plugin_table::find(std::string_view event) const {
  if (auto it = events_.find(event); it != events_.end()) return &it->second;
  return fallback_ ? &*fallback_ : nullptr;
}

}  // namespace microsockets
