// A connection's input side: bytes as they are read, frames as they are
// complete. The bytes of a frame split over reads wait here, in a buffer that
// exists only while such a frame does; a read that ends on a frame boundary
// (the common case) is decoded where it was read, never copied.
#pragma once

#include "websocket/frame_decoder.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace microsockets {

class frame_reader {
 public:
  // Decodes `size` bytes just read into `data` (unmasked in place). The sink
  // is frame_decoder's; a verdict with an error or `closed` ends the input.
  template <class Sink>
  decode_result read(char* data, std::size_t size, std::size_t max_message, Sink&& sink) {
    if (!partial_) {
      auto r = decoder_.decode(data, size, max_message, sink);
      if (!r.error && !r.closed && r.consumed < size)
        partial_ = std::make_unique<std::string>(data + r.consumed, size - r.consumed);
      return r;
    }
    partial_->append(data, size);
    auto r = decoder_.decode(partial_->data(), partial_->size(), max_message, sink);
    if (r.consumed == partial_->size() || r.error || r.closed) partial_.reset();
    else partial_->erase(0, r.consumed);
    return r;
  }

  // See frame_decoder::take_empty_fragments.
  std::uint16_t take_empty_fragments() { return decoder_.take_empty_fragments(); }

  // Bytes held for a frame not yet whole.
  std::size_t held_bytes() const { return partial_ ? partial_->size() : 0; }

 private:
  frame_decoder decoder_;
  std::unique_ptr<std::string> partial_;
};

}  // namespace microsockets
