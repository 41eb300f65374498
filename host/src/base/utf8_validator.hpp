// Incremental UTF-8 validation (RFC 3629): a text message may be split over
// frames, and a character over two of them, so the state carries over.
// Refuses overlong forms, surrogates (U+D800-DFFF) and code points past U+10FFFF.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace microsockets {

class utf8_validator {
 public:
  // False as soon as `bytes` cannot be part of valid UTF-8 after what came before.
  bool feed(std::string_view bytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* end = p + bytes.size();
    while (p < end) {
      if (needed_ == 0) {
        // ASCII runs are the common case: eight bytes per step.
        while (end - p >= 8) {
          std::uint64_t block;
          std::memcpy(&block, p, 8);
          if (block & 0x8080808080808080ull) break;
          p += 8;
        }
        if (p == end) break;
        const unsigned char c = *p++;
        if (c < 0x80) continue;
        if (c < 0xc2) return fail();  // a continuation byte, or an overlong 2-byte lead
        if (c < 0xe0) {
          start(1, 0x80, 0xbf);
        } else if (c < 0xf0) {
          // E0 needs A0.. (no overlong); ED needs ..9F (no surrogates).
          start(2, c == 0xe0 ? 0xa0 : 0x80, c == 0xed ? 0x9f : 0xbf);
        } else if (c < 0xf5) {
          // F0 needs 90.. (no overlong); F4 needs ..8F (nothing past U+10FFFF).
          start(3, c == 0xf0 ? 0x90 : 0x80, c == 0xf4 ? 0x8f : 0xbf);
        } else {
          return fail();
        }
        continue;
      }
      const unsigned char c = *p++;
      if (c < low_ || c > high_) return fail();
      low_ = 0x80;  // only the byte after the lead has a narrower range
      high_ = 0xbf;
      --needed_;
    }
    return true;
  }

  // True when no character is left half-finished: the end of a message.
  bool complete() const { return needed_ == 0 && !failed_; }

  void reset() { *this = utf8_validator(); }

 private:
  void start(std::uint8_t needed, std::uint8_t low, std::uint8_t high) {
    needed_ = needed;
    low_ = low;
    high_ = high;
  }
  bool fail() {
    failed_ = true;
    return false;
  }

  std::uint8_t needed_ = 0;  // continuation bytes still expected
  std::uint8_t low_ = 0x80;  // the range the next continuation byte must be in
  std::uint8_t high_ = 0xbf;
  bool failed_ = false;
};

}  // namespace microsockets
