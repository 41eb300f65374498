#include "stats.hpp"

#include <fmt/format.h>

namespace microsockets {

stats counters;

std::string stats::render() const {
  auto line = [](std::string& out, const char* name, const auto& value) {
    fmt::format_to(std::back_inserter(out), "microsockets_{} {}\n", name, value.load());
  };
  std::string out;
  line(out, "connections_accepted_total", connections_accepted);
  line(out, "connections_open", connections_open);
  line(out, "connections_rejected_total", connections_rejected);
  line(out, "messages_received_total", messages_received);
  line(out, "messages_malformed_total", messages_malformed);
  line(out, "plugin_errors_total", plugin_errors);
  line(out, "slow_consumers_closed_total", slow_consumers_closed);
  line(out, "plugin_reloads_total", reloads);
  return out;
}

}  // namespace microsockets
