// RFC 6455 frames as the server sends them: final, unmasked, so the bytes are
// the same for every recipient and a broadcast encodes them once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace microsockets {

inline std::string text_frame(std::string_view payload) {
  std::string out;
  const std::uint64_t n = payload.size();
  out.reserve(payload.size() + 10);
  out += char(0x81);  // FIN + text
  if (n < 126) {
    out += char(n);
  } else if (n <= 0xffff) {
    out += char(126);
    for (int shift = 8; shift >= 0; shift -= 8) out += char((n >> shift) & 0xff);
  } else {
    out += char(127);
    for (int shift = 56; shift >= 0; shift -= 8) out += char((n >> shift) & 0xff);
  }
  out += payload;
  return out;
}

// One encoded frame shared by every recipient of a broadcast.
using shared_frame = std::shared_ptr<const std::string>;

}  // namespace microsockets
