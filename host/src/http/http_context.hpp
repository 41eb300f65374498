// What an HTTP connection needs from the host above it: the settings of the
// port, who decides an upgrade and hears the connection's events, and the
// answers of /healthz and /metrics. Built once at start; every connection
// reads it.
#pragma once

#include "websocket/session_events.hpp"

#include <chrono>
#include <functional>
#include <string>

struct ms_handshake;

namespace microsockets {

class origin_policy;
class proxy_trust;
class request_info;
class static_files;
class tls_context;

// A connection's events from its upgrade on.
class upgrade_events : public session_events {
 public:
  // The on_connect hooks: accept, reject (hs.reject_status), add response headers.
  virtual void decide_upgrade(ms_handshake& hs) = 0;
  // Drops the request headers no plugin reads after the upgrade.
  virtual void keep_headers(request_info& info) = 0;

 protected:
  ~upgrade_events() = default;
};

struct health_answer {
  bool healthy;      // 200, else 503
  std::string body;  // "ok", "degraded: ...", "stuck: ..."
};

struct http_context {
  const tls_context* tls = nullptr;     // --tls-cert, or plain
  const static_files* files = nullptr;  // --static, or none
  const origin_policy* origins = nullptr;
  const proxy_trust* proxies = nullptr;
  std::chrono::seconds tls_handshake_timeout{10};
  session_limits session;
  upgrade_events* events = nullptr;
  std::function<health_answer()> health;  // /healthz
  std::function<std::string()> metrics;   // /metrics
};

}  // namespace microsockets
