#include "log.hpp"

#include <fmt/chrono.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace microsockets::log {
namespace {
std::atomic<level> threshold{level::info};
constexpr std::string_view names[] = {"debug", "info", "warn", "error"};
}  // namespace

void set_level(level l) { threshold.store(l, std::memory_order_relaxed); }

bool enabled(level l) { return l >= threshold.load(std::memory_order_relaxed); }

void write(level l, std::string_view message) {
  auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::string line = fmt::format("{:%FT%T}Z {:<5} {}\n", now, names[int(l)], message);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::optional<level> parse_level(std::string_view name) {
  for (int i = 0; i < 4; ++i)
    if (names[i] == name) return level(i);
  return std::nullopt;
}

}  // namespace microsockets::log
