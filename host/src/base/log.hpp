// One log record per line on stderr, as text
//   2026-11-27T13:51:21.123Z info  message
// or, with --log-format json, as one JSON object
//   {"time":"2026-11-27T13:51:21.123Z","level":"info","message":"message"}
// Thread-safe: each record is a single write.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string_view>

namespace microsockets::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };
enum class format { text, json };

void set_level(level l);
void set_format(format f);
bool enabled(level l);
// `plugin`, if given, names the plugin the line is from: "[name] " before the
// text, or a "plugin" member in JSON.
void write(level l, std::string_view message, std::string_view plugin = {});
std::optional<level> parse_level(std::string_view name);
std::optional<format> parse_format(std::string_view name);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::debug)) write(level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::info)) write(level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::warn)) write(level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::error)) write(level::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace microsockets::log
