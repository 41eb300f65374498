// What hosts say to each other over Redis pub/sub: a kind, the time it was
// sent and a list of fields, each written as "<length>:<bytes>", so room names and payloads
// cross unchanged whatever bytes they hold. Messages, never encoded frames:
// the receiving host checks them (check_redis_message) and encodes the frame
// itself, so nothing written to Redis can break a client's framing.
//
//   broadcast  'b' origin-host seq skip event payload is-json room...   (to each room's channel)
//   emit       'e' conn event payload is-json                           (to the owner host's channel)
//   close      'c' conn code reason
//   join       'j' conn room
//   leave      'l' conn room
//
// origin-host is hex, the other numbers decimal, is-json "0" or "1". The sent
// time (milliseconds of the sender's wall clock, the first field of every kind)
// lets a receiver drop what Redis held past --redis-timeout: the sender has
// counted it as dropped by then, and a stalled Redis's backlog must not burst
// into clients when it resumes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

struct redis_message {
  char kind = 0;
  std::uint64_t sent_ms = 0;             // the sender's wall clock, ms since the epoch
  std::vector<std::string_view> fields;  // views into the text decoded
};

// Appends kind and fields; numbers go as decimal text.
std::string encode_redis_message(char kind, std::uint64_t sent_ms, const std::vector<std::string_view>& fields);
// Nothing if `text` is not a well-formed message.
std::optional<redis_message> decode_redis_message(std::string_view text);

// What a host accepts from the others: its own --max-message (event and
// payload together) and --max-room-name.
struct redis_message_limits {
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_room_name_bytes = 256;
};

// Why `m` may not be acted on (a known kind, its field count, numbers that
// parse, UTF-8 text, sizes within `limits`, a JSON payload that is JSON), or
// nothing when it may.
std::optional<std::string> check_redis_message(const redis_message& m, const redis_message_limits& limits);

}  // namespace microsockets
