#include "plugins/plugin_table.hpp"

#include "base/log.hpp"
#include "plugins/plugin_settings.hpp"
#include "base/stats.hpp"

#include <algorithm>

namespace microsockets {

std::string plugin_table::claim(plugin& p) {
  const registrations& r = p.regs();
  if (reserved_plugin_name(p.name()))
    return fmt::format("its name is reserved: {}* configure the host itself", setting_variable("host", ""));
  for (const auto& [event, cb] : r.events)
    if (auto it = events_.find(event); it != events_.end())
      return fmt::format("event '{}' is already handled by plugin {}", event, it->second.owner->label());
  if (r.fallback && fallback_)
    return fmt::format("the fallback is already set by plugin {}", fallback_->owner->label());
  for (const auto& [event, cb] : r.events) events_.emplace(event, event_handler{{cb, &p}, &counters.event_timing(event)});
  if (r.fallback) fallback_ = event_handler{{*r.fallback, &p}, &counters.other_event_timing()};
  return {};
}

// Every header when a plugin has not said which it reads; else the union.
std::optional<std::vector<std::string>> plugin_table::kept_headers_of(const std::vector<std::shared_ptr<plugin>>& plugins) {
  std::vector<std::string> names;
  for (const auto& p : plugins) {
    const auto& kept = p->regs().kept_headers;
    if (!kept) return std::nullopt;
    names.insert(names.end(), kept->begin(), kept->end());
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::shared_ptr<const plugin_table> plugin_table::build(std::vector<std::shared_ptr<plugin>> plugins,
                                                        std::vector<refusal>* refused,
                                                        const std::set<const plugin*>& serving) {
  auto table = std::make_shared<plugin_table>();
  std::vector<bool> accepted(plugins.size());
  for (bool serving_pass : {true, false})
    for (std::size_t i = 0; i < plugins.size(); ++i) {
      if (serving.contains(plugins[i].get()) != serving_pass) continue;
      auto conflict = table->claim(*plugins[i]);
      accepted[i] = conflict.empty();
      if (accepted[i]) continue;
      if (refused) refused->push_back({plugins[i], std::move(conflict)});
      else {
        log::error("refusing plugin {}: {}", plugins[i]->label(), conflict);
        counters.plugin_refused(plugins[i]->name());
      }
    }
  for (std::size_t i = 0; i < plugins.size(); ++i) {  // middleware runs in load order
    if (!accepted[i]) continue;
    for (const auto& cb : plugins[i]->regs().middleware) table->middleware_.push_back({cb, plugins[i].get()});
    table->plugins_.push_back(std::move(plugins[i]));
  }
  table->kept_headers_ = kept_headers_of(table->plugins_);
  return table;
}

const plugin_table::event_handler* plugin_table::find(std::string_view event) const {
  if (auto it = events_.find(event); it != events_.end()) return &it->second;
  return fallback_ ? &*fallback_ : nullptr;
}

}  // namespace microsockets
