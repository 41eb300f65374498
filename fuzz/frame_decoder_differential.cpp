// Differential fuzzing of the host's frame decoder against Beast's WebSocket
// parser: the same client bytes, after the same upgrade, must get the same
// verdict class from both — the same messages in the same order, then the
// same ending (a clean close, a failure, or waiting for more bytes). Close
// codes are not compared: the RFC leaves the choice to the implementation.
//
// Four known differences are allowed (the fourth is Beast's, see below):
// - a peer's close code 1014 (registered with IANA after RFC 6455, "bad
//   gateway") is accepted here and refused by Beast as reserved;
// - codes from 5000 up, which the RFC does not define (it ends at 4999 for
//   private use), are refused here and echoed by Beast;
// - Beast checks UTF-8 as a frame's bytes arrive, the host once the frame is
//   whole: where Beast fails a frame that has not fully arrived, the host must
//   fail it (1007) once the rest comes, whatever the rest is.
#include "websocket/frame_decoder.hpp"

#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using microsockets::frame_kind;

constexpr std::size_t max_message = 4096;

enum class ending { closed, failed, incomplete };

struct verdict {
  std::vector<std::pair<bool, std::string>> messages;  // (binary, bytes)
  ending end = ending::incomplete;
  std::uint16_t close_code = 0;      // of a close frame received
  std::uint16_t failed_with = 0;     // the code the host would fail with
  std::size_t consumed = 0;
  bool utf8_failure = false;         // Beast failed on invalid UTF-8
};

verdict ours(std::string bytes) {
  verdict v;
  microsockets::frame_decoder decoder;
  auto r = decoder.decode(bytes.data(), bytes.size(), max_message, [&](frame_kind kind, std::string_view payload) {
    if (kind == frame_kind::text || kind == frame_kind::binary)
      v.messages.emplace_back(kind == frame_kind::binary, std::string(payload));
    if (kind == frame_kind::close && payload.size() >= 2)
      v.close_code = std::uint16_t((std::uint8_t(payload[0]) << 8) | std::uint8_t(payload[1]));
    return true;
  });
  v.end = r.error ? ending::failed : r.closed ? ending::closed : ending::incomplete;
  v.failed_with = r.error;
  v.consumed = r.consumed;
  return v;
}

// The bytes still missing from the frame that starts `rest` (its header is whole).
std::size_t missing(std::string_view rest) {
  const auto* h = reinterpret_cast<const unsigned char*>(rest.data());
  std::uint64_t length = h[1] & 0x7f;
  std::size_t header = 6;
  if (length == 126) {
    length = (std::uint64_t(h[2]) << 8) | h[3];
    header = 8;
  } else if (length == 127) {
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | h[i];
    header = 14;
  }
  return header + std::size_t(length) - rest.size();
}

// The code of the close frame Beast sent back, read from what the client got:
// Beast reports a failed close frame (a bad code) as "closed" too, and only
// its answer (1002 instead of an echo) tells the two apart.
std::uint16_t sent_close_code(std::string_view out) {
  auto at = out.find("\r\n\r\n");
  if (at == std::string_view::npos) return 0;
  out.remove_prefix(at + 4);
  while (out.size() >= 2) {
    const auto* h = reinterpret_cast<const unsigned char*>(out.data());
    std::size_t length = h[1] & 0x7f, header = 2;
    if (length == 126) {
      length = (std::size_t(h[2]) << 8) | h[3];
      header = 4;
    }
    if (out.size() < header + length) return 0;
    if ((h[0] & 0x0f) == 0x8) return length >= 2 ? std::uint16_t((h[header] << 8) | h[header + 1]) : 1005;
    out.remove_prefix(header + length);
  }
  return 0;
}

verdict beasts(const std::string& bytes) {
  verdict v;
  beast::net::io_context ioc;
  beast::test::stream client(ioc), server_side(ioc);
  client.connect(server_side);
  websocket::stream<beast::test::stream&> ws(server_side);
  ws.read_message_max(max_message);
  ws.auto_fragment(false);
  server_side.append(
      "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  beast::error_code ec;
  ws.accept(ec);
  if (ec) std::abort();  // the fixed handshake must pass
  server_side.append(bytes);
  server_side.close_remote();  // Beast sees EOF after the bytes, and may still write pongs
  for (;;) {
    beast::flat_buffer buffer;
    ws.read(buffer, ec);
    if (ec == websocket::error::closed) {
      const auto answer = sent_close_code(client.str());
      v.close_code = answer;
      v.end = answer == 1002 || answer == 1007 || answer == 1009 ? ending::failed : ending::closed;
      return v;
    }
    if (ec) {
      const bool eof = ec == beast::net::error::eof || ec == beast::test::error::test_failure ||
                       ec == beast::net::error::connection_reset;
      v.end = eof ? ending::incomplete : ending::failed;
      v.utf8_failure = ec == websocket::error::bad_frame_payload;
      return v;
    }
    v.messages.emplace_back(ws.got_binary(), beast::buffers_to_string(buffer.data()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const verdict a = ours(bytes);
  const verdict b = beasts(bytes);
  // Beast lets a text message end half a character when its last fragment is
  // empty; the host fails it with 1007, as RFC 6455 8.1 requires.
  // What Beast reads after that message, the host never reaches.
  if (a.end == ending::failed && a.failed_with == 1007 && b.messages.size() > a.messages.size() &&
      std::equal(a.messages.begin(), a.messages.end(), b.messages.begin())) {
    const auto& [binary, text] = b.messages[a.messages.size()];
    microsockets::utf8_validator utf8;
    if (!binary && !(utf8.feed(text) && utf8.complete())) return 0;
  }
  if (a.messages != b.messages) std::abort();
  if (a.end == b.end) return 0;
  if (a.end == ending::closed && a.close_code == 1014 && b.end == ending::failed) return 0;
  // A peer's own close with 1002, 1007 or 1009 is echoed: that is a close, not a failure.
  if (a.end == ending::closed && b.end == ending::failed && b.close_code == a.close_code) return 0;
  if (a.end == ending::failed && b.end == ending::closed && b.close_code >= 5000) return 0;
  if (a.end == ending::incomplete && b.end == ending::failed && b.utf8_failure) {
    const std::size_t rest = missing(std::string_view(bytes).substr(a.consumed));
    if (rest <= max_message && ours(bytes + std::string(rest, '\0')).failed_with == 1007) return 0;
  }
  std::abort();
}
