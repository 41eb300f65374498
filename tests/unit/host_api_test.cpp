#include "http/handshake.hpp"
#include "plugins/host_api.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace microsockets;

TEST_CASE("MS_HAS tells a function of the host's table from one past its end") {
  const ms_host_api& api = host_api_table();
  CHECK(api.size == sizeof(ms_host_api));
  CHECK(MS_HAS(&api, emit));
  CHECK(MS_HAS(&api, report_error));

  // A host of an older minor version: its table ends before report_error.
  ms_host_api older;
  std::memcpy(&older, &api, sizeof older);
  older.size = offsetof(ms_host_api, report_error);
  CHECK(MS_HAS(&older, config));
  CHECK_FALSE(MS_HAS(&older, report_error));

  // An entry the host left empty is not there either.
  older.size = sizeof(ms_host_api);
  older.config = nullptr;
  CHECK_FALSE(MS_HAS(&older, config));
}

TEST_CASE("a response header must be a token with a value that cannot split the response") {
  const ms_host_api& api = host_api_table();
  ms_handshake hs;
  auto set = [&](std::string_view name, std::string_view value) {
    return api.handshake_set_header(&hs, {name.data(), name.size()}, {value.data(), value.size()});
  };
  CHECK(set("X-Fine", "a value; with=punctuation") == MS_OK);
  CHECK(set("Bad Name", "x") == MS_INVALID);
  CHECK(set("", "x") == MS_INVALID);
  CHECK(set("X-Split", "a\r\nSet-Cookie: b") == MS_INVALID);
  CHECK(set("X-Nul", std::string_view("a\0b", 3)) == MS_INVALID);
  CHECK(hs.response_headers.size() == 1);
}

TEST_CASE("a rejection needs an HTTP error status") {
  const ms_host_api& api = host_api_table();
  ms_handshake hs;
  CHECK(api.handshake_reject(&hs, 200, {"no", 2}) == MS_INVALID);
  CHECK(hs.reject_status == 0);
  CHECK(api.handshake_reject(&hs, 403, {"no", 2}) == MS_OK);
  CHECK(hs.reject_status == 403);
}
