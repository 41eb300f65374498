#include "cluster/redis_message.hpp"

#include "websocket/envelope.hpp"
#include "base/utf8_validator.hpp"

#include <fmt/format.h>

#include <charconv>

namespace microsockets {
namespace {

template <class T>
bool number(std::string_view s, int base = 10) {
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

bool utf8(std::string_view s) {
  utf8_validator v;
  return v.feed(s) && v.complete();
}

// The longest close reason a close frame holds (RFC 6455: 125 less the code).
constexpr std::size_t max_close_reason = 123;

}  // namespace

std::string encode_redis_message(char kind, std::uint64_t sent_ms, const std::vector<std::string_view>& fields) {
  std::string out(1, kind);
  std::size_t size = 1 + 24;
  for (auto f : fields) size += f.size() + 12;
  out.reserve(size);
  const auto sent = fmt::format_int(sent_ms);
  fmt::format_to(std::back_inserter(out), "{}:{}", sent.size(), sent.str());
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
  // The first field is the sent time.
  if (m.fields.empty()) return std::nullopt;
  auto sent = m.fields.front();
  auto [end, ec] = std::from_chars(sent.data(), sent.data() + sent.size(), m.sent_ms);
  if (sent.empty() || ec != std::errc{} || end != sent.data() + sent.size()) return std::nullopt;
  m.fields.erase(m.fields.begin());
  return m;
}

std::optional<std::string> check_redis_message(const redis_message& m, const redis_message_limits& limits) {
  const auto& f = m.fields;
  auto count = [&](std::size_t n, bool or_more = false) -> std::optional<std::string> {
    if (f.size() == n || (or_more && f.size() > n)) return std::nullopt;
    return fmt::format("'{}' with {} fields", m.kind, f.size());
  };
  auto event = [&](std::string_view name, std::string_view payload, std::string_view is_json) -> std::optional<std::string> {
    if (name.size() + payload.size() > limits.max_message_bytes)
      return fmt::format("event and payload of {} bytes (--max-message {})", name.size() + payload.size(),
                         limits.max_message_bytes);
    if (is_json != "0" && is_json != "1") return std::string("is-json neither 0 nor 1");
    if (!utf8(name)) return std::string("event name not UTF-8");
    if (!utf8(payload)) return std::string("payload not UTF-8");
    if (is_json == "1" && !microsockets::is_json(payload)) return std::string("payload said JSON is not");
    return std::nullopt;
  };
  auto room = [&](std::string_view name) -> std::optional<std::string> {
    if (name.size() > limits.max_room_name_bytes)
      return fmt::format("room name of {} bytes (--max-room-name {})", name.size(), limits.max_room_name_bytes);
    if (!utf8(name)) return std::string("room name not UTF-8");
    return std::nullopt;
  };
  auto conn = [&]() -> std::optional<std::string> {
    if (!number<std::uint64_t>(f[0])) return std::string("connection id not a number");
    return std::nullopt;
  };
  std::optional<std::string> why;
  switch (m.kind) {
    case 'b':
      if ((why = count(7, true))) return why;
      if (!number<std::uint32_t>(f[0], 16) || !number<std::uint64_t>(f[1]) || !number<std::uint64_t>(f[2]))
        return std::string("broadcast with a bad host, sequence or skip");
      if ((why = event(f[3], f[4], f[5]))) return why;
      for (std::size_t i = 6; i < f.size(); ++i)
        if ((why = room(f[i]))) return why;
      return std::nullopt;
    case 'e':
      if ((why = count(4)) || (why = conn())) return why;
      return event(f[1], f[2], f[3]);
    case 'c':
      if ((why = count(3)) || (why = conn())) return why;
      if (!number<std::uint16_t>(f[1])) return std::string("close code not a number");
      if (f[2].size() > max_close_reason || !utf8(f[2])) return std::string("close reason too long or not UTF-8");
      return std::nullopt;
    case 'j':
    case 'l':
      if ((why = count(2)) || (why = conn())) return why;
      return room(f[1]);
    default:
      return fmt::format("unknown kind 0x{:02x}", static_cast<unsigned char>(m.kind));
  }
}

}  // namespace microsockets
