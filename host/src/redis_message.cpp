#include "redis_message.hpp"

#include <fmt/format.h>

#include <charconv>

namespace microsockets {

std::string encode_redis_message(char kind, const std::vector<std::string_view>& fields) {
  std::string out(1, kind);
  std::size_t size = 1;
  for (auto f : fields) size += f.size() + 12;
  out.reserve(size);
  for (auto f : fields) {
    fmt::format_to(std::back_inserter(out), "{}:", f.size());
    out.append(f);
  }
  return out;
}

std::optional<redis_message> decode_redis_message(std::string_view text) {
  if (text.empty()) return std::nullopt;
  redis_message m;
  m.kind = text.front();
  text.remove_prefix(1);
  while (!text.empty()) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end == text.data() + text.size() || *end != ':') return std::nullopt;
    text.remove_prefix(std::size_t(end - text.data()) + 1);
    if (n > text.size()) return std::nullopt;
    m.fields.push_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return m;
}

}  // namespace microsockets
