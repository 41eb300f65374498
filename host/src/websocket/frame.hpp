// RFC 6455 frames as the server sends them: final, unmasked, so the bytes are
// the same for every recipient and a broadcast encodes them once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace microsockets {

constexpr std::size_t max_frame_header = 10;

// The length of the header of a server frame carrying `n` bytes.
constexpr std::size_t frame_header_bytes(std::uint64_t n) { return n < 126 ? 2 : n <= 0xffff ? 4 : 10; }

// Writes the header of a final text frame carrying `n` bytes; returns its length.
inline std::size_t write_frame_header(char* out, std::uint64_t n) {
  out[0] = char(0x81);  // FIN + text
  if (n < 126) {
    out[1] = char(n);
    return 2;
  }
  if (n <= 0xffff) {
    out[1] = char(126);
    out[2] = char(n >> 8);
    out[3] = char(n & 0xff);
    return 4;
  }
  out[1] = char(127);
  for (int i = 0; i < 8; ++i) out[2 + i] = char((n >> (56 - 8 * i)) & 0xff);
  return 10;
}

// One encoded frame shared by every recipient of a broadcast.
using shared_frame = std::shared_ptr<const std::string>;

}  // namespace microsockets
