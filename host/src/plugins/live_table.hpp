// The plugin table in use. A reload swaps it whole; an event loads it once
// and that generation serves the whole event, even if a reload swaps it meanwhile.
#pragma once

#include "plugins/plugin_table.hpp"

#include <atomic>
#include <memory>

namespace microsockets {

class live_table {
 public:
  std::shared_ptr<const plugin_table> load() const { return table_.load(); }
  void store(std::shared_ptr<const plugin_table> next) { table_.store(std::move(next)); }

 private:
  std::atomic<std::shared_ptr<const plugin_table>> table_;
};

}  // namespace microsockets
