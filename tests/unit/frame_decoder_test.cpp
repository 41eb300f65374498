#include "websocket/frame_decoder.hpp"
#include "websocket/frame_reader.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace microsockets;

namespace {

// A client frame: masked with a fixed key unless `masked` is false.
std::string frame(unsigned opcode, std::string_view payload, bool fin = true, bool masked = true,
                  unsigned char first_extra = 0) {
  std::string out;
  out += char((fin ? 0x80 : 0) | first_extra | opcode);
  const char mask_bit = masked ? char(0x80) : 0;
  const auto n = payload.size();
  if (n < 126) {
    out += char(mask_bit | char(n));
  } else if (n <= 0xffff) {
    out += char(mask_bit | 126);
    out += char(n >> 8);
    out += char(n & 0xff);
  } else {
    out += char(mask_bit | 127);
    for (int i = 0; i < 8; ++i) out += char((std::uint64_t(n) >> (56 - 8 * i)) & 0xff);
  }
  const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  if (masked) out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < n; ++i) out += masked ? char(payload[i] ^ key[i & 3]) : payload[i];
  return out;
}

std::string close_body(std::uint16_t code, std::string_view reason = "") {
  std::string body{char(code >> 8), char(code & 0xff)};
  return body.append(reason);
}

struct seen {
  frame_kind kind;
  std::string payload;
  bool operator==(const seen&) const = default;
};

struct outcome {
  std::vector<seen> frames;
  std::uint16_t error = 0;
  bool closed = false;
  std::size_t left = 0;  // bytes of an incomplete frame
};

// Feeds `bytes` in reads of `step` bytes through a connection's frame_reader
// (one read: the decoder alone), and records what the decoder reports.
outcome decode(std::string bytes, std::size_t step = 0, std::size_t max_message = 1 << 20) {
  frame_reader reader;
  outcome out;
  if (step == 0) step = bytes.size() ? bytes.size() : 1;
  for (std::size_t at = 0; at < bytes.size() && !out.error && !out.closed; at += step) {
    std::string read = bytes.substr(at, step);  // the reader unmasks in place
    auto r = reader.read(read.data(), read.size(), max_message, [&](frame_kind k, std::string_view p) {
      out.frames.push_back({k, std::string(p)});
      return true;
    });
    out.error = r.error;
    out.closed = r.closed;
  }
  out.left = reader.held_bytes();
  return out;
}

}  // namespace

TEST_CASE("a text frame is delivered whole, unmasked") {
  auto r = decode(frame(1, R"({"event":"hi"})"));
  REQUIRE(r.frames.size() == 1);
  CHECK(r.frames[0] == seen{frame_kind::text, R"({"event":"hi"})"});
  CHECK(r.error == 0);
  CHECK(r.left == 0);
}

TEST_CASE("every length encoding decodes: 0, 125, 126, 65535, 65536 and a 64-bit one") {
  for (std::size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70000u}) {
    std::string payload(n, 'a');
    auto r = decode(frame(1, payload));
    REQUIRE(r.frames.size() == 1);
    CHECK(r.frames[0].payload.size() == n);
  }
}

TEST_CASE("the same bytes give the same outcome however the reads split them") {
  const std::string bytes = frame(1, "first", false) + frame(9, "ping!") + frame(0, std::string(300, 'x'), false) +
                            frame(0, "last") + frame(2, "\x01\x02") + frame(8, close_body(1000, "bye"));
  const auto whole = decode(bytes);
  CHECK(whole.closed);
  for (std::size_t step = 1; step < 40; ++step) {
    const auto split = decode(bytes, step);
    CHECK(split.frames == whole.frames);
    CHECK(split.closed);
  }
}

TEST_CASE("control frames between fragments are answered, and the message is assembled") {
  auto r = decode(frame(1, "Hel", false) + frame(9, "p") + frame(0, "lo", false) + frame(10, "q") + frame(0, "!"));
  REQUIRE(r.frames.size() == 3);
  CHECK(r.frames[0] == seen{frame_kind::ping, "p"});
  CHECK(r.frames[1] == seen{frame_kind::pong, "q"});
  CHECK(r.frames[2] == seen{frame_kind::text, "Hello!"});
}

TEST_CASE("a binary message is reported as binary") {
  auto r = decode(frame(2, std::string("\xff\x00", 2), false) + frame(0, "\x01"));
  REQUIRE(r.frames.size() == 1);
  CHECK(r.frames[0].kind == frame_kind::binary);
  CHECK(r.frames[0].payload == std::string("\xff\x00\x01", 3));
}

TEST_CASE("protocol errors are failed with 1002") {
  CHECK(decode(frame(1, "x", true, false)).error == 1002);           // unmasked
  for (unsigned char rsv : {0x40, 0x20, 0x10}) CHECK(decode(frame(1, "x", true, true, rsv)).error == 1002);
  for (unsigned op : {3u, 4u, 5u, 6u, 7u, 11u, 12u, 13u, 14u, 15u}) CHECK(decode(frame(op, "")).error == 1002);
  CHECK(decode(frame(9, "x", false)).error == 1002);                 // fragmented control frame
  CHECK(decode(frame(9, std::string(126, 'x'))).error == 1002);      // control frame over 125
  CHECK(decode(frame(0, "x")).error == 1002);                        // continuation without a message
  CHECK(decode(frame(1, "a", false) + frame(1, "b")).error == 1002);  // new message inside one
  CHECK(decode(frame(8, "x")).error == 1002);                        // 1-byte close body
}

