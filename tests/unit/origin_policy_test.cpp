#include "http/origin_policy.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using microsockets::origin_policy;

TEST_CASE("without a pattern every origin may connect, and so may a request without Origin") {
  const origin_policy any({});
  CHECK_FALSE(any.restricted());
  CHECK(any.allows("https://evil.example"));
  CHECK(any.allows(std::nullopt));
  const origin_policy some({"https://chat.example.com"});
  CHECK(some.restricted());
  CHECK(some.allows(std::nullopt));  // not a browser: Origin is a browser's promise
}

TEST_CASE("an exact origin matches scheme, host and port, in any case") {
  const origin_policy policy({"https://chat.example.com", "http://localhost:8000"});
  CHECK(policy.allows("https://chat.example.com"));
  CHECK(policy.allows("HTTPS://Chat.Example.COM"));
  CHECK(policy.allows("http://localhost:8000"));
  CHECK_FALSE(policy.allows("http://chat.example.com"));       // scheme
  CHECK_FALSE(policy.allows("https://chat.example.com:8443"));  // port
  CHECK_FALSE(policy.allows("http://localhost"));
  CHECK_FALSE(policy.allows("https://chat.example.com.evil.example"));
  CHECK_FALSE(policy.allows("null"));  // a sandboxed page or a file
  CHECK_FALSE(policy.allows(""));
}

TEST_CASE("*.domain matches its subdomains, not the domain itself nor a look-alike") {
  const origin_policy policy({"https://*.example.com"});
  CHECK(policy.allows("https://chat.example.com"));
  CHECK(policy.allows("https://a.b.example.com"));
  CHECK_FALSE(policy.allows("https://example.com"));
  CHECK_FALSE(policy.allows("https://badexample.com"));
  CHECK_FALSE(policy.allows("https://chat.example.com:444"));
}

TEST_CASE("IPv6 literals keep their colons; the port follows the bracket") {
  const origin_policy policy({"http://[::1]:8000"});
  CHECK(policy.allows("http://[::1]:8000"));
  CHECK_FALSE(policy.allows("http://[::1]"));
}

TEST_CASE("a pattern that is not scheme://host[:port] is refused, naming it") {
  for (const char* bad : {"chat.example.com", "https://", "https://a.com/path", "https://a.com:", "https://a.com:80x",
                          "https://*.", "https://a.*.com", "https://*"})
    CHECK_THROWS_WITH_AS(origin_policy({bad}), doctest::Contains(bad), std::invalid_argument);
}
