// What /metrics shows, in the Prometheus text format: process-wide counters
// and gauges, per-plugin reload and refusal counts, the time events spend in
// plugins, and traffic the workers count themselves.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

// One process-wide number, updated with the std::atomic calls (relaxed).
// For things that happen per connection or per error, not per message: the
// workers count those in `traffic`, without a locked instruction.
struct metric : std::atomic<std::int64_t> {
  enum kind { counter, gauge };
  // `name` without the microsockets_ prefix; a counter's ends in _total.
  // `labels` (e.g. reason="timeout") tells apart the series of one family,
  // registered one after the other with the same name and help.
  metric(std::vector<const metric*>& all, kind type, std::string_view name, std::string_view help,
         std::string_view labels = {});
  const kind type;
  const std::string_view name, help, labels;
};

// A counter with one writing thread and any readers: a relaxed load and
// store, which is a plain add on the hot path.
class local_counter {
 public:
  void add(std::uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Messages and bytes through one worker, written by its thread only.
struct traffic {
  local_counter messages_in, bytes_in;    // messages received, their text's bytes
  local_counter messages_out, bytes_out;  // frames queued to clients, their bytes
};

// The workers' numbers summed for one scrape.
struct worker_totals {
  std::uint64_t messages_in = 0, bytes_in = 0, messages_out = 0, bytes_out = 0;
  std::size_t rooms = 0;  // distinct room names on this host
  void add(const traffic& t);
};

// Time spent by events in plugins (middleware and handler), in fixed
// buckets; any thread observes with one relaxed atomic add per field.
class duration_histogram {
 public:
  // Upper bounds in seconds: 10 µs (an echo) to 5 s (a handler that blocks).
  static constexpr std::array<double, 12> bounds{1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1, 5};

  void observe(std::chrono::nanoseconds d);
  // Appends the _bucket, _sum and _count samples of family `name` with `labels`.
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};  // not cumulative; last is +Inf
  std::atomic<std::uint64_t> sum_ns_{0};
};

class stats {
 public:
  std::vector<const metric*> all;  // every metric below, in order; first, as they register in it
  metric connections_accepted{all, metric::counter, "connections_accepted_total", "WebSocket connections accepted."};
  metric connections_open{all, metric::gauge, "connections_open", "WebSocket connections open now."};
  metric connections_rejected{all, metric::counter, "connections_rejected_total", "Upgrades refused by an on_connect hook."};
  metric messages_malformed{all, metric::counter, "messages_malformed_total", "Messages not dispatched: not a JSON object with a string event."};
  metric plugin_errors{all, metric::counter, "plugin_errors_total", "Plugin callbacks that failed or threw."};
  metric slow_consumers_closed{all, metric::counter, "slow_consumers_closed_total", "Clients closed with 1013 for falling --max-output bytes behind."};
  metric reloads{all, metric::counter, "reloads_total", "New generations of plugins swapped in (--watch or SIGHUP)."};
  // Limits for a host exposed to the internet: what was refused, cut or backed off from.
  metric tcp_connections_open{all, metric::gauge, "tcp_connections_open", "TCP connections open now, upgraded or not: what --max-connections bounds."};
  metric connections_refused{all, metric::counter, "connections_refused_total", "Connections closed at once for --max-connections."};
  metric accept_failures{all, metric::counter, "accept_failures_total", "Failed accepts, e.g. out of file descriptors."};
  metric connections_cut{all, metric::counter, "connections_cut_total", "Connections still closing after --close-timeout, cut."};
  metric origins_refused{all, metric::counter, "origins_refused_total", "Upgrades refused with 403 for their Origin (--allow-origin)."};
  metric rooms_refused{all, metric::counter, "rooms_refused_total", "Joins refused by --max-rooms-per-connection or --max-room-name."};
  metric broadcasts_refused{all, metric::counter, "broadcasts_refused_total", "Broadcasts refused for listing more than --max-broadcast-rooms rooms."};
  metric rate_limited{all, metric::counter, "rate_limited_total", "Connections closed with 1008 for going over --max-rate."};
  metric http_errors{all, metric::counter, "http_errors_total", "Requests answered 400, 413, 414, 431 or 501."};
  metric connections_refused_per_address{all, metric::counter, "connections_refused_per_address_total", "Connections closed at once for --max-connections-per-address."};
  metric tls_handshakes_timed_out{all, metric::counter, "tls_handshakes_failed_total", "TLS handshakes cut by --tls-handshake-timeout, or failed.", "reason=\"timeout\""};
  metric tls_handshakes_failed{all, metric::counter, "tls_handshakes_failed_total", "TLS handshakes cut by --tls-handshake-timeout, or failed.", "reason=\"error\""};
  // The watchdog's findings (plugin code that does not return).
  metric slow_handlers{all, metric::counter, "slow_handlers_total", "Plugin calls that ran longer than --slow-handler."};
  metric workers_stuck{all, metric::gauge, "workers_stuck", "Workers in a plugin call longer than --slow-handler now."};

  // Per plugin name (the file name when the library could not say its name).
  // A plugin's series start at its first load, a reload counts one.
  void plugin_loaded(std::string_view plugin, bool reloaded);
  void plugin_refused(std::string_view plugin);

  // The histogram of one registered event, created on first use and kept for
  // the life of the process, so a plugin table may hold on to it.
  duration_histogram& event_timing(std::string_view event);
  // Events without a handler of their own (fallback or none) share one
  // series, so clients cannot create series by inventing event names.
  duration_histogram& other_event_timing() { return other_events_; }
  static constexpr std::string_view other_events = "(other)";

  // The whole page, with the workers' totals.
  std::string render(const worker_totals& workers) const;

 private:
  struct per_plugin {
    std::uint64_t reloads = 0, refusals = 0;
  };
  mutable std::mutex mutex_;  // guards the maps, touched at load, reload and scrape only
  std::map<std::string, per_plugin, std::less<>> plugins_;
  std::map<std::string, std::unique_ptr<duration_histogram>, std::less<>> events_;
  duration_histogram other_events_;
};

extern stats counters;

}  // namespace microsockets
