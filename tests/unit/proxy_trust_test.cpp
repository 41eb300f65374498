#include "net/proxy_trust.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using microsockets::proxy_trust;
namespace ip = boost::asio::ip;
using tcp = ip::tcp;

namespace {
tcp::endpoint from(const char* address, unsigned short port = 5000) { return {ip::make_address(address), port}; }
}  // namespace

TEST_CASE("a range is an address or a CIDR block, v4 or v6; anything else names itself in the error") {
  const proxy_trust trust({"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"});
  CHECK(trust.trusts(ip::make_address("10.200.3.4")));
  CHECK(trust.trusts(ip::make_address("192.0.2.7")));
  CHECK_FALSE(trust.trusts(ip::make_address("192.0.2.8")));  // a bare address is a /32
  CHECK(trust.trusts(ip::make_address("2001:db8:1::5")));
  CHECK_FALSE(trust.trusts(ip::make_address("2001:db9::5")));
  CHECK(trust.trusts(ip::make_address("::ffff:10.1.1.1")));  // IPv4-mapped counts as its IPv4 address
  CHECK_THROWS_WITH_AS(proxy_trust({"10.0.0.0/33"}), doctest::Contains("'10.0.0.0/33'"), std::invalid_argument);
  CHECK_THROWS_AS(proxy_trust({"proxy.example.com"}), std::invalid_argument);
}

TEST_CASE("an untrusted peer is the client, whatever headers it sends") {
  const proxy_trust trust({"10.0.0.1"});
  CHECK(trust.client(from("203.0.113.9", 41000), "198.51.100.1", std::nullopt) == "203.0.113.9:41000");
  CHECK(trust.client(from("10.0.0.1", 41000), std::nullopt, std::nullopt) == "10.0.0.1:41000");
}

TEST_CASE("behind trusted proxies the client is the right-most address that is not one of them") {
  const proxy_trust trust({"10.0.0.0/8"});
  const auto proxy = from("10.0.0.1");
  CHECK(trust.client(proxy, "198.51.100.1", std::nullopt) == "198.51.100.1");
  // A client can write anything left of the real hop: it is not believed.
  CHECK(trust.client(proxy, "6.6.6.6, 198.51.100.1, 10.0.0.2", std::nullopt) == "198.51.100.1");
  CHECK(trust.client(proxy, " 198.51.100.1:8080 ", std::nullopt) == "198.51.100.1");
  CHECK(trust.client(proxy, "[2001:db8::9]:443", std::nullopt) == "2001:db8::9");
  // Every hop trusted: the left-most is the nearest thing to a client.
  CHECK(trust.client(proxy, "10.1.1.1, 10.2.2.2", std::nullopt) == "10.1.1.1");
  // Not an address ("unknown"): the last proxy is all that is known.
  CHECK(trust.client(proxy, "unknown", std::nullopt) == "10.0.0.1");
}

TEST_CASE("RFC 7239 Forwarded is read when X-Forwarded-For is absent, and loses to it when both are sent") {
  const proxy_trust trust({"10.0.0.0/8"});
  const auto proxy = from("10.0.0.1");
  CHECK(trust.client(proxy, std::nullopt, "for=198.51.100.1;proto=https") == "198.51.100.1");
  CHECK(trust.client(proxy, std::nullopt, R"(for="[2001:db8::9]:443", For=10.3.3.3)") == "2001:db8::9");
  CHECK(trust.client(proxy, std::nullopt, "for=_hidden") == "10.0.0.1");
  CHECK(trust.client(proxy, "203.0.113.5", "for=198.51.100.1") == "203.0.113.5");
}
