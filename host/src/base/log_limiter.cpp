#include "base/log_limiter.hpp"

#include <fmt/format.h>

#include <chrono>

namespace microsockets {

std::optional<std::uint64_t> log_limiter::allow() {
  using namespace std::chrono;
  const std::int64_t now = duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
  std::int64_t next = next_allowed_ns_.load(std::memory_order_relaxed);
  // One thread wins the second's line; the others count themselves suppressed.
  if (now >= next && next_allowed_ns_.compare_exchange_strong(next, now + nanoseconds(seconds(1)).count()))
    return suppressed_.exchange(0, std::memory_order_relaxed);
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

std::string log_limiter::suppressed_note(std::uint64_t count) {
  return count ? fmt::format(" ({} more suppressed)", count) : std::string();
}

}  // namespace microsockets
