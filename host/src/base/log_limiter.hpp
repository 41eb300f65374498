// Rate limit for one kind of repeated log line (malformed messages, plugin
// errors, accept failures): the first line is written, then at most one a
// second, telling how many were held back. A flood of bad input then costs a
// line a second, not a line per message. Thread-safe, lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace microsockets {

class log_limiter {
 public:
  // Whether a line may be written now; if so, how many were suppressed since the last.
  std::optional<std::uint64_t> allow();
  // " (N more suppressed)" for a count from allow(), or "" for none.
  static std::string suppressed_note(std::uint64_t count);

 private:
  std::atomic<std::int64_t> next_allowed_ns_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace microsockets
