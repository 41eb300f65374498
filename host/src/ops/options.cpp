#include "ops/options.hpp"

#include "core/connection_id.hpp"
#include "http/origin_policy.hpp"
#include "net/proxy_trust.hpp"
#include "websocket/frame.hpp"

#include <microsockets/abi.h>

#include <boost/algorithm/string/split.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace microsockets {
namespace po = boost::program_options;
namespace {

constexpr std::string_view env_prefix = "MICROSOCKETS_HOST_";

constexpr const char* epilog = R"(
Every setting is also read from the environment as MICROSOCKETS_HOST_<FLAG>
(upper case, '-' as '_'; a repeatable flag takes a comma-separated list), and
from --config FILE, one "flag = value" a line ('#' starts a comment). A flag on
the command line wins over the environment, which wins over the file.
Plugin settings: --set plugin.key=value, or MICROSOCKETS_<PLUGIN>_<KEY>.

Signals:
  SIGHUP          reload changed plugins (and the TLS certificate); every
                  other setting needs a restart
  SIGINT, SIGTERM close clients with 1001, run on_shutdown hooks, exit 0;
                  each step gets --close-timeout, and a host with a stuck
                  plugin call exits 1 once the other workers are done
  SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT
                  one line names the plugin and event that ran on the thread,
                  a backtrace follows, and the host dies of the signal

HTTP on the same port:
  /healthz        "ok" while the host runs; 503 naming the worker and plugin
                  while a plugin call runs longer than --slow-handler
  /metrics        counters, gauges and histograms in Prometheus text format
  /...            the files of --static DIR, if given

Example:
  MICROSOCKETS_HOST_THREADS=4 microsockets --plugins /usr/lib/microsockets/plugins \
      --port 8000 --set token_auth.tokens=secret --log-format json
)";

// MICROSOCKETS_HOST_MAX_OUTPUT -> max-output
std::string flag_of(std::string_view variable) {
  std::string flag(variable.substr(env_prefix.size()));
  for (char& c : flag) c = c == '_' ? '-' : char(std::tolower(static_cast<unsigned char>(c)));
  return flag;
}

// The MICROSOCKETS_HOST_* variables, as if they were given as flags.
po::parsed_options parse_environment(const po::options_description& desc) {
  po::parsed_options parsed(&desc);
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (!entry.starts_with(env_prefix) || eq == std::string_view::npos) continue;
    const std::string_view variable = entry.substr(0, eq);
    const std::string value(entry.substr(eq + 1));
    const std::string flag = flag_of(variable);
    const auto* option = desc.find_nothrow(flag, false);
    if (!option) throw po::error(fmt::format("unknown variable {}", variable));
    std::vector<std::string> tokens;
    if (option->semantic()->max_tokens() > 1 || option->semantic()->is_composing())
      boost::split(tokens, value, [](char c) { return c == ','; });
    else
      tokens.push_back(value);
    parsed.options.emplace_back(flag, tokens);
  }
  return parsed;
}

// Stores what `source` sets that a source before it did not: program_options
// keeps a first value itself, but would merge lists.
void store_unset(po::parsed_options source, po::variables_map& vm) {
  std::erase_if(source.options, [&](const po::option& o) { return vm.count(o.string_key) && !vm[o.string_key].defaulted(); });
  po::store(source, vm);
}

}  // namespace

std::vector<std::string> questionable_settings(const options& o) {
  std::vector<std::string> out;
  if (o.max_rate_burst > 0 && o.max_rate <= 0) out.push_back("--max-rate-burst has no effect without --max-rate");
  if (o.max_rooms_per_connection == 0 || o.max_room_name_bytes == 0)
    out.push_back("--max-rooms-per-connection or --max-room-name is 0: every join is refused");
  if (o.close_timeout_seconds == 0)
    out.push_back("--close-timeout is 0: a closing connection is cut at once, before its close frame is read");
  return out;
}

