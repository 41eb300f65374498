#include "base/rate_limit.hpp"

#include <doctest/doctest.h>

using microsockets::rate_limit;
using namespace std::chrono_literals;

TEST_CASE("a new connection has its whole burst, then waits for the rate to refill it") {
  rate_limit bucket;
  const auto t0 = rate_limit::clock::now();
  for (int i = 0; i < 5; ++i) CHECK(bucket.take(10, 5, 1, t0));
  CHECK_FALSE(bucket.take(10, 5, 1, t0));
  CHECK_FALSE(bucket.take(10, 5, 1, t0 + 50ms));  // half a token
  CHECK(bucket.take(10, 5, 1, t0 + 150ms));       // 10 a second: one every 100 ms
  CHECK_FALSE(bucket.take(10, 5, 1, t0 + 150ms));
}

TEST_CASE("the bucket never holds more than its burst, however long the connection was quiet") {
  rate_limit bucket;
  const auto t0 = rate_limit::clock::now();
  CHECK(bucket.take(10, 3, 1, t0));
  const auto later = t0 + 1h;
  for (int i = 0; i < 3; ++i) CHECK(bucket.take(10, 3, 1, later));
  CHECK_FALSE(bucket.take(10, 3, 1, later));
}

TEST_CASE("a refused take costs nothing; a take of n needs n tokens at once") {
  rate_limit bucket;
  const auto t0 = rate_limit::clock::now();
  CHECK(bucket.take(1, 4, 3, t0));
  CHECK_FALSE(bucket.take(1, 4, 2, t0));  // one left
  CHECK(bucket.take(1, 4, 1, t0));        // the refusal took none of it
  CHECK_FALSE(bucket.take(1, 4, 1, t0 + 900ms));
  CHECK(bucket.take(1, 4, 1, t0 + 1200ms));
}
