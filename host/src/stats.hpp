// Process-wide counters, shown on /metrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace microsockets {

struct stats {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_rejected{0};
  std::atomic<std::uint64_t> messages_received{0};
  std::atomic<std::uint64_t> messages_malformed{0};
  std::atomic<std::uint64_t> plugin_errors{0};
  std::atomic<std::uint64_t> slow_consumers_closed{0};
  std::atomic<std::uint64_t> reloads{0};

  // Prometheus text format.
  std::string render() const;
};

extern stats counters;

}  // namespace microsockets
