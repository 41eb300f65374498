#include "options.hpp"

#include "origin_policy.hpp"
#include "proxy_trust.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <sstream>
#include <stdexcept>

namespace microsockets {
namespace po = boost::program_options;

parsed_options parse_options(int argc, char** argv) {
  options o;
  std::string plugins = o.plugins.string();
  std::string level = "info";
  std::vector<std::string> settings;
  std::vector<std::string> redis;

  po::options_description desc("Usage: microsockets [options]\n\nOptions");
  desc.add_options()
      ("help,h", "show this help and exit")
      ("version", "show the version and exit")
      ("host", po::value(&o.host)->default_value(o.host), "address to listen on")
      ("port,p", po::value(&o.port)->default_value(o.port), "port to listen on (0: any free port)")
      ("plugins", po::value(&plugins)->default_value(plugins), "directory of plugin .so files")
      ("static", po::value<std::string>(), "serve the files of this directory over HTTP")
      ("watch", po::bool_switch(&o.watch), "reload plugins when their files change")
      ("threads", po::value(&o.threads)->default_value(o.threads), "event loop threads")
      ("log-level", po::value(&level)->default_value(level), "debug, info, warn or error")
      ("max-message", po::value(&o.max_message_bytes)->default_value(o.max_message_bytes),
       "largest incoming message in bytes (larger: close 1009)")
      ("idle-timeout", po::value(&o.idle_timeout_seconds)->default_value(o.idle_timeout_seconds),
       "seconds of silence before a connection is closed (pinged at half); 0: never")
      ("max-output", po::value(&o.max_output_bytes)->default_value(o.max_output_bytes),
       "unsent bytes a client may fall behind (more: close 1013)")
      ("redis", po::value(&redis)->composing(),
       "share rooms with other hosts through this Redis, redis://[:PASSWORD@]HOST:PORT[/DB] "
       "(repeatable: rooms are spread over the instances by name)")
      ("set", po::value(&settings)->composing(),
       "plugin setting plugin.key=value (repeatable); "
       "also read from MICROSOCKETS_<PLUGIN>_<KEY>");
  desc.add_options()  // limits
      ("max-connections", po::value(&o.max_connections)->default_value(o.max_connections),
       "open TCP connections; more are closed at once (503); 0: the fd limit less 64")
      ("close-timeout", po::value(&o.close_timeout_seconds)->default_value(o.close_timeout_seconds),
       "seconds a closing connection has to finish before it is cut")
      ("max-rooms-per-connection", po::value(&o.max_rooms_per_connection)->default_value(o.max_rooms_per_connection),
       "rooms one connection may be in (more: join refused)")
      ("max-room-name", po::value(&o.max_room_name_bytes)->default_value(o.max_room_name_bytes),
       "longest room name in bytes (longer: join refused)")
      ("max-rate", po::value(&o.max_rate)->default_value(o.max_rate),
       "messages a second per connection (more: close 1008); 0: no limit")
      ("max-rate-burst", po::value(&o.max_rate_burst)->default_value(o.max_rate_burst),
       "messages allowed at once above --max-rate; 0: one second's worth")
      ("allow-origin", po::value(&o.allow_origins)->composing(),
       "origin whose pages may connect, e.g. https://app.example.com or https://*.example.com "
       "(repeatable; others get 403); default: any")
      ("trust-proxy", po::value(&o.trust_proxies)->composing(),
       "proxy address or CIDR whose X-Forwarded-For / Forwarded headers are believed (repeatable)");
  desc.add_options()
      ("tls-cert", po::value<std::string>(), "serve TLS only (wss://, https://) with this PEM certificate chain; "
       "re-read on SIGHUP")
      ("tls-key", po::value<std::string>(), "the PEM private key of --tls-cert");

  parsed_options out;
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    out.message = fmt::format("microsockets: {} (see --help)", e.what());
    out.exit_code = 2;
    return out;
  }
  if (vm.count("help")) {
    std::ostringstream text;
    text << desc;
    out.message = text.str();
    return out;
  }
  if (vm.count("version")) {
    out.message = "microsockets " MICROSOCKETS_VERSION;
    return out;
  }
  auto fail = [&](std::string message) {
    out.message = fmt::format("microsockets: {} (see --help)", message);
    out.exit_code = 2;
    return out;
  };
  if (auto l = log::parse_level(level)) o.log_level = *l;
  else return fail(fmt::format("unknown log level '{}'", level));
  if (o.threads == 0 || o.threads > 256) return fail("--threads must be between 1 and 256");
  for (const auto& s : settings) {
    auto eq = s.find('=');
    auto dot = s.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot == 0 || dot > eq)
      return fail(fmt::format("--set expects plugin.key=value, got '{}'", s));
    o.settings[s.substr(0, eq)] = s.substr(eq + 1);
  }
  if (o.max_rate < 0 || o.max_rate_burst < 0) return fail("--max-rate and --max-rate-burst must not be negative");
  try {
    origin_policy check_origins(o.allow_origins);
    proxy_trust check_proxies(o.trust_proxies);
  } catch (const std::invalid_argument& e) {
    return fail(e.what());
  }
  for (const auto& url : redis) {
    auto a = parse_redis_address(url);
    if (auto* why = std::get_if<std::string>(&a)) return fail(fmt::format("--redis: {}", *why));
    o.redis.push_back(std::get<redis_address>(std::move(a)));
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
