# The host's sources less main.cpp, by layer (host/ARCHITECTURE.md): one list
# for the host's library (host/CMakeLists.txt) and the fuzz build
# (fuzz/CMakeLists.txt), paths relative to host/src.
set(MICROSOCKETS_HOST_SOURCES
  base/log.cpp
  base/log_limiter.cpp
  base/stats.cpp
  net/address_limits.cpp
  net/listener.cpp
  net/proxy_trust.cpp
  net/readiness.cpp
  net/tls_context.cpp
  websocket/envelope.cpp
  websocket/request_info.cpp
  websocket/websocket_handshake.cpp
  websocket/websocket_session.cpp
  http/http_session.cpp
  http/origin_policy.cpp
  http/static_files.cpp
  plugins/crash_report.cpp
  plugins/dispatcher.cpp
  plugins/host_api.cpp
  plugins/plugin.cpp
  plugins/plugin_activity.cpp
  plugins/plugin_copy.cpp
  plugins/plugin_directory.cpp
  plugins/plugin_table.cpp
  plugins/plugin_watcher.cpp
  core/worker.cpp
  cluster/redis_address.cpp
  cluster/redis_bus.cpp
  cluster/redis_connection.cpp
  cluster/redis_message.cpp
  ops/options.cpp
  ops/server.cpp
  ops/signal_reader.cpp
  ops/systemd_notify.cpp
  ops/watchdog.cpp)
