// Decodes the frames a client sends (RFC 6455 sections 5 to 7) from bytes the
// caller has read: masks required, reserved bits and opcodes refused, control
// frames allowed between fragments, lengths in their minimal form, UTF-8 checked
// across fragments, the message size bounded, close codes and reasons checked.
//
// The caller owns the bytes; payloads are unmasked in place and handed to the
// sink as views valid until decode() returns. A message in one frame (the
// common case) is never copied; a fragmented one is assembled here, in a
// buffer that exists only while the message does. An idle decoder holds 16 bytes.
//
// A verdict names the close code the RFC asks for (1002 protocol error, 1007
// invalid payload data, 1009 too big); the caller sends it and stops reading.
#pragma once

#include "base/utf8_validator.hpp"
#include "websocket/close_code.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace microsockets {

enum class frame_kind : std::uint8_t { text, binary, ping, pong, close };

struct decode_result {
  std::size_t consumed = 0;   // bytes used; the rest start an incomplete frame
  std::uint16_t error = 0;    // 0, or the close code to fail the connection with
  const char* why = "";       // what was wrong, for the log and the close reason
  bool closed = false;        // a close frame was decoded: read no further
};


// XORs `n` bytes with the 4-byte key starting at key offset 0.
inline void unmask(char* data, std::size_t n, const unsigned char key[4]) {
  std::uint32_t k32;
  std::memcpy(&k32, key, 4);
  const std::uint64_t k64 = (std::uint64_t(k32) << 32) | k32;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t block;
    std::memcpy(&block, data + i, 8);
    block ^= k64;
    std::memcpy(data + i, &block, 8);
  }
  for (; i < n; ++i) data[i] = char(data[i] ^ key[i & 3]);
}

class frame_decoder {
 public:
  // sink(frame_kind, std::string_view payload) for each whole message, ping,
  // pong and close (the close's payload is its raw body: code and reason);
  // returns false to stop decoding (the connection is going away).
  template <class Sink>
  decode_result decode(char* data, std::size_t size, std::size_t max_message, Sink&& sink);

  // A fragmented message is being assembled.
  bool in_message() const { return message_kind_ != none; }

  // Fragments that carried no byte and ended no message, since the last call:
  // they cost the host a frame's work each and are bounded by no message
  // size, so the session counts them against its frame rate.
  std::uint16_t take_empty_fragments() { return std::exchange(empty_fragments_, 0); }

 private:
  static constexpr std::uint8_t none = 0xff;

  static decode_result fail(std::size_t consumed, std::uint16_t code, const char* why) {
    return {consumed, code, why, false};
  }

  std::unique_ptr<std::string> fragments_;  // only while a fragmented message is open
  utf8_validator utf8_;
  std::uint8_t message_kind_ = none;         // frame_kind of the open message
  std::uint16_t empty_fragments_ = 0;  // saturates: one decode sees a few thousand at most
};

template <class Sink>
decode_result frame_decoder::decode(char* data, std::size_t size, std::size_t max_message, Sink&& sink) {
  std::size_t at = 0;
  while (size - at >= 2) {
    const auto* h = reinterpret_cast<const unsigned char*>(data + at);
    const bool fin = h[0] & 0x80;
    const unsigned opcode = h[0] & 0x0f;
    const bool masked = h[1] & 0x80;
    std::uint64_t length = h[1] & 0x7f;
    // Nothing is judged before the whole header (with its key) is here.
    const std::size_t header = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0);
    if (size - at < header + (masked ? 4 : 0)) break;
    if (h[0] & 0x70) return fail(at, 1002, "reserved bits set");
    if (!masked) return fail(at, 1002, "unmasked client frame");
    if (length == 126) {
      length = (std::uint64_t(h[2]) << 8) | h[3];
      if (length < 126) return fail(at, 1002, "length not in its minimal form");
    } else if (length == 127) {
      length = 0;
      for (int i = 2; i < 10; ++i) length = (length << 8) | h[i];
      if (length >> 63) return fail(at, 1002, "length with its top bit set");
      if (length <= 0xffff) return fail(at, 1002, "length not in its minimal form");
    }

    const bool control = opcode & 0x8;
    if (control) {
      if (opcode > 0xa) return fail(at, 1002, "reserved opcode");
      if (!fin) return fail(at, 1002, "fragmented control frame");
      if (length > 125) return fail(at, 1002, "control frame over 125 bytes");
    } else if (opcode == 0) {
      if (message_kind_ == none) return fail(at, 1002, "continuation without a message");
    } else if (opcode > 2) {
      return fail(at, 1002, "reserved opcode");
    } else if (message_kind_ != none) {
      return fail(at, 1002, "new message inside a fragmented one");
    }
    // Checked on the header, so a frame too big is never buffered.
    const std::size_t so_far = fragments_ ? fragments_->size() : 0;
    if (!control && length > max_message - std::min<std::uint64_t>(so_far, max_message))
      return fail(at, 1009, "message too big");
    if (size - at - header < 4 + length) break;  // the rest has not arrived

    char* payload = data + at + header + 4;
    const auto n = std::size_t(length);
    unmask(payload, n, h + header);
    std::string_view body(payload, n);
    at += header + 4 + n;

    if (control) {
      if (opcode == 0x8) {
        if (n == 1) return fail(at, 1002, "close frame with a 1-byte body");
        if (n >= 2) {
          const auto code = std::uint16_t((std::uint8_t(body[0]) << 8) | std::uint8_t(body[1]));
          if (!valid_close_code(code)) return fail(at, 1002, "invalid close code");
          utf8_validator reason;
          if (!reason.feed(body.substr(2)) || !reason.complete()) return fail(at, 1007, "close reason not UTF-8");
        }
        sink(frame_kind::close, body);
        return {at, 0, "", true};
      }
      if (!sink(opcode == 0x9 ? frame_kind::ping : frame_kind::pong, body)) return {at, 0, "", false};
      continue;
    }

    const auto kind = opcode == 0 ? frame_kind(message_kind_) : opcode == 1 ? frame_kind::text : frame_kind::binary;
    if (kind == frame_kind::text && !utf8_.feed(body)) return fail(at, 1007, "text not UTF-8");
    if (!fin) {
      if (n == 0 && empty_fragments_ < 0xffff) ++empty_fragments_;
      if (!fragments_) fragments_ = std::make_unique<std::string>();
      fragments_->append(body);
      message_kind_ = std::uint8_t(kind);
      continue;
    }
    if (kind == frame_kind::text && !utf8_.complete()) return fail(at, 1007, "text not UTF-8");
    utf8_.reset();
    message_kind_ = none;
    bool go_on;
    if (fragments_) {
      auto whole = std::move(fragments_);
      whole->append(body);
      go_on = sink(kind, std::string_view(*whole));
    } else {
      go_on = sink(kind, body);
    }
    if (!go_on) return {at, 0, "", false};
  }
  return {at, 0, "", false};
}

}  // namespace microsockets
