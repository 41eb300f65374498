#include "net/address_limits.hpp"

#include <doctest/doctest.h>

using microsockets::address_limits;
namespace ip = boost::asio::ip;

TEST_CASE("an address gets up to its limit of places, and each one given back is free again") {
  address_limits limits(2);
  const auto a = ip::make_address("203.0.113.7");
  const auto b = ip::make_address("2001:db8::17");
  CHECK(limits.try_take(a));
  CHECK(limits.try_take(a));
  CHECK_FALSE(limits.try_take(a));
  CHECK(limits.open_from(a) == 2);
  CHECK(limits.try_take(b));  // another address has places of its own
  limits.give_back(a);
  CHECK(limits.try_take(a));
  CHECK_FALSE(limits.try_take(a));
}

TEST_CASE("an IPv4-mapped IPv6 address counts as its IPv4 address") {
  address_limits limits(1);
  CHECK(limits.try_take(ip::make_address("198.51.100.1")));
  CHECK_FALSE(limits.try_take(ip::make_address("::ffff:198.51.100.1")));
  limits.give_back(ip::make_address("::ffff:198.51.100.1"));
  CHECK(limits.open_from(ip::make_address("198.51.100.1")) == 0);
}

TEST_CASE("the map forgets an address once its last connection is given back; 0 means no limit") {
  address_limits limits(0);
  const auto a = ip::make_address("192.0.2.1");
  for (int i = 0; i < 1000; ++i) CHECK(limits.try_take(a));
  CHECK(limits.addresses() == 1);
  for (int i = 0; i < 1000; ++i) limits.give_back(a);
  CHECK(limits.addresses() == 0);
  limits.give_back(a);  // one too many changes nothing
  CHECK(limits.addresses() == 0);
}
