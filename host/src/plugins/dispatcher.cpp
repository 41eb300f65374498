#include "plugins/dispatcher.hpp"

#include "plugins/plugin_result.hpp"
#include "plugins/plugin_activity.hpp"
#include "base/stats.hpp"

#include <chrono>

#include <fmt/format.h>

namespace microsockets {
namespace {

int run_position(ms_call* c, std::size_t position) {
  const auto& chain = c->table->middleware_chain();
  c->started = position + 1;
  const std::size_t caller = c->current;
  c->current = position;
  int rc = MS_OK;
  if (position < chain.size()) {
    const auto& mw = chain[position];
    {
      plugin_call running(*mw.owner, "middleware", c->event);
      rc = mw.cb.fn(mw.cb.user, c);
    }
    if (!check_plugin_result(rc, *mw.owner, "middleware", c->event) && !c->failed) c->failed = "a middleware";
  } else if (const auto* handler = c->handler) {
    {
      plugin_call running(*handler->owner, "handler", c->event);
      rc = handler->cb.fn(handler->cb.user, c);
    }
    if (!check_plugin_result(rc, *handler->owner, "handler", c->event) && !c->failed) c->failed = "the handler";
  }
  c->current = caller;
  return rc;
}

}  // namespace

std::optional<std::string> dispatch(const plugin_table& table, ms_conn_id conn, std::string_view event,
                                    std::string_view payload) {
  ms_call call{&table, conn, event, table.find(event), payload, {}};
  const auto start = std::chrono::steady_clock::now();
  run_position(&call, 0);
  auto& timing = call.handler ? *call.handler->timing : counters.other_event_timing();
  timing.observe(std::chrono::steady_clock::now() - start);
  if (!call.failed) return std::nullopt;
  return fmt::format("{} for '{}' failed", call.failed, event);
}

int dispatch_next(ms_call* call) {
  const std::size_t position = call->current + 1;
  // Nothing after the caller may have started: next runs once per middleware.
  if (call->started != position || position > call->table->middleware_chain().size()) return MS_REFUSED;
  return run_position(call, position);
}

}  // namespace microsockets