parsed_options parse_options(int argc, char** argv) {
  options o;
  std::string plugins = o.plugins.string();
  std::string level = "info";
  std::vector<std::string> redis;
  std::string redis_password, redis_password_file;
  std::string format = "text";
  std::string config;

  po::options_description commands("Usage: microsockets [options]\n\nCommands");
  commands.add_options()
      ("help,h", "show this help and exit")
      ("version", "show the host's and the plugin ABI's versions and exit");
  po::options_description startup("Startup");
  startup.add_options()
      ("config", po::value(&config)->value_name("FILE"), "read settings from FILE (see below)");
  // Every setting, each also from the environment and the --config file.
  po::options_description settings("Settings");
  settings.add_options()
      ("host", po::value(&o.listen_address)->default_value(o.listen_address)->value_name("ADDRESS"), "address to listen on")
      ("port,p", po::value(&o.port)->default_value(o.port)->value_name("PORT"), "port to listen on (0: any free port)")
      ("plugins", po::value(&plugins)->default_value(plugins)->value_name("DIR"), "directory of plugin .so files")
      ("static", po::value<std::string>()->value_name("DIR"), "serve the files of DIR over HTTP")
      ("watch", po::bool_switch(&o.watch), "reload plugins when their files change")
      ("allow-missing-plugins", po::bool_switch(&o.allow_missing_plugins),
       "start even if a plugin file cannot be loaded (default: such a file stops the start)")
      ("threads", po::value(&o.threads)->default_value(o.threads)->value_name("N"), "event loop threads")
      ("log-level", po::value(&level)->default_value(level)->value_name("LEVEL"), "debug, info, warn or error")
      ("log-format", po::value(&format)->default_value(format)->value_name("FORMAT"),
       "text, or json: one object a line with time, level, message (and plugin)")
      ("max-message", po::value(&o.max_message_bytes)->default_value(o.max_message_bytes)->value_name("BYTES"),
       "largest incoming message (larger: close 1009)")
      ("idle-timeout", po::value(&o.idle_timeout_seconds)->default_value(o.idle_timeout_seconds)->value_name("SECONDS"),
       "silence before a connection is closed (pinged at half); 0: never")
      ("max-output", po::value(&o.max_output_bytes)->default_value(o.max_output_bytes)->value_name("BYTES"),
       "unsent bytes a client may fall behind (more: close 1013)")
      ("redis", po::value(&redis)->composing()->value_name("URL"),
       "share rooms with other hosts through this Redis, redis://[:PASSWORD@]HOST:PORT[/DB] "
       "(repeatable: rooms are spread over the instances by name)")
      ("redis-password", po::value(&redis_password)->value_name("PASSWORD"),
       "the Redis password for every --redis URL that has none: from the environment "
       "(MICROSOCKETS_HOST_REDIS_PASSWORD) or --config only, never the command line, which ps shows")
      ("redis-password-file", po::value(&redis_password_file)->value_name("FILE"),
       "read that password from FILE (its first line), e.g. a systemd credential")
      ("redis-timeout", po::value(&o.redis_timeout_ms)->default_value(o.redis_timeout_ms)->value_name("MS"),
       "a Redis that has not answered a command within this is dropped and reconnected (degraded meanwhile)")
      ("redis-max-pending",
       po::value(&o.redis_max_pending_bytes)->default_value(o.redis_max_pending_bytes)->value_name("BYTES"),
       "bytes waiting for one Redis connection; past it cross-host messages are dropped and counted")
      ("set", po::value<std::vector<std::string>>()->composing()->value_name("PLUGIN.KEY=VALUE"),
       "plugin setting (repeatable); also MICROSOCKETS_<PLUGIN>_<KEY>");
  settings.add_options()  // limits for a host exposed to the internet
      ("max-connections", po::value(&o.max_connections)->default_value(o.max_connections)->value_name("N"),
       "open TCP connections; more are closed at once (with a 503 on a plain port); 0: the fd limit less 64")
      ("max-connections-per-address",
       po::value(&o.max_connections_per_address)->default_value(o.max_connections_per_address)->value_name("N"),
       "open TCP connections from one client address; more are closed at once, as above; 0: no limit")
      ("close-timeout", po::value(&o.close_timeout_seconds)->default_value(o.close_timeout_seconds)->value_name("SECONDS"),
       "time a closing connection has to finish before it is cut")
      ("max-rooms-per-connection",
       po::value(&o.max_rooms_per_connection)->default_value(o.max_rooms_per_connection)->value_name("N"),
       "rooms one connection may be in (more: join refused)")
      ("max-room-name", po::value(&o.max_room_name_bytes)->default_value(o.max_room_name_bytes)->value_name("BYTES"),
       "longest room name (longer: join refused)")
      ("max-room-names-bytes",
       po::value(&o.max_room_names_bytes)->default_value(o.max_room_names_bytes)->value_name("BYTES"),
       "bytes of the names of one connection's rooms together (more: join refused)")
      ("max-broadcast-rooms", po::value(&o.max_broadcast_rooms)->default_value(o.max_broadcast_rooms)->value_name("N"),
       "rooms one broadcast may list (more: broadcast refused)")
      ("max-rate", po::value(&o.max_rate)->default_value(o.max_rate)->value_name("MSGS_PER_S"),
       "messages a second per connection (more: close 1008); 0: no limit")
      ("max-rate-burst", po::value(&o.max_rate_burst)->default_value(o.max_rate_burst)->value_name("N"),
       "messages allowed at once above --max-rate; 0: one second's worth")
      ("max-control-rate", po::value(&o.max_control_rate)->default_value(o.max_control_rate)->value_name("FRAMES_PER_S"),
       "pings, pongs and empty fragments a second per connection while --max-rate is off (more: close 1008); "
       "0: no limit")
      ("allow-origin", po::value(&o.allow_origins)->composing()->value_name("ORIGIN"),
       "origin whose pages may connect, e.g. https://app.example.com or https://*.example.com "
       "(repeatable; others get 403); default: any")
      ("trust-proxy", po::value(&o.trust_proxies)->composing()->value_name("CIDR"),
       "proxy address or CIDR whose X-Forwarded-For / Forwarded headers are believed (repeatable)");
  settings.add_options()  // TLS
      ("tls-cert", po::value<std::string>()->value_name("FILE"),
       "serve TLS only (wss://, https://) with this PEM certificate chain; re-read on SIGHUP")
            ("tls-key", po::value<std::string>()->value_name("FILE"), "the PEM private key of --tls-cert")
      ("tls-handshake-timeout",
       po::value(&o.tls_handshake_timeout_seconds)->default_value(o.tls_handshake_timeout_seconds)->value_name("SECONDS"),
       "time from accept to a finished TLS handshake; longer: cut");
  settings.add_options()  // plugin code that does not return
      ("slow-handler", po::value(&o.slow_handler_seconds)->default_value(o.slow_handler_seconds)->value_name("SECONDS"),
       "a plugin call running longer is logged and counted, and its worker gets no new connections until it returns")
      ("watchdog-kill", po::value(&o.watchdog_kill_seconds)->default_value(o.watchdog_kill_seconds)->value_name("SECONDS"),
       "abort the host (SIGABRT, naming the plugin) when a plugin call runs this long; 0: never");

  po::options_description command_line, environment;
  command_line.add(commands).add(startup).add(settings);
  environment.add(startup).add(settings);

  parsed_options out;
  auto fail = [&](std::string message) {
    out.message = fmt::format("microsockets: {} (see --help)", message);
    out.exit_code = 2;
    return out;
  };
  po::variables_map vm;
  std::string source = "command line";
  try {
    po::store(po::command_line_parser(argc, argv).options(command_line).run(), vm);
    if (vm.count("redis-password"))
      return fail("--redis-password on the command line is visible to every user in ps: give it as "
                  "MICROSOCKETS_HOST_REDIS_PASSWORD, in --config, or with --redis-password-file");
    source = "environment";
    store_unset(parse_environment(environment), vm);
    if (vm.count("config")) {
      source = vm["config"].as<std::string>();
      store_unset(po::parse_config_file(source.c_str(), settings), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return fail(source == "command line" ? e.what() : fmt::format("{}: {}", source, e.what()));
  }
  if (vm.count("help")) {
    std::ostringstream text;
    text << commands << "\n" << startup << "\n" << settings << epilog;
    out.message = text.str();
    return out;
  }
  if (vm.count("version")) {
    out.message = fmt::format("microsockets {} (plugin ABI {}.{})", MICROSOCKETS_VERSION, MS_ABI_MAJOR, MS_ABI_MINOR);
    return out;
  }
  if (auto l = log::parse_level(level)) o.log_level = *l;
  else return fail(fmt::format("unknown log level '{}'", level));
  if (auto f = log::parse_format(format)) o.log_format = *f;
  else return fail(fmt::format("unknown log format '{}' (text or json)", format));
  if (o.threads == 0 || o.threads > connection_id::max_workers)
    return fail(fmt::format("--threads must be between 1 and {}", connection_id::max_workers));
  if (vm.count("set"))
    for (const auto& s : vm["set"].as<std::vector<std::string>>()) {
      auto eq = s.find('=');
      auto dot = s.find('.');
      if (eq == std::string::npos || dot == std::string::npos || dot == 0 || dot > eq)
        return fail(fmt::format("--set expects plugin.key=value, got '{}'", s));
      o.settings[s.substr(0, eq)] = s.substr(eq + 1);
    }
  if (o.tls_handshake_timeout_seconds == 0) return fail("--tls-handshake-timeout must be at least 1");
  if (!(o.slow_handler_seconds > 0)) return fail("--slow-handler must be more than 0");
  if (o.watchdog_kill_seconds < 0) return fail("--watchdog-kill must not be negative");
  if (o.watchdog_kill_seconds > 0 && o.watchdog_kill_seconds < o.slow_handler_seconds)
    return fail("--watchdog-kill must be 0 (never) or at least --slow-handler");
  if (o.max_rate < 0 || o.max_rate_burst < 0 || o.max_control_rate < 0)
    return fail("--max-rate, --max-rate-burst and --max-control-rate must not be negative");
  if (o.max_rate > 0 && o.max_rate_burst > 0 && o.max_rate_burst < 1)
    return fail(fmt::format("--max-rate-burst {} admits no message: it must be at least 1", o.max_rate_burst));
  if (const auto largest = o.max_message_bytes + frame_header_bytes(o.max_message_bytes); largest > o.max_output_bytes)
    return fail(fmt::format("--max-message {} cannot be delivered within --max-output {} (a frame of it takes {} bytes): "
                            "raise --max-output or lower --max-message",
                            o.max_message_bytes, o.max_output_bytes, largest));
  try {
    origin_policy check_origins(o.allow_origins);
    proxy_trust check_proxies(o.trust_proxies);
  } catch (const std::invalid_argument& e) {
    return fail(e.what());
  }
  if (o.redis_timeout_ms < 100) return fail("--redis-timeout must be at least 100 ms");
  if (o.redis_max_pending_bytes < 64 * 1024) return fail("--redis-max-pending must be at least 65536 bytes");
  if (!redis_password_file.empty()) {
    std::ifstream file(redis_password_file);
    if (!file || !std::getline(file, redis_password))
      return fail(fmt::format("--redis-password-file: cannot read a line from '{}'", redis_password_file));
  }
  for (const auto& url : redis) {
    auto a = parse_redis_address(url);
    if (auto* why = std::get_if<std::string>(&a)) return fail(fmt::format("--redis: {}", *why));
    auto& address = o.redis.emplace_back(std::get<redis_address>(std::move(a)));
    if (address.password.empty()) address.password = redis_password;
  }
  o.plugins = plugins;
  if (vm.count("static")) o.static_dir = vm["static"].as<std::string>();
  if (vm.count("tls-cert") != vm.count("tls-key")) return fail("--tls-cert and --tls-key go together");
  if (vm.count("tls-cert")) {
    o.tls_cert = vm["tls-cert"].as<std::string>();
    o.tls_key = vm["tls-key"].as<std::string>();
  }
  out.run = std::move(o);
  return out;
}

}  // namespace microsockets
