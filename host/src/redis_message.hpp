// What hosts say to each other over Redis pub/sub: a kind and a list of
// fields, each written as "<length>:<bytes>", so room names, payloads and
// frames cross unchanged whatever bytes they hold.
//
//   broadcast  'b' origin-host seq skip frame room...   (to each room's channel)
//   emit       'e' conn event payload is-json            (to the owner host's channel)
//   close      'c' conn code reason
//   join       'j' conn room
//   leave      'l' conn room
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

struct redis_message {
  char kind = 0;
  std::vector<std::string_view> fields;  // views into the text decoded
};

// Appends kind and fields; numbers go as decimal text.
std::string encode_redis_message(char kind, const std::vector<std::string_view>& fields);
// Nothing if `text` is not a well-formed message.
std::optional<redis_message> decode_redis_message(std::string_view text);

}  // namespace microsockets
