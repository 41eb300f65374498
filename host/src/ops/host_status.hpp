// What /metrics and /healthz say about the host: the counters and the
// workers' gauges, the backplane's own; healthy, degraded (a Redis is
// unreachable: local rooms still work) or stuck (a plugin call does not
// return). Any thread.
#pragma once

#include "core/connections.hpp"
#include "core/worker.hpp"
#include "http/http_context.hpp"
#include "ops/watchdog.hpp"

#include <memory>
#include <string>
#include <vector>

namespace microsockets {

class host_status {
 public:
  host_status(const std::vector<std::unique_ptr<worker>>& workers, const watchdog& dog, const connections& ops)
      : workers_(workers), watchdog_(dog), connections_(ops) {}

  // The /metrics page.
  std::string metrics() const;
  // The /healthz answer: 200 "ok" or "degraded: ...", or 503 "stuck: ..."
  // with a line per stuck worker naming the plugin call.
  health_answer health() const;

 private:
  const std::vector<std::unique_ptr<worker>>& workers_;
  const watchdog& watchdog_;
  const connections& connections_;  // its backplane
};

}  // namespace microsockets
