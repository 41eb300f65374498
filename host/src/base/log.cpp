#include "base/log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/chrono.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace microsockets::log {
namespace {
std::atomic<level> threshold{level::info};
std::atomic<format> style{format::text};
constexpr std::string_view level_names[] = {"debug", "info", "warn", "error"};
constexpr std::string_view format_names[] = {"text", "json"};

std::string json_string(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }
}  // namespace

void set_level(level l) { threshold.store(l, std::memory_order_relaxed); }
void set_format(format f) { style.store(f, std::memory_order_relaxed); }

bool enabled(level l) { return l >= threshold.load(std::memory_order_relaxed); }

void write(level l, std::string_view message, std::string_view plugin) {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - seconds).count();
  const std::string time = fmt::format("{:%FT%T}.{:03}Z", seconds, ms);  // fmt 9 drops sub-seconds from %T
  const auto name = level_names[int(l)];
  std::string line;
  if (style.load(std::memory_order_relaxed) == format::json) {
    line = fmt::format(R"({{"time":"{}","level":"{}","message":{})", time, name, json_string(message));
    if (!plugin.empty()) line += fmt::format(R"(,"plugin":{})", json_string(plugin));
    line += "}\n";
  } else if (plugin.empty()) {
    line = fmt::format("{} {:<5} {}\n", time, name, message);
  } else {
    line = fmt::format("{} {:<5} [{}] {}\n", time, name, plugin, message);
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::optional<level> parse_level(std::string_view name) {
  for (int i = 0; i < 4; ++i)
    if (level_names[i] == name) return level(i);
  return std::nullopt;
}

std::optional<format> parse_format(std::string_view name) {
  for (int i = 0; i < 2; ++i)
    if (format_names[i] == name) return format(i);
  return std::nullopt;
}

}  // namespace microsockets::log
