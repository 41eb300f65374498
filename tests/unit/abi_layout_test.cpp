// The C table's layout is the ABI: a plugin built against an older header
// calls through these offsets. Each number here is a promise; an edit that
// moves one breaks every plugin built before it. New entries go at the end.
#include <microsockets/abi.h>

#include <doctest/doctest.h>

#include <cstddef>

static_assert(sizeof(void*) == 8, "the pinned offsets are those of a 64-bit (LP64) build");

#define PIN(member, offset) CHECK_MESSAGE(offsetof(ms_host_api, member) == (offset), #member " moved")

TEST_CASE("every ms_host_api entry keeps its offset (ABI 1.2, LP64)") {
  PIN(abi_version, 0);
  PIN(size, 4);
  PIN(register_name, 8);
  PIN(register_event, 16);
  PIN(register_fallback, 24);
  PIN(register_middleware, 32);
  PIN(register_startup, 40);
  PIN(register_shutdown, 48);
  PIN(register_connect, 56);
  PIN(register_disconnect, 64);
  PIN(register_error, 72);
  PIN(register_state, 80);
  PIN(call_connection, 88);
  PIN(call_event, 96);
  PIN(call_payload, 104);
  PIN(call_set_payload, 112);
  PIN(call_next, 120);
  PIN(handshake_request, 128);
  PIN(handshake_reject, 136);
  PIN(handshake_set_header, 144);
  PIN(handshake_select_protocol, 152);
  PIN(handshake_set_attribute, 160);
  PIN(emit, 168);
  PIN(join, 176);
  PIN(leave, 184);
  PIN(rooms, 192);
  PIN(broadcast, 200);
  PIN(close, 208);
  PIN(set_attribute, 216);
  PIN(get_attribute, 224);
  PIN(request, 232);
  PIN(log, 240);
  PIN(config, 248);
  PIN(report_error, 256);
  PIN(room_members, 264);   // minor version 1
  PIN(register_kept_headers, 272);  // minor version 2
  CHECK(sizeof(ms_host_api) == 280);
  CHECK(MS_ABI_MAJOR == 1);
}
