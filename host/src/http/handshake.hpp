// An upgrade request while on_connect hooks decide it: what they read, and
// what they decided (reject, response headers, subprotocol, attributes).
#pragma once

#include "websocket/request_info.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

struct ms_handshake {
  const microsockets::request_info* request = nullptr;
  unsigned reject_status = 0;  // 0: accept
  std::string reject_reason;
  std::vector<std::pair<std::string, std::string>> response_headers;
  std::string protocol;
  std::map<std::string, std::string, std::less<>> attributes;
};
