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
  line(out, "tcp_connections_open", tcp_connections_open);
  line(out, "connections_refused_total", connections_refused);
  line(out, "accept_failures_total", accept_failures);
  line(out, "connections_cut_total", connections_cut);
  line(out, "origins_refused_total", origins_refused);
  line(out, "rooms_refused_total", rooms_refused);
  line(out, "rate_limited_total", rate_limited);
  line(out, "http_errors_total", http_errors);
  return out;
}

}  // namespace microsockets
