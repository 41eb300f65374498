#include "plugins/plugin_result.hpp"

#include "base/log.hpp"
#include "base/log_limiter.hpp"
#include "base/stats.hpp"
#include "plugins/plugin_activity.hpp"

namespace microsockets {
namespace {

thread_local std::string reported_error;

}  // namespace

void report_error(std::string_view message) { reported_error.assign(message); }

std::string take_reported_error() {
  std::string out = reported_error.empty() ? "no reason given" : std::move(reported_error);
  reported_error.clear();
  return out;
}

bool check_plugin_result(int rc, const plugin& p, std::string_view what, std::string_view event) {
  if (rc == MS_OK) return true;
  counters.plugin_errors.fetch_add(1, std::memory_order_relaxed);
  static log_limiter lines;  // a handler that throws on every message logs once a second
  const auto n = lines.allow();
  const auto reason = take_reported_error();
  if (!n) return false;
  if (event.empty())
    log::error("plugin {}: {} failed: {}{}", p.label(), what, reason, log_limiter::suppressed_note(*n));
  else
    log::error("plugin {}: {} for event '{}' failed: {}{}", p.label(), what, event, reason,
               log_limiter::suppressed_note(*n));
  return false;
}

void run_lifecycle_hooks(plugin& p, std::vector<callback<ms_on_lifecycle>> registrations::*hooks,
                         const char* what) {
  for (const auto& cb : p.regs().*hooks) {
    int rc;
    {
      plugin_call running(p, what);
      rc = cb.fn(cb.user);
    }
    check_plugin_result(rc, p, what);
  }
}

}  // namespace microsockets
