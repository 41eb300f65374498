// The two wire formats a server under test may speak: microsockets' JSON
// envelope (also spoken by the ws peer) and Socket.IO over Engine.IO 4.
// Payloads here are plain ASCII, so they need no JSON escaping.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace loadgen {

enum class protocol { json, socketio };

struct event {
  std::string_view name;
  std::string_view payload;  // the string payload's text
};

inline std::string_view connect_path(protocol p) {
  return p == protocol::json ? "/" : "/socket.io/?EIO=4&transport=websocket";
}

inline std::string encode(protocol p, std::string_view name, std::string_view payload) {
  std::string out;
  out.reserve(name.size() + payload.size() + 32);
  if (p == protocol::json) {
    out.append("{\"event\":\"").append(name).append("\",\"payload\":\"").append(payload).append("\"}");
  } else {
    out.append("42[\"").append(name).append("\",\"").append(payload).append("\"]");
  }
  return out;
}

// An event, or nothing for control packets and anything unexpected.
inline std::optional<event> decode(protocol p, std::string_view text) {
  auto between = [](std::string_view s, std::string_view open, std::size_t from) -> std::optional<std::pair<std::string_view, std::size_t>> {
    auto start = s.find(open, from);
    if (start == std::string_view::npos) return std::nullopt;
    start += open.size();
    auto end = s.find('"', start);
    if (end == std::string_view::npos) return std::nullopt;
    return std::pair{s.substr(start, end - start), end};
  };
  if (p == protocol::json) {
    auto name = between(text, "\"event\":\"", 0);
    if (!name) return std::nullopt;
    auto payload = between(text, "\"payload\":\"", name->second);
    return event{name->first, payload ? payload->first : std::string_view{}};
  }
  if (!text.starts_with("42[")) return std::nullopt;
  auto name = between(text, "[\"", 0);
  if (!name) return std::nullopt;
  auto payload = between(text, ",\"", name->second);
  return event{name->first, payload ? payload->first : std::string_view{}};
}

}  // namespace loadgen
