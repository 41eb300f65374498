// Runs one event through the middleware chain and its handler.
#pragma once

#include "plugins/plugin_table.hpp"

#include <microsockets/abi.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

// The ABI's opaque event: lives on the stack of dispatch().
struct ms_call {
  const microsockets::plugin_table* table;
  ms_conn_id conn;
  std::string_view event;
  const microsockets::event_handler* handler;  // the event's, the fallback, or null
  std::string_view payload;   // the message's, until a middleware replaces it
  std::string payload_storage;  // a replaced payload
  // Chain positions: 0..n-1 are the middleware, n is the handler.
  std::size_t current = 0;  // position running now
  std::size_t started = 0;  // positions started so far
  const char* failed = nullptr;  // "the handler" or "a middleware", once one failed
};

namespace microsockets {

// Every middleware, in order, then the handler (or fallback). A middleware
// that does not call next stops the event there. If plugin code failed, the
// payload of the "error" event its client is told: it names the event and
// what failed, never the plugin's message (logged), which may hold secrets.
std::optional<std::string> dispatch(const plugin_table& table, ms_conn_id conn, std::string_view event,
                                    std::string_view payload);

// call_next of the ABI: runs the position after the caller's, once.
int dispatch_next(ms_call* call);

}  // namespace microsockets
