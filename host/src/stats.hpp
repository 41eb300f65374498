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
  // Limits (issue 9): what was refused, cut or backed off from.
  std::atomic<std::int64_t> tcp_connections_open{0};  // upgraded or not: what --max-connections bounds
  std::atomic<std::uint64_t> connections_refused{0};  // over --max-connections
  std::atomic<std::uint64_t> accept_failures{0};      // e.g. out of file descriptors
  std::atomic<std::uint64_t> connections_cut{0};      // still closing after --close-timeout
  std::atomic<std::uint64_t> origins_refused{0};
  std::atomic<std::uint64_t> rooms_refused{0};        // --max-rooms-per-connection, --max-room-name
  std::atomic<std::uint64_t> rate_limited{0};
  std::atomic<std::uint64_t> http_errors{0};          // 400, 413, 414, 431

  // Prometheus text format.
  std::string render() const;
};

extern stats counters;

}  // namespace microsockets