TEST_CASE("lengths not in their minimal form, or with the top bit set, are refused") {
  std::string short_in_16{char(0x81), char(0x80 | 126), 0, 5, 0, 0, 0, 0};
  short_in_16.append(5, 'a');
  CHECK(decode(short_in_16).error == 1002);
  std::string short_in_64{char(0x81), char(0x80 | 127), 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0};
  CHECK(decode(short_in_64).error == 1002);
  std::string top_bit{char(0x81), char(0x80 | 127), char(0x80), 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
  CHECK(decode(top_bit).error == 1002);
}

TEST_CASE("a message over the limit is refused with 1009 from its header, whole or fragmented") {
  CHECK(decode(frame(1, std::string(101, 'a')), 0, 100).error == 1009);
  CHECK(decode(frame(1, std::string(100, 'a')), 0, 100).frames.size() == 1);
  CHECK(decode(frame(1, std::string(60, 'a'), false) + frame(0, std::string(41, 'a')), 0, 100).error == 1009);
  // Only the header (with its key) has arrived, and already the verdict is in.
  CHECK(decode(frame(1, std::string(70000, 'a')).substr(0, 14), 0, 65536).error == 1009);
}

TEST_CASE("invalid UTF-8 at any position of a text message is refused with 1007") {
  const std::string valid = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";  // a é € 😀 z
  CHECK(decode(frame(1, valid)).frames.size() == 1);
  for (std::size_t at = 0; at <= valid.size(); ++at) {
    std::string broken = valid;
    broken.insert(at, "\xff");
    CHECK_MESSAGE(decode(frame(1, broken)).error == 1007, "0xff at ", at);
  }
  for (std::size_t cut = 0; cut <= valid.size(); ++cut) {  // split over two fragments anywhere
    auto r = decode(frame(1, valid.substr(0, cut), false) + frame(0, valid.substr(cut)));
    REQUIRE_MESSAGE(r.frames.size() == 1, "split at ", cut);
    CHECK(r.frames[0].payload == valid);
  }
  CHECK(decode(frame(1, "\xe2\x82", false) + frame(0, "x")).error == 1007);  // a character cut short
  CHECK(decode(frame(1, "ok\xe2\x82")).error == 1007);                        // ends half a character
}

TEST_CASE("overlong forms, surrogates and code points past U+10FFFF are not UTF-8") {
  for (std::string bad : {"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
                          "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\x80",
                          "\xbf"}) {
    utf8_validator v;
    CHECK_FALSE((v.feed(bad) && v.complete()));
  }
  for (std::string good : {"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80",
                           "\xf4\x8f\xbf\xbf", "plain ascii, long enough for the eight-byte steps"}) {
    utf8_validator v;
    CHECK((v.feed(good) && v.complete()));
  }
}

TEST_CASE("close frames: codes are checked, reasons must be UTF-8") {
  auto empty = decode(frame(8, ""));
  CHECK(empty.closed);
  CHECK(empty.frames.at(0) == seen{frame_kind::close, ""});
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999}) {
    auto r = decode(frame(8, close_body(code, "fine")));
    CHECK_MESSAGE(r.closed, code);
    CHECK(r.error == 0);
  }
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535})
    CHECK_MESSAGE(decode(frame(8, close_body(code))).error == 1002, code);
  CHECK(decode(frame(8, close_body(1000, "\xff"))).error == 1007);
}

TEST_CASE("nothing after a close frame is decoded") {
  auto r = decode(frame(8, close_body(1000)) + frame(1, "after"));
  CHECK(r.closed);
  CHECK(r.frames.size() == 1);
}

TEST_CASE("a sink that stops the decoder stops it") {
  frame_decoder decoder;
  std::string bytes = frame(1, "one") + frame(1, "two");
  int calls = 0;
  auto r = decoder.decode(bytes.data(), bytes.size(), 1024, [&](frame_kind, std::string_view) {
    ++calls;
    return false;
  });
  CHECK(calls == 1);
  CHECK(r.consumed == frame(1, "one").size());
}

TEST_CASE("an idle decoder is small") { CHECK(sizeof(frame_decoder) <= 16); }

TEST_CASE("nothing is judged before the whole header has arrived") {
  const std::string unmasked = frame(1, std::string(200, 'a'), true, false);
  CHECK(decode(unmasked.substr(0, 3)).error == 0);  // the 16-bit length is still missing
  CHECK(decode(unmasked.substr(0, 4)).error == 1002);
}

TEST_CASE("a frame split over reads is held only until it is whole") {
  const auto bytes = frame(1, std::string(300, 'x')) + frame(9, "p");
  frame_reader reader;
  std::vector<seen> frames;
  auto sink = [&](frame_kind k, std::string_view p) {
    frames.push_back({k, std::string(p)});
    return true;
  };
  std::string first = bytes.substr(0, 100), rest = bytes.substr(100);
  CHECK(reader.read(first.data(), first.size(), 1 << 20, sink).consumed == 0);
  CHECK(reader.held_bytes() == 100);
  reader.read(rest.data(), rest.size(), 1 << 20, sink);
  CHECK(reader.held_bytes() == 0);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0] == seen{frame_kind::text, std::string(300, 'x')});
  CHECK(frames[1] == seen{frame_kind::ping, "p"});
}
