// Every setting of the host, with its default and why.
#pragma once

#include "base/log.hpp"
#include "cluster/redis_address.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

struct options {
  // Loopback by default: exposing a development server is a decision, not an accident.
  std::string listen_address = "127.0.0.1";  // --host
  // The original microsockets examples use 8000; 0 picks a free port (tests).
  std::uint16_t port = 8000;
  // Plugins load from here in file-name order, like a conf.d directory.
  std::filesystem::path plugins = "plugins";
  // One event loop per thread; connections are spread over them.
  unsigned threads = 1;
  log::level log_level = log::level::info;
  // Text for people; json (one object a line) for log collectors.
  log::format log_format = log::format::text;
  // Larger messages are refused with close code 1009 (RFC 6455 "message too big").
  std::size_t max_message_bytes = 64 * 1024;
  // A connection silent for half of this is pinged; silent for all of it,
  // closed. Dead peers (a laptop lid shut) otherwise hold memory forever. 0: never.
  unsigned idle_timeout_seconds = 60;
  // Output a client has not read yet; past it the client is closed with 1013,
  // so one slow reader never grows the server's memory or slows its room.
  std::size_t max_output_bytes = 1024 * 1024;
  // A plugin file that cannot be loaded stops the start, as nginx refuses a
  // module it cannot load: a dangling link to an auth plugin must not mean a
  // host without auth. True: log it and serve without it.
  bool allow_missing_plugins = false;
  // Reload plugins when their files change (development); SIGHUP always reloads.
  bool watch = false;
  // Files served over plain HTTP on the same port, e.g. the chat page.
  std::optional<std::filesystem::path> static_dir;
  // Redis instances shared with other hosts (--redis, repeatable): rooms span
  // every host on them, spread over the instances by a hash of the room name.
  // Empty: one host alone, nothing of the cluster runs.
  std::vector<redis_address> redis;
  // Every Redis command is answered within this, a heartbeat's included, or
  // its connection is dropped and made again (the host says degraded): a
  // paused Redis is otherwise never noticed.
  unsigned redis_timeout_ms = 2000;
  // Bytes waiting for one Redis connection (queued, or sent and unanswered);
  // past it new cross-host messages are dropped and counted, never queued
  // without bound (a paused Redis grew a host by 18 MB/s).
  std::size_t redis_max_pending_bytes = 8 * 1024 * 1024;
  // Plugin settings from --set plugin.key=value; the environment fills the rest.
  std::map<std::string, std::string> settings;

  // Limits for a host exposed to the internet (nginx, uWebSockets and
  // Centrifugo's defaults where they have one); each refusal is counted in /metrics.
  // Open TCP connections, upgraded or not; past it a new one is closed at once
  // (503 first). 0: the fd limit less 64, so descriptors never run out first.
  std::size_t max_connections = 0;
  // Open TCP connections from one client address; past it a new one is closed
  // at once as above, so one address cannot take every place. Generous: a
  // NAT or an office shares one address. 0: no limit.
  std::size_t max_connections_per_address = 256;
  // A connection that has begun to close (our close, a protocol error, the
  // peer's half-close) is cut after this, whatever the peer does or does not read.
  unsigned close_timeout_seconds = 5;
  // A plugin's join past either limit gets MS_REFUSED: 2,000 joins of 30 KB
  // names otherwise cost 118 MB.
  std::size_t max_rooms_per_connection = 1000;
  std::size_t max_room_name_bytes = 256;
  // And past this many bytes of names of one connection's rooms together: a
  // broadcast to a connection's rooms lists each once, and 1,000 names of 256
  // bytes made one 10-byte chat message 261 MB of Redis traffic. 1,000 rooms
  // of 16-byte names fit.
  std::size_t max_room_names_bytes = 16 * 1024;
  // A plugin's broadcast to more rooms than this gets MS_REFUSED: what one
  // message may cost every host (and Redis) grows with its rooms.
  std::size_t max_broadcast_rooms = 1000;
  // Messages a second per connection, a token bucket holding max_rate_burst
  // (0: one second's worth); over it: close 1008. Off (0) by default: the
  // right rate is the application's (a game sends 60/s, a chat 1/s) and
  // --max-message and --max-output already bound memory.
  double max_rate = 0;
  double max_rate_burst = 0;
  // Frames that carry no message (pings, pongs, empty fragments) a second per
  // connection, while --max-rate is off (with it, they count as messages);
  // over it: close 1008. Each costs a frame's work and no message bounds
  // them: an endless stream of empty fragments burned 70 % of a core. No
  // client needs more than a ping every few seconds. 0: no limit.
  double max_control_rate = 100;
  // Origins whose pages may connect (exact, or https://*.example.com for
  // subdomains); others get 403. Empty: any, as in Socket.IO and uWebSockets.
  std::vector<std::string> allow_origins;
  // Peers (CIDR) whose X-Forwarded-For / Forwarded name the client for ws.remote().
  std::vector<std::string> trust_proxies;
  // TLS: with both, the port speaks only TLS (wss:// and https://), as
  // uWebSockets' SSLApp does: a PEM certificate chain and its PEM private key,
  // re-read on SIGHUP. Without them, plain ws:// and http:// (put a proxy in
  // front, or give these, before exposing the port).
  std::optional<std::filesystem::path> tls_cert;
  std::optional<std::filesystem::path> tls_key;
  // From accept to a finished TLS handshake; a connection that has not done it
  // by then is cut (and counted): a silent one holds its place no longer.
  unsigned tls_handshake_timeout_seconds = 10;

  // Plugin code that does not return: a call into a plugin (handler,
  // middleware, hook) running longer than this is logged once and counted, and
  // its worker gets no new connections and /healthz says 503 until it returns;
  // the clients on that thread wait meanwhile. Envoy's watchdog "miss" is 200 ms;
  // 1 s stays quiet for a handler that does a slow but bounded job.
  double slow_handler_seconds = 1;
  // A plugin call running this long ends the host with SIGABRT (its crash line
  // names the plugin) for its supervisor to restart. 0, the default: never, the
  // other workers' clients go on being served; stuck calls cannot be stopped.
  double watchdog_kill_seconds = 0;
};

// The outcome of reading the command line: options to run with, or text to
// print and an exit code (help, version, or a one-line error).
struct parsed_options {
  std::optional<options> run;
  std::string message;
  int exit_code = 0;
};

// Reads the command line, then MICROSOCKETS_HOST_<FLAG> variables of the
// environment, then the --config file: a setting given in one of them is
// not read from those after it (flags win over the environment, which wins
// over the file).
parsed_options parse_options(int argc, char** argv);

// Settings that are allowed but probably not meant (the start logs each as a
// warning); settings that contradict each other are refused by parse_options.
std::vector<std::string> questionable_settings(const options& o);

}  // namespace microsockets
