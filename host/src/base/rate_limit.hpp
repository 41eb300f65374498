// A token bucket for one connection's incoming messages (--max-rate,
// --max-rate-burst): it holds up to `burst` tokens, refills at `rate` a
// second, and each message takes one. 16 bytes, no timer. With the message
// rate off, the same bucket bounds the frames that are no message (pings,
// pongs, empty fragments: --max-control-rate).
#pragma once

#include <algorithm>
#include <chrono>

namespace microsockets {

class rate_limit {
 public:
  using clock = std::chrono::steady_clock;

  // False when the bucket holds fewer than n: the n messages are over the rate.
  bool take(double rate, double burst, double n = 1, clock::time_point now = clock::now()) {
    if (last_ == clock::time_point{}) tokens_ = burst;  // a new connection starts full
    else tokens_ = std::min(burst, tokens_ + rate * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    if (tokens_ < n) return false;
    tokens_ -= n;
    return true;
  }

 private:
  double tokens_ = 0;
  clock::time_point last_{};
};

}  // namespace microsockets
