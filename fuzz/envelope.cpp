// The envelope parser on any bytes a client may send as a text message. It
// must answer an envelope or an error, never crash; what it accepts must come
// back unchanged through the host's own encoder and frame builder.
#include "websocket/envelope.hpp"
#include "websocket/frame.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

using namespace microsockets;

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // a finding: libFuzzer saves the input
}

// The payload length a server frame header announces, and the header's size.
std::pair<std::uint64_t, std::size_t> frame_length(const std::string& frame) {
  const auto byte = [&](std::size_t i) { return std::uint64_t(static_cast<unsigned char>(frame.at(i))); };
  const std::uint64_t n = byte(1);
  if (n < 126) return {n, 2};
  if (n == 126) return {byte(2) << 8 | byte(3), 4};
  std::uint64_t len = 0;
  for (std::size_t i = 2; i < 10; ++i) len = len << 8 | byte(i);
  return {len, 10};
}

void fuzz_one(std::string_view text) {
  auto parsed = parse_envelope(text);
  const auto* error = std::get_if<envelope_error>(&parsed);
  check((error && *error == envelope_error::not_json) == !is_json(text));
  if (error) {
    check(!describe(*error).empty());
    return;
  }
  // Copies: the next parse reuses the storage the views point into.
  const std::string event(std::get<envelope>(parsed).event);
  const std::string payload(std::get<envelope>(parsed).payload);

  const std::string encoded = make_envelope(event, payload, false);
  auto again = parse_envelope(encoded);
  check(std::holds_alternative<envelope>(again));
  check(std::get<envelope>(again).event == event);
  check(std::get<envelope>(again).payload == payload);

  const std::string frame = make_event_frame(event, payload, false);
  check(static_cast<unsigned char>(frame.at(0)) == 0x81);  // final text frame
  const auto [length, header] = frame_length(frame);
  check(length == encoded.size() && frame.size() == header + length);
  check(frame.compare(header, std::string::npos, encoded) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_one({reinterpret_cast<const char*>(data), size});
  // The parser keeps the last message's memory until the next parse; a tiny
  // parse frees it, so that libFuzzer's leak check sees each input balanced
  // (else it runs LeakSanitizer after every input, several times slower).
  parse_envelope("{}");
  return 0;
}

